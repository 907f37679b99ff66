/**
 * The `TableControl` port over `@aws-sdk/client-dynamodb`: the control plane of DynamoDB on AWS, or of any endpoint
 * that speaks it (the emulator). Exports are always requested as `DYNAMODB_JSON`, the format the core reads.
 * Interrupting a call aborts its HTTP request.
 */
import {
  DescribeContinuousBackupsCommand,
  DescribeExportCommand,
  DescribeTableCommand,
  type ExportDescription as SdkExportDescription,
  ExportTableToPointInTimeCommand,
  ListExportsCommand
} from "@aws-sdk/client-dynamodb"
import { Effect, Layer } from "effect"
import { Unavailable } from "../../core/Errors.ts"
import type { ViewType } from "../../core/StreamSource.ts"
import {
  type ExportDescription,
  type ExportStatus,
  type ExportSummary,
  TableControl,
  type TableDescription
} from "../../core/TableControl.ts"
import { DynamoDB } from "./AwsClients.ts"
import { type Call, toServiceError } from "./internal/errors.ts"
import * as FromSdk from "./internal/fromSdk.ts"

const STATUSES: ReadonlySet<string> = new Set(["IN_PROGRESS", "COMPLETED", "FAILED"])
const VIEW_TYPES: ReadonlySet<string> = new Set(["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"])

const malformed = (action: string, reason: string) => new Unavailable({ action, reason: `malformed answer: ${reason}` })

const exportType = (type: string | undefined) => type === "INCREMENTAL_EXPORT" ? type : "FULL_EXPORT" as const

const exportDescription = (
  d: SdkExportDescription | undefined,
  action: string
): Effect.Effect<ExportDescription, Unavailable> => {
  if (d?.ExportArn === undefined || d.TableArn === undefined || d.S3Bucket === undefined) {
    return Effect.fail(malformed(action, "the export's ARN, table ARN or bucket is missing"))
  }
  if (d.ExportStatus === undefined || !STATUSES.has(d.ExportStatus)) {
    return Effect.fail(malformed(action, `unknown ExportStatus ${d.ExportStatus}`))
  }
  const ms = (date: Date | undefined) => date?.getTime()
  const optional = <K extends string, A>(key: K, value: A | undefined) =>
    (value === undefined ? {} : { [key]: value }) as { [P in K]?: A }
  const incremental = d.IncrementalExportSpecification
  return Effect.succeed({
    exportArn: d.ExportArn,
    status: d.ExportStatus as ExportStatus,
    exportType: exportType(d.ExportType),
    tableArn: d.TableArn,
    s3Bucket: d.S3Bucket,
    ...optional("s3Prefix", d.S3Prefix),
    ...optional("exportTimeMs", ms(d.ExportTime)),
    ...optional("incrementalFromMs", ms(incremental?.ExportFromTime)),
    ...optional("incrementalToMs", ms(incremental?.ExportToTime)),
    ...optional("startTimeMs", ms(d.StartTime)),
    ...optional("endTimeMs", ms(d.EndTime)),
    ...optional("exportManifest", d.ExportManifest),
    ...optional("itemCount", d.ItemCount),
    ...optional("billedSizeBytes", d.BilledSizeBytes),
    ...optional("clientToken", d.ClientToken),
    ...optional("failureCode", d.FailureCode),
    ...optional("failureMessage", d.FailureMessage)
  })
}

export const make: Effect.Effect<TableControl["Type"], never, DynamoDB> = Effect.map(DynamoDB, (client) => {
  const send = <A>(call: Call, run: (signal: AbortSignal) => Promise<A>) =>
    Effect.tryPromise({ try: run, catch: (error) => toServiceError(call, error) })

  return TableControl.of({
    describeTable: (table) => {
      const call: Call = { action: "dynamodb:DescribeTable", resource: "table", name: table }
      return send(call, (abortSignal) => client.send(new DescribeTableCommand({ TableName: table }), { abortSignal }))
        .pipe(Effect.flatMap(({ Table: t }) => {
          const types = new Map(
            (t?.AttributeDefinitions ?? []).map((d) => [d.AttributeName ?? "", d.AttributeType ?? ""] as const)
          )
          const keySchema = FromSdk.keySchema(t?.KeySchema, types)
          if (t?.TableName === undefined || t.TableArn === undefined || keySchema === undefined) {
            return Effect.fail(malformed(call.action, "the table's name, ARN or key schema is missing"))
          }
          const stream = t.StreamSpecification
          const viewType = stream?.StreamEnabled === true && stream.StreamViewType !== undefined
              && VIEW_TYPES.has(stream.StreamViewType)
            ? stream.StreamViewType as ViewType
            : undefined
          const description: TableDescription = {
            tableName: t.TableName,
            tableArn: t.TableArn,
            status: t.TableStatus ?? "ACTIVE",
            keySchema,
            ...(viewType === undefined ? {} : { streamViewType: viewType }),
            ...(t.LatestStreamArn === undefined ? {} : { latestStreamArn: t.LatestStreamArn }),
            ...(t.LatestStreamLabel === undefined ? {} : { latestStreamLabel: t.LatestStreamLabel }),
            ...(t.ItemCount === undefined ? {} : { itemCount: t.ItemCount })
          }
          return Effect.succeed(description)
        }))
    },

    describeContinuousBackups: (table) => {
      const call: Call = { action: "dynamodb:DescribeContinuousBackups", resource: "table", name: table }
      return send(
        call,
        (abortSignal) => client.send(new DescribeContinuousBackupsCommand({ TableName: table }), { abortSignal })
      ).pipe(Effect.map(({ ContinuousBackupsDescription: d }) => {
        const pitr = d?.PointInTimeRecoveryDescription
        const earliest = pitr?.EarliestRestorableDateTime?.getTime()
        const latest = pitr?.LatestRestorableDateTime?.getTime()
        return {
          pitrEnabled: pitr?.PointInTimeRecoveryStatus === "ENABLED",
          ...(earliest === undefined ? {} : { earliestRestorableMs: earliest }),
          ...(latest === undefined ? {} : { latestRestorableMs: latest })
        }
      }))
    },

    exportTableToPointInTime: (request) => {
      const call: Call = { action: "dynamodb:ExportTableToPointInTime", resource: "table", name: request.tableArn }
      const incremental = request.incremental
      return send(call, (abortSignal) =>
        client.send(
          new ExportTableToPointInTimeCommand({
            TableArn: request.tableArn,
            S3Bucket: request.s3Bucket,
            S3Prefix: request.s3Prefix,
            ExportFormat: "DYNAMODB_JSON",
            ClientToken: request.clientToken,
            ...(incremental === undefined
              ? {
                ExportType: "FULL_EXPORT",
                ...(request.exportTimeMs === undefined ? {} : { ExportTime: new Date(request.exportTimeMs) })
              }
              : {
                ExportType: "INCREMENTAL_EXPORT",
                IncrementalExportSpecification: {
                  ExportFromTime: new Date(incremental.fromMs),
                  ExportToTime: new Date(incremental.toMs),
                  ExportViewType: incremental.viewType
                }
              })
          }),
          { abortSignal }
        )).pipe(Effect.flatMap((output) => exportDescription(output.ExportDescription, call.action)))
    },

    describeExport: (exportArn) => {
      const call: Call = { action: "dynamodb:DescribeExport", resource: "export", name: exportArn }
      return send(
        call,
        (abortSignal) => client.send(new DescribeExportCommand({ ExportArn: exportArn }), { abortSignal })
      ).pipe(Effect.flatMap((output) => exportDescription(output.ExportDescription, call.action)))
    },

    listExports: (request) => {
      const call: Call = { action: "dynamodb:ListExports", resource: "table", name: request.tableArn ?? "*" }
      return send(call, (abortSignal) =>
        client.send(
          new ListExportsCommand({
            TableArn: request.tableArn,
            MaxResults: request.maxResults,
            NextToken: request.nextToken
          }),
          { abortSignal }
        )).pipe(Effect.flatMap((output) => {
          const exports: Array<ExportSummary> = []
          for (const summary of output.ExportSummaries ?? []) {
            if (summary.ExportArn === undefined || !STATUSES.has(summary.ExportStatus ?? "")) {
              return Effect.fail(malformed(call.action, "an export summary without its ARN or status"))
            }
            exports.push({
              exportArn: summary.ExportArn,
              status: summary.ExportStatus as ExportStatus,
              ...(summary.ExportType === undefined ? {} : { exportType: exportType(summary.ExportType) })
            })
          }
          return Effect.succeed({
            exports,
            ...(output.NextToken === undefined ? {} : { nextToken: output.NextToken })
          })
        }))
    }
  })
})

export const layer: Layer.Layer<TableControl, never, DynamoDB> = Layer.effect(TableControl, make)
