/**
 * Point-in-time exports: ExportTableToPointInTime (full, at any time inside the PITR window; incremental, over a
 * window), DescribeExport and ListExports. An export stays IN_PROGRESS for `exportDurationMs` (virtual or real time),
 * then its files are written to the emulator's S3 in AWS's layout and it is COMPLETED — or FAILED when its bucket
 * does not exist. In fuzzy mode (`exportFuzzMs` > 0) a full export also holds some writes from after its ExportTime,
 * as AWS only promises the export time to within about a minute.
 */
import { Clock, Effect } from "effect"
import * as ExportLayout from "../../core/ExportLayout.ts"
import * as ItemKey from "../../core/ItemKey.ts"
import * as AwsError from "../AwsError.ts"
import type { Operation, Operations } from "../Emulator.ts"
import type { EmulatorConfig } from "../EmulatorConfig.ts"
import { damage, Faults } from "../Faults.ts"
import type { HistoryEntry, WireItem } from "../dynamodb/TableHistory.ts"
import type { TableMeta, Tables } from "../dynamodb/Tables.ts"
import { render } from "./ExportFiles.ts"

/** What exports need of the S3 side. */
export interface ExportBuckets {
  hasBucket(name: string): Effect.Effect<boolean>
  putObject(bucket: string, key: string, bytes: Uint8Array, contentType?: string): Effect.Effect<unknown, unknown>
}

type Status = "IN_PROGRESS" | "COMPLETED" | "FAILED"

export interface ExportJob {
  readonly arn: string
  readonly id: string
  readonly table: TableMeta
  readonly bucket: string
  readonly prefix?: string
  readonly clientToken?: string
  readonly parameters: string
  readonly type: "FULL_EXPORT" | "INCREMENTAL_EXPORT"
  readonly exportTimeMs: number
  readonly fromMs?: number
  readonly toMs?: number
  readonly viewType?: "NEW_AND_OLD_IMAGES" | "NEW_IMAGE"
  readonly startMs: number
  status: Status
  endMs?: number
  itemCount?: number
  billedSizeBytes?: number
  failure?: { readonly code: string; readonly message: string }
}

const PARTITIONS = 4
const MIN_WINDOW_MS = 15 * 60 * 1000
const MAX_WINDOW_MS = 24 * 60 * 60 * 1000

const error = (code: string, message: string) => new AwsError.AwsError({ code, message, status: 400 })

const hex = (bytes: Uint8Array) => [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("")

const random = (size: number) => crypto.getRandomValues(new Uint8Array(size))

const seconds = (ms: number) => ms / 1000

const timeInput = (value: unknown, field: string): Effect.Effect<number | undefined, AwsError.AwsError> =>
  value === undefined
    ? Effect.succeed(undefined)
    : typeof value === "number" && Number.isFinite(value)
    ? Effect.succeed(Math.round(value * 1000))
    : Effect.fail(AwsError.validation(`${field} must be a timestamp (epoch seconds)`))

export class Exports {
  private readonly jobs: Array<ExportJob> = []
  // The tick and every export request settle, concurrently on a server: an export written twice would let a reader
  // that saw COMPLETED read one rendering's manifest-files.json beside another's manifest-files.md5.
  private readonly settling = Effect.unsafeMakeSemaphore(1)

  constructor(
    private readonly config: EmulatorConfig,
    private readonly tables: Tables,
    private readonly buckets: ExportBuckets,
    private readonly faults = new Faults()
  ) {}

  /** Completes the exports whose time has come (called before every export operation and by the clock's tick). */
  settle(): Effect.Effect<void> {
    return this.settling.withPermits(1)(Effect.gen(this, function* () {
      const now = yield* Clock.currentTimeMillis
      for (const job of this.jobs) {
        if (job.status === "IN_PROGRESS" && now >= job.startMs + this.config.exportDurationMs) {
          yield* Effect.uninterruptible(this.complete(job, now))
        }
      }
    }))
  }

  private complete(job: ExportJob, now: number): Effect.Effect<void> {
    return Effect.gen(this, function* () {
      job.endMs = now
      const noSuchBucket = () => {
        job.status = "FAILED"
        job.failure = { code: "S3NoSuchBucket", message: `The specified bucket does not exist (Bucket: ${job.bucket})` }
      }
      if (!(yield* this.buckets.hasBucket(job.bucket))) return noSuchBucket()
      const lines = job.type === "FULL_EXPORT" ? this.fullLines(job) : this.incrementalLines(job)
      const partitions: Array<Array<string>> = Array.from({ length: PARTITIONS }, () => [])
      for (const [key, line] of lines) partitions[ItemKey.hash(key) % PARTITIONS]!.push(line)
      const iso = (ms: number) => new Date(ms).toISOString()
      const fields = {
        exportArn: job.arn,
        startTime: iso(job.startMs),
        endTime: iso(now),
        tableArn: job.table.arn,
        tableId: job.table.arn,
        s3Bucket: job.bucket,
        s3Prefix: job.prefix ?? null
      }
      const files = yield* render({
        type: job.type,
        prefix: job.prefix,
        exportId: job.id,
        partitions,
        random,
        summary: (more) =>
          job.type === "FULL_EXPORT"
            ? ExportLayout.fullSummary({ ...fields, ...more, exportTime: iso(job.exportTimeMs) })
            : ExportLayout.incrementalSummary({
              ...fields,
              ...more,
              exportFromTime: iso(job.fromMs!),
              exportToTime: iso(job.toMs!),
              outputView: job.viewType!
            })
      })
      const fault = this.faults.matchExport(job.arn)
      const damaged = fault === undefined
        ? undefined
        : files.find((file) =>
          file.contentType === "application/x-gzip" && file.bytes.length > ExportLayout.EMPTY_GZIP.length
        )
      for (const file of files) {
        const bytes = file === damaged ? damage(fault!.kind, file.bytes) : file.bytes
        const written = yield* Effect.either(this.buckets.putObject(job.bucket, file.key, bytes, file.contentType))
        if (written._tag === "Left") return noSuchBucket()
      }
      job.itemCount = lines.length
      job.billedSizeBytes = lines.reduce((sum, [, line]) => sum + line.length, 0)
      job.status = "COMPLETED"
    })
  }

  private fullLines(job: ExportJob): Array<[string, string]> {
    const cutoff = new Map<string, number>()
    const fuzz = this.config.exportFuzzMs
    const items = new Map<string, WireItem | undefined>()
    for (const entry of this.tables.history.changesBetween(job.table.name, -Infinity, job.exportTimeMs + fuzz)) {
      if (entry.timeMs > job.exportTimeMs) {
        let limit = cutoff.get(entry.key)
        if (limit === undefined) cutoff.set(entry.key, limit = job.exportTimeMs + Math.random() * fuzz)
        if (entry.timeMs > limit) continue
      }
      items.set(entry.key, entry.newImage)
    }
    return [...items].filter(([, item]) => item !== undefined).map(([key, item]) => [
      key,
      `${JSON.stringify({ Item: item })}\n`
    ])
  }

  private incrementalLines(job: ExportJob): Array<[string, string]> {
    const changes = new Map<string, { first: HistoryEntry; last: HistoryEntry }>()
    for (const entry of this.tables.history.changesBetween(job.table.name, job.fromMs!, job.toMs!)) {
      const seen = changes.get(entry.key)
      changes.set(entry.key, { first: seen?.first ?? entry, last: entry })
    }
    const out: Array<[string, string]> = []
    for (const [key, { first, last }] of changes) {
      const oldImage = job.viewType === "NEW_AND_OLD_IMAGES" ? first.oldImage : undefined
      if (first.oldImage === undefined && last.newImage === undefined) continue
      const line = {
        Metadata: { WriteTimestampMicros: { N: String(last.timeMs * 1000) } },
        Keys: last.keys,
        ...(oldImage === undefined ? {} : { OldImage: oldImage }),
        ...(last.newImage === undefined ? {} : { NewImage: last.newImage })
      }
      out.push([key, `${JSON.stringify(line)}\n`])
    }
    return out
  }

  private describe(job: ExportJob) {
    return {
      ExportArn: job.arn,
      ExportStatus: job.status,
      StartTime: seconds(job.startMs),
      ...(job.endMs === undefined ? {} : { EndTime: seconds(job.endMs) }),
      ...(job.status === "COMPLETED" ? { ExportManifest: ExportLayout.manifestKeys(job.prefix, job.id).summary } : {}),
      TableArn: job.table.arn,
      TableId: job.table.arn,
      ...(job.type === "FULL_EXPORT" ? { ExportTime: seconds(job.exportTimeMs) } : {}),
      ...(job.clientToken === undefined ? {} : { ClientToken: job.clientToken }),
      S3Bucket: job.bucket,
      ...(job.prefix === undefined ? {} : { S3Prefix: job.prefix }),
      S3SseAlgorithm: "AES256",
      ...(job.failure === undefined ? {} : { FailureCode: job.failure.code, FailureMessage: job.failure.message }),
      ExportFormat: "DYNAMODB_JSON",
      ...(job.billedSizeBytes === undefined ? {} : { BilledSizeBytes: job.billedSizeBytes }),
      ...(job.itemCount === undefined ? {} : { ItemCount: job.itemCount }),
      ExportType: job.type,
      ...(job.type === "INCREMENTAL_EXPORT"
        ? {
          IncrementalExportSpecification: {
            ExportFromTime: seconds(job.fromMs!),
            ExportToTime: seconds(job.toMs!),
            ExportViewType: job.viewType
          }
        }
        : {})
    }
  }

  private readonly exportTable: Operation = (input) =>
    Effect.gen(this, function* () {
      yield* this.settle()
      const now = yield* Clock.currentTimeMillis
      const tableArn = input.TableArn, bucket = input.S3Bucket
      if (typeof tableArn !== "string" || tableArn === "") return yield* AwsError.validation("TableArn is required")
      if (typeof bucket !== "string" || bucket === "") return yield* AwsError.validation("S3Bucket is required")
      if (input.ExportFormat !== undefined && input.ExportFormat !== "DYNAMODB_JSON" && input.ExportFormat !== "ION") {
        return yield* AwsError.validation("ExportFormat must be DYNAMODB_JSON or ION")
      }
      if (input.ExportFormat === "ION") {
        return yield* AwsError.validation("the emulator writes DYNAMODB_JSON exports only")
      }
      const name = tableArn.slice(tableArn.lastIndexOf("/") + 1)
      const table = yield* Effect.mapError(this.tables.table(name), () =>
        error("TableNotFoundException", `Table not found: ${tableArn}`))
      if (table.arn !== tableArn) {
        return yield* error("TableNotFoundException", `Table not found: ${tableArn}`)
      }
      const parameters = JSON.stringify({ ...input, ClientToken: undefined })
      const token = typeof input.ClientToken === "string" ? input.ClientToken : undefined
      const previous = token === undefined ? undefined : this.jobs.find((job) =>
        job.clientToken === token
      )
      if (previous !== undefined) {
        // AWS's docs name IdempotentParameterMismatch or ImportConflictException here, neither modelled for this
        // operation; the SDK models ExportConflictException, so clients can catch it.
        if (previous.parameters !== parameters) {
          return yield* error("ExportConflictException", `ClientToken ${token} was used with other parameters`)
        }
        return { ExportDescription: this.describe(previous) }
      }
      if (table.pitr === undefined) {
        return yield* error(
          "PointInTimeRecoveryUnavailableException",
          `Point in time recovery is not enabled for table '${table.name}'`
        )
      }
      const type = input.ExportType === "INCREMENTAL_EXPORT" ? "INCREMENTAL_EXPORT" : "FULL_EXPORT"
      if (input.ExportType !== undefined && input.ExportType !== "FULL_EXPORT" && type === "FULL_EXPORT") {
        return yield* AwsError.validation("ExportType must be FULL_EXPORT or INCREMENTAL_EXPORT")
      }
      const earliest = table.pitr.enabledAtMs
      const invalidTime = (message: string) => error("InvalidExportTimeException", message)
      let job: Omit<ExportJob, "arn" | "id">
      const base = {
        table,
        bucket,
        ...(typeof input.S3Prefix === "string" && input.S3Prefix !== "" ? { prefix: input.S3Prefix } : {}),
        ...(token === undefined ? {} : { clientToken: token }),
        parameters,
        startMs: now,
        status: "IN_PROGRESS" as const
      }
      if (type === "FULL_EXPORT") {
        const exportTimeMs = (yield* timeInput(input.ExportTime, "ExportTime")) ?? now
        if (exportTimeMs < earliest || exportTimeMs > now) {
          return yield* invalidTime("ExportTime must be within the table's point in time recovery window")
        }
        job = { ...base, type, exportTimeMs }
      } else {
        const spec = (input.IncrementalExportSpecification ?? {}) as Record<string, unknown>
        const fromMs = yield* timeInput(spec.ExportFromTime, "ExportFromTime")
        const toMs = (yield* timeInput(spec.ExportToTime, "ExportToTime")) ?? now
        const viewType = spec.ExportViewType ?? "NEW_AND_OLD_IMAGES"
        if (fromMs === undefined) {
          return yield* AwsError.validation("ExportFromTime is required for an incremental export")
        }
        if (viewType !== "NEW_AND_OLD_IMAGES" && viewType !== "NEW_IMAGE") {
          return yield* AwsError.validation("ExportViewType must be NEW_AND_OLD_IMAGES or NEW_IMAGE")
        }
        if (fromMs < earliest || toMs > now || fromMs >= toMs) {
          return yield* invalidTime(
            "The export window must be within the point in time recovery window, from before to"
          )
        }
        if (toMs - fromMs < MIN_WINDOW_MS || toMs - fromMs > MAX_WINDOW_MS) {
          return yield* invalidTime("An incremental export's window must be between 15 minutes and 24 hours long")
        }
        job = { ...base, type, exportTimeMs: toMs, fromMs, toMs, viewType }
      }
      const id = ExportLayout.exportId(type === "FULL_EXPORT" ? job.exportTimeMs : now, hex(random(4)))
      const created: ExportJob = { ...job, id, arn: `${table.arn}/export/${id}` }
      this.jobs.push(created)
      yield* this.settle()
      return { ExportDescription: this.describe(created) }
    })

  private readonly describeExport: Operation = (input) =>
    Effect.gen(this, function* () {
      yield* this.settle()
      const job = this.jobs.find((job) => job.arn === input.ExportArn)
      if (job === undefined) {
        return yield* error("ExportNotFoundException", `Export not found: ${String(input.ExportArn)}`)
      }
      return { ExportDescription: this.describe(job) }
    })

  private readonly listExports: Operation = (input) =>
    Effect.gen(this, function* () {
      yield* this.settle()
      const max = input.MaxResults ?? 25
      if (typeof max !== "number" || !Number.isInteger(max) || max < 1 || max > 25) {
        return yield* AwsError.validation("MaxResults must be between 1 and 25")
      }
      const jobs = this.jobs.filter((job) => input.TableArn === undefined || job.table.arn === input.TableArn)
      const start = typeof input.NextToken === "string" ? Number(input.NextToken) : 0
      if (!Number.isInteger(start) || start < 0) return yield* AwsError.validation("NextToken is not valid")
      const page = jobs.slice(start, start + max)
      return {
        ExportSummaries: page.map((job) => ({ ExportArn: job.arn, ExportStatus: job.status, ExportType: job.type })),
        ...(start + max < jobs.length ? { NextToken: String(start + max) } : {})
      }
    })

  get operations(): Operations {
    return {
      ExportTableToPointInTime: this.exportTable,
      DescribeExport: this.describeExport,
      ListExports: this.listExports
    }
  }

  reset(): void {
    this.jobs.length = 0
  }

  /** Every export, oldest first, for persistence: shared, not copied. */
  snapshot(): ReadonlyArray<ExportJob> {
    return this.jobs
  }

  /** Replaces every export with saved ones; those IN_PROGRESS complete when their time comes. */
  restore(jobs: ReadonlyArray<ExportJob>): void {
    this.jobs.length = 0
    this.jobs.push(...jobs)
  }
}
