/**
 * The preflight check of a source: before replicating a table, call each AWS action that replication uses once,
 * through the ports, and say for every requirement whether it holds and, when it does not, what to do. Nothing is
 * written and no export is started: the actions that would (`ExportTableToPointInTime`, `s3:PutObject`) are listed
 * as not checked.
 *
 * @example
 * const results = yield* Preflight.run({ table: "orders", exportBucket: "my-exports" })
 * if (!Preflight.passed(results)) ...
 *
 * @module
 */
import { Data, Duration, Effect, Either } from "effect"
import type {
  AccessDenied,
  ExpiredIterator,
  InvalidAttributeValue,
  InvalidRequest,
  NotFound,
  ObjectNotFound,
  ObjectStoreFailure,
  Throttled,
  TrimmedData,
  Unavailable
} from "./Errors.ts"
import { ObjectStore } from "./ObjectStore.ts"
import { type StreamDescription, StreamSource } from "./StreamSource.ts"
import { TableControl, type TableDescription } from "./TableControl.ts"

/** What to check. */
export interface Options {
  /** The table's name or ARN. */
  readonly table: string
  /** The stream to check; default: the table's latest stream. */
  readonly streamArn?: string
  /** As the engine's option: with `never`, the export's requirements are not checked. Default `auto`. */
  readonly backfill?: "auto" | "always" | "never"
  /** The bucket exports go to; the `ObjectStore` in context is that bucket. */
  readonly exportBucket?: string
  readonly exportPrefix?: string
  /** How long each call may take (default 20 seconds). */
  readonly timeout?: Duration.DurationInput
}

/** `skip`: not checked (why is in `detail`). */
export type Status = "pass" | "fail" | "skip"

/** One requirement and what was found. */
export interface Result {
  /** What must hold, in a few words (`point-in-time recovery`). */
  readonly requirement: string
  /** The IAM action whose call showed it, when there was one (`dynamodb:DescribeContinuousBackups`). */
  readonly action?: string
  readonly status: Status
  /** What was found. */
  readonly detail: string
  /** What to do, when it failed. */
  readonly fix?: string
}

/** True when no requirement failed. */
export const passed = (results: ReadonlyArray<Result>): boolean => results.every((result) => result.status !== "fail")

type CallError =
  | AccessDenied
  | NotFound
  | Throttled
  | InvalidRequest
  | Unavailable
  | ExpiredIterator
  | TrimmedData
  | InvalidAttributeValue
  | ObjectNotFound
  | ObjectStoreFailure
  | TimedOut

class TimedOut extends Data.TaggedError("TimedOut")<{ readonly action: string; readonly seconds: number }> {
  override get message() {
    return `${this.action} got no answer within ${this.seconds} s`
  }
}

const tableNameOf = (table: string): string =>
  /^arn:[^:]+:dynamodb:[^:]*:[^:]*:table\/([^/]+)/.exec(table)?.[1] ?? table

const isArn = (table: string) => table.startsWith("arn:")

const GOOD_VIEWS: ReadonlySet<string> = new Set(["NEW_IMAGE", "NEW_AND_OLD_IMAGES"])

const enableStream = (table: string) =>
  `aws dynamodb update-table --table-name ${table} --stream-specification `
  + "StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES"

/** What a failed call means and what to do, by the error's kind. */
const failure = (requirement: string, action: string, error: CallError, names: { bucket?: string }): Result => {
  const base = { requirement, action, status: "fail" as const }
  switch (error._tag) {
    case "AccessDenied":
      return {
        ...base,
        detail: `AccessDenied on ${action}`,
        fix: `add ${action} to the IAM policy of the credentials in use (the README lists the least-privilege policy)`
      }
    case "NotFound":
      return {
        ...base,
        detail: `${error.resource} ${error.name} not found`,
        fix: error.resource === "table"
          ? "check --table and the region (--region or AWS_REGION): the table must be in this account and region"
          : error.resource === "bucket"
          ? `create the bucket (aws s3 mb s3://${names.bucket ?? error.name}) or pass another with --export-bucket`
          : error.resource === "stream"
          ? "pass a stream of the table with --stream-arn, or leave it out to use the table's latest stream"
          : error.message
      }
    case "Throttled":
    case "Unavailable":
    case "TimedOut":
      return {
        ...base,
        detail: error.message,
        fix: "the service did not answer: check --endpoint, the region and the network, then check again"
      }
    case "InvalidRequest":
      return { ...base, detail: error.message, fix: "fix what the message says, then check again" }
    default:
      return { ...base, detail: error.message, fix: "check again; if it persists, report it" }
  }
}

/** Runs every check, one call at a time; never fails (a failed call is a failed requirement). */
export const run = (options: Options): Effect.Effect<
  ReadonlyArray<Result>,
  never,
  TableControl | StreamSource | ObjectStore
> =>
  Effect.gen(function* () {
    const control = yield* TableControl
    const source = yield* StreamSource
    const store = yield* ObjectStore
    const timeout = Duration.decode(options.timeout ?? "20 seconds")
    const results: Array<Result> = []
    const add = (result: Result) => Effect.sync(() => void results.push(result))
    const call = <A, E extends CallError>(action: string, effect: Effect.Effect<A, E>) =>
      effect.pipe(
        Effect.timeoutFail({
          duration: timeout,
          onTimeout: () => new TimedOut({ action, seconds: Math.round(Duration.toSeconds(timeout)) })
        }),
        Effect.either
      ) as Effect.Effect<Either.Either<A, CallError>>
    const name = tableNameOf(options.table)
    const backfill = (options.backfill ?? "auto") !== "never"
    const bucket = options.exportBucket
    const names = bucket === undefined ? {} : { bucket }

    // The table.
    const described = yield* call("dynamodb:DescribeTable", control.describeTable(options.table))
    let table: TableDescription | undefined
    if (Either.isLeft(described)) {
      yield* add(failure("table", "dynamodb:DescribeTable", described.left, names))
    } else {
      table = described.right
      const key = [table.keySchema.hash, ...(table.keySchema.range === undefined ? [] : [table.keySchema.range])]
        .map((attribute) => `${attribute.name}${attribute.type === undefined ? "" : ` (${attribute.type})`}`)
        .join(", ")
      yield* add({
        requirement: "table",
        action: "dynamodb:DescribeTable",
        status: "pass",
        detail: `${table.tableName} is ${table.status}; key ${key}`
      })
    }
    const tableName = table?.tableName ?? name

    // The stream.
    const streamArn = options.streamArn ?? table?.latestStreamArn
    if (streamArn === undefined) {
      yield* add(
        table === undefined
          ? { requirement: "stream", status: "skip", detail: "not known: DescribeTable failed (or pass --stream-arn)" }
          : {
            requirement: "stream",
            status: "fail",
            detail: `table ${tableName} has no stream`,
            fix: `enable one: ${enableStream(tableName)}`
          }
      )
    } else {
      yield* add({
        requirement: "stream",
        status: "pass",
        detail: options.streamArn === undefined ? `latest stream ${streamArn}` : `stream ${streamArn}`
      })
    }

    const listed = yield* call("dynamodb:ListStreams", source.listStreams({ tableName, limit: 100 }))
    yield* add(
      Either.isLeft(listed) ? failure("streams listed", "dynamodb:ListStreams", listed.left, names) : {
        requirement: "streams listed",
        action: "dynamodb:ListStreams",
        status: "pass",
        detail: `${listed.right.streams.length} stream(s) of ${tableName}${
          listed.right.lastEvaluatedStreamArn === undefined ? "" : " (and more)"
        }`
      }
    )

    let stream: StreamDescription | undefined
    if (streamArn === undefined) {
      for (const [requirement, action] of STREAM_READS) {
        yield* add({ requirement, action, status: "skip", detail: "no stream to read" })
      }
    } else {
      const described = yield* call("dynamodb:DescribeStream", source.describeStream({ streamArn, limit: 100 }))
      if (Either.isLeft(described)) {
        yield* add(failure("stream view type", "dynamodb:DescribeStream", described.left, names))
      } else {
        stream = described.right
        yield* add(streamResult(stream, tableName))
      }
      yield* readRecords(stream, streamArn, call, add, names)
    }

    // The backfill: point-in-time recovery, exports, the bucket.
    if (!backfill) {
      for (const [requirement, action] of EXPORT_CHECKS) {
        yield* add({
          requirement,
          ...(action === undefined ? {} : { action }),
          status: "skip",
          detail: "not needed with --backfill never"
        })
      }
      return results
    }
    const backups = yield* call("dynamodb:DescribeContinuousBackups", control.describeContinuousBackups(tableName))
    yield* add(
      Either.isLeft(backups)
        ? failure("point-in-time recovery", "dynamodb:DescribeContinuousBackups", backups.left, names)
        : backups.right.pitrEnabled
        ? {
          requirement: "point-in-time recovery",
          action: "dynamodb:DescribeContinuousBackups",
          status: "pass",
          detail: "PITR is on"
        }
        : {
          requirement: "point-in-time recovery",
          action: "dynamodb:DescribeContinuousBackups",
          status: "fail",
          detail: `PITR is off for ${tableName}: a backfill exports the table from it`,
          fix: `enable PITR: aws dynamodb update-continuous-backups --table-name ${tableName} `
            + "--point-in-time-recovery-specification PointInTimeRecoveryEnabled=true (or run with --backfill never)"
        }
    )

    const tableArn = table?.tableArn ?? (isArn(options.table) ? options.table : undefined)
    let latestExport: string | undefined
    if (tableArn === undefined) {
      yield* add({
        requirement: "exports listed",
        action: "dynamodb:ListExports",
        status: "skip",
        detail: "the table's ARN is not known: DescribeTable failed"
      })
    } else {
      const exports = yield* call("dynamodb:ListExports", control.listExports({ tableArn, maxResults: 1 }))
      if (Either.isLeft(exports)) {
        yield* add(failure("exports listed", "dynamodb:ListExports", exports.left, names))
      } else {
        latestExport = exports.right.exports[0]?.exportArn
        yield* add({
          requirement: "exports listed",
          action: "dynamodb:ListExports",
          status: "pass",
          detail: latestExport === undefined ? "no export of the table yet" : `latest export ${latestExport}`
        })
      }
    }
    if (latestExport === undefined) {
      yield* add({
        requirement: "export described",
        action: "dynamodb:DescribeExport",
        status: "skip",
        detail: "no export of the table to describe"
      })
    } else {
      const exported = yield* call("dynamodb:DescribeExport", control.describeExport(latestExport))
      yield* add(
        Either.isLeft(exported) ? failure("export described", "dynamodb:DescribeExport", exported.left, names) : {
          requirement: "export described",
          action: "dynamodb:DescribeExport",
          status: "pass",
          detail: `${exported.right.status}, to s3://${exported.right.s3Bucket}/${exported.right.s3Prefix ?? ""}`
        }
      )
    }
    yield* add({
      requirement: "export started",
      action: "dynamodb:ExportTableToPointInTime",
      status: "skip",
      detail: "not called: it would start a billed export (the first run calls it)"
    })

    if (bucket === undefined) {
      yield* add({
        requirement: "export bucket",
        status: "fail",
        detail: "no export bucket: a backfill exports the table to S3",
        fix: "pass --export-bucket (and --export-prefix), or run with --backfill never"
      })
      for (const [requirement, action] of BUCKET_CHECKS) {
        yield* add({ requirement, action, status: "skip", detail: "no export bucket" })
      }
      return results
    }
    yield* checkBucket(store, bucket, options.exportPrefix, call, add)
    return results
  })

const STREAM_READS = [
  ["stream view type", "dynamodb:DescribeStream"],
  ["shard iterator", "dynamodb:GetShardIterator"],
  ["records read", "dynamodb:GetRecords"]
] as const

const BUCKET_CHECKS = [
  ["bucket location", "s3:GetBucketLocation"],
  ["bucket listed", "s3:ListBucket"],
  ["object read", "s3:GetObject"],
  ["object written", "s3:PutObject"]
] as const

const EXPORT_CHECKS = [
  ["point-in-time recovery", "dynamodb:DescribeContinuousBackups"],
  ["exports listed", "dynamodb:ListExports"],
  ["export described", "dynamodb:DescribeExport"],
  ["export started", "dynamodb:ExportTableToPointInTime"],
  ["export bucket", undefined],
  ...BUCKET_CHECKS
] as const

const streamResult = (stream: StreamDescription, tableName: string): Result => {
  const base = { requirement: "stream view type", action: "dynamodb:DescribeStream" }
  if (stream.tableName !== tableName) {
    return {
      ...base,
      status: "fail",
      detail: `stream ${stream.streamArn} belongs to table ${stream.tableName}, not ${tableName}`,
      fix: "pass a stream of the table with --stream-arn, or leave it out to use the table's latest stream"
    }
  }
  if (!GOOD_VIEWS.has(stream.viewType)) {
    return {
      ...base,
      status: "fail",
      detail: `stream view type is ${stream.viewType}: NEW_IMAGE or NEW_AND_OLD_IMAGES is needed`,
      fix: `disable the stream (aws dynamodb update-table --table-name ${tableName} --stream-specification `
        + `StreamEnabled=false), then enable a new one: ${enableStream(tableName)}`
    }
  }
  if (stream.status === "DISABLED" || stream.status === "DISABLING") {
    return {
      ...base,
      status: "fail",
      detail: `the stream is ${stream.status}: it records no new changes`,
      fix: `enable a new stream: ${enableStream(tableName)}`
    }
  }
  return {
    ...base,
    status: "pass",
    detail: `${stream.viewType}, ${stream.status}, ${stream.shards.length}${
      stream.lastEvaluatedShardId === undefined ? "" : "+"
    } shard(s)`
  }
}

type Call = <A, E extends CallError>(action: string, effect: Effect.Effect<A, E>) => Effect.Effect<
  Either.Either<A, CallError>
>
type Add = (result: Result) => Effect.Effect<void>

/** GetShardIterator (LATEST, on an open shard: nothing old is read) and one GetRecords. */
const readRecords = (
  stream: StreamDescription | undefined,
  streamArn: string,
  call: Call,
  add: Add,
  names: { bucket?: string }
) =>
  Effect.gen(function* () {
    const source = yield* StreamSource
    const shard = stream === undefined
      ? undefined
      : [...stream.shards].reverse().find((shard) => shard.endingSequenceNumber === undefined)
        ?? stream.shards[stream.shards.length - 1]
    if (shard === undefined) {
      const detail = stream === undefined ? "DescribeStream failed" : "the stream has no shard yet"
      yield* add({ requirement: "shard iterator", action: "dynamodb:GetShardIterator", status: "skip", detail })
      yield* add({ requirement: "records read", action: "dynamodb:GetRecords", status: "skip", detail })
      return
    }
    const iterator = yield* call(
      "dynamodb:GetShardIterator",
      source.getShardIterator({ streamArn, shardId: shard.shardId, start: { type: "LATEST" } })
    )
    if (Either.isLeft(iterator)) {
      yield* add(failure("shard iterator", "dynamodb:GetShardIterator", iterator.left, names))
      yield* add({
        requirement: "records read",
        action: "dynamodb:GetRecords",
        status: "skip",
        detail: "no shard iterator"
      })
      return
    }
    yield* add({
      requirement: "shard iterator",
      action: "dynamodb:GetShardIterator",
      status: "pass",
      detail: `shard ${shard.shardId}`
    })
    const page = yield* call("dynamodb:GetRecords", source.getRecords({ iterator: iterator.right, limit: 1 }))
    yield* add(
      Either.isLeft(page)
        ? failure("records read", "dynamodb:GetRecords", page.left, names)
        : { requirement: "records read", action: "dynamodb:GetRecords", status: "pass", detail: "GetRecords answered" }
    )
  })

/** GetBucketLocation, ListObjectsV2 (one key) and, when there is an object under the prefix, its first bytes. */
const checkBucket = (
  store: ObjectStore["Type"],
  bucket: string,
  prefix: string | undefined,
  call: Call,
  add: Add
) =>
  Effect.gen(function* () {
    const names = { bucket }
    const location = yield* call("s3:GetBucketLocation", store.bucketLocation)
    yield* add(
      Either.isLeft(location) ? failure("bucket location", "s3:GetBucketLocation", location.left, names) : {
        requirement: "bucket location",
        action: "s3:GetBucketLocation",
        status: "pass",
        detail: `bucket ${bucket} is in ${location.right}`
      }
    )
    const listPrefix = prefix === undefined || prefix === "" ? undefined : prefix
    const page = yield* call(
      "s3:ListBucket",
      store.listObjects({ maxKeys: 1, ...(listPrefix === undefined ? {} : { prefix: listPrefix }) })
    )
    const where = `s3://${bucket}/${listPrefix ?? ""}`
    let first: string | undefined
    if (Either.isLeft(page)) {
      yield* add(failure("bucket listed", "s3:ListBucket", page.left, names))
    } else {
      first = page.right.objects[0]?.key
      yield* add({
        requirement: "bucket listed",
        action: "s3:ListBucket",
        status: "pass",
        detail: first === undefined ? `nothing under ${where} yet` : `objects under ${where}`
      })
    }
    if (first === undefined) {
      yield* add({
        requirement: "object read",
        action: "s3:GetObject",
        status: "skip",
        detail: `no object under ${where} to read`
      })
    } else {
      const key = first
      const read = yield* call(
        "s3:GetObject",
        Effect.flatMap(store.getObject(key), (body) => Effect.promise(() => body.cancel().catch(() => undefined)))
      )
      yield* add(
        Either.isLeft(read)
          ? failure("object read", "s3:GetObject", read.left, names)
          : { requirement: "object read", action: "s3:GetObject", status: "pass", detail: `read ${key}` }
      )
    }
    yield* add({
      requirement: "object written",
      action: "s3:PutObject",
      status: "skip",
      detail: "not called: check writes nothing (the export writes the bucket with the caller's s3:PutObject)"
    })
  })

/** How many requirements passed, failed and were skipped. */
export const counts = (results: ReadonlyArray<Result>): Record<Status, number> => ({
  pass: results.filter((result) => result.status === "pass").length,
  fail: results.filter((result) => result.status === "fail").length,
  skip: results.filter((result) => result.status === "skip").length
})
