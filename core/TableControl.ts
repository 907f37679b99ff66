/**
 * The `TableControl` port: the DynamoDB control plane that the backfill needs — DescribeTable,
 * DescribeContinuousBackups, ExportTableToPointInTime, DescribeExport and ListExports. Nothing here reads or writes
 * the table's items. Adapters: the AWS SDK (`adapters/aws`), which also reaches the emulator.
 *
 * @module
 */
import { Context, type Effect } from "effect"
import type { TableControlError } from "./Errors.ts"
import type { KeySchema } from "./ItemKey.ts"
import type { ViewType } from "./StreamSource.ts"

/** What DescribeTable says about a table. */
export interface TableDescription {
  readonly tableName: string
  readonly tableArn: string
  readonly status: string
  /** With the key attributes' types, from the AttributeDefinitions. */
  readonly keySchema: KeySchema
  /** The stream's view type, when a stream is enabled. */
  readonly streamViewType?: ViewType
  readonly latestStreamArn?: string
  readonly latestStreamLabel?: string
  /** DynamoDB's estimate, refreshed about every six hours. */
  readonly itemCount?: number
}

/** Point-in-time recovery: its window, when it is enabled. */
export interface ContinuousBackups {
  readonly pitrEnabled: boolean
  readonly earliestRestorableMs?: number
  readonly latestRestorableMs?: number
}

/** An export's state. */
export type ExportStatus = "IN_PROGRESS" | "COMPLETED" | "FAILED"

/** What DescribeExport says about an export. */
export interface ExportDescription {
  readonly exportArn: string
  readonly status: ExportStatus
  readonly exportType: "FULL_EXPORT" | "INCREMENTAL_EXPORT"
  readonly tableArn: string
  readonly s3Bucket: string
  readonly s3Prefix?: string
  /** A full export's time, in ms since the epoch. */
  readonly exportTimeMs?: number
  readonly incrementalFromMs?: number
  readonly incrementalToMs?: number
  readonly startTimeMs?: number
  readonly endTimeMs?: number
  /** The key of `manifest-summary.json` in the bucket, once the export has completed. */
  readonly exportManifest?: string
  readonly itemCount?: number
  readonly billedSizeBytes?: number
  readonly clientToken?: string
  readonly failureCode?: string
  readonly failureMessage?: string
}

/** A new export's parameters. */
export interface ExportRequest {
  readonly tableArn: string
  readonly s3Bucket: string
  readonly s3Prefix?: string
  /** A full export at this time (default: now); ignored for an incremental export. */
  readonly exportTimeMs?: number
  readonly incremental?: {
    readonly fromMs: number
    readonly toMs: number
    readonly viewType: "NEW_IMAGE" | "NEW_AND_OLD_IMAGES"
  }
  /** Makes the request idempotent: the same token and parameters give the same export. */
  readonly clientToken?: string
}

/** One entry of ListExports. */
export interface ExportSummary {
  readonly exportArn: string
  readonly status: ExportStatus
  readonly exportType?: "FULL_EXPORT" | "INCREMENTAL_EXPORT"
}

/** The DynamoDB control plane. */
export class TableControl extends Context.Tag("backstream/TableControl")<TableControl, {
  /** A table by name or ARN. */
  readonly describeTable: (table: string) => Effect.Effect<TableDescription, TableControlError>
  readonly describeContinuousBackups: (table: string) => Effect.Effect<ContinuousBackups, TableControlError>
  readonly exportTableToPointInTime: (request: ExportRequest) => Effect.Effect<ExportDescription, TableControlError>
  readonly describeExport: (exportArn: string) => Effect.Effect<ExportDescription, TableControlError>
  /** A page of a table's exports, most recent first as AWS lists them. */
  readonly listExports: (request: {
    readonly tableArn?: string
    readonly maxResults?: number
    readonly nextToken?: string
  }) => Effect.Effect<
    { readonly exports: ReadonlyArray<ExportSummary>; readonly nextToken?: string },
    TableControlError
  >
}>() {}
