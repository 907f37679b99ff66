/**
 * An emulator's state as one JSON document, and back: tables (definitions, tags, items, PITR and TTL settings), the
 * PITR history of every item, streams (shards, records, sequence counters), exports and their statuses, S3 buckets and
 * objects (bytes as base64), and the time of a virtual clock. What is left out does not outlive a process on AWS
 * either, or is the test harness's: fault rules, the request log, shard iterators (a client gets new ones).
 *
 * `snapshot` reads an instance, `restore` fills a fresh one (see `EmulatorInstance.fromSnapshot`); `encode` and
 * `decode` turn the document into text and back. Files are the caller's business.
 */
import { Clock, Data, Effect, Either } from "effect"
import * as Base64 from "../core/Base64.ts"
import type { AwsError } from "./AwsError.ts"
import type { ClockMode } from "./EmulatorClock.ts"
import type { EmulatorInstance } from "./EmulatorInstance.ts"
import type { HistoryEntry, WireItem } from "./dynamodb/TableHistory.ts"
import type { KeySchemaElement, TableMeta, TableState } from "./dynamodb/Tables.ts"
import type { ExportJob } from "./exports/Exports.ts"
import type { S3Bucket, S3Object } from "./s3/S3Store.ts"
import { type Shard, Stream } from "./streams/Stream.ts"
import type * as StreamRecord from "./streams/StreamRecord.ts"

export const FORMAT = "backstream-emulator-state"
export const VERSION = 1

/** A saved state that cannot be read or restored. */
export class PersistenceError extends Data.TaggedError("PersistenceError")<{ readonly reason: string }> {
  override get message() {
    return this.reason
  }
}

interface TableRef {
  readonly name: string
  readonly arn: string
  readonly keySchema: ReadonlyArray<KeySchemaElement>
}

export interface TableDocument extends TableRef {
  readonly pitr?: { readonly enabledAtMs: number }
  readonly ttl?: { readonly attributeName: string }
  /** dynalite's description of the table, as DescribeTable shows it. */
  readonly description: Record<string, unknown>
  readonly tags: ReadonlyArray<{ readonly Key: string; readonly Value: string }>
  readonly items: ReadonlyArray<WireItem>
}

export interface ShardDocument {
  readonly id: string
  readonly parentId?: string
  readonly low: number
  readonly high: number
  readonly openedMs: number
  readonly closedMs?: number
  /** Sequence numbers as decimal strings. */
  readonly start: string
  readonly end?: string
  readonly last?: string
  readonly trimmedThrough?: string
  readonly appended: number
  readonly records: ReadonlyArray<{ readonly timeMs: number; readonly record: StreamRecord.Wire }>
}

export interface StreamDocument {
  readonly arn: string
  readonly label: string
  readonly viewType: StreamRecord.ViewType
  readonly createdMs: number
  readonly table: TableRef
  /** Whether it is its table's enabled stream. */
  readonly enabled: boolean
  readonly status: "ENABLED" | "DISABLED"
  readonly counter: string
  readonly hour: string
  readonly lastShardId: string
  readonly nowMs: number
  readonly shards: ReadonlyArray<ShardDocument>
}

export type ExportDocument = Omit<ExportJob, "table"> & { readonly table: TableRef }

export interface BucketDocument extends S3Bucket {
  readonly objects: ReadonlyArray<{
    readonly key: string
    readonly contentType: string
    readonly etag: string
    readonly lastModifiedMs: number
    /** The bytes, base64. */
    readonly body: string
  }>
}

export interface Document {
  readonly format: typeof FORMAT
  readonly version: typeof VERSION
  /** The emulator's time when it was saved. */
  readonly savedAtMs: number
  readonly clock: { readonly mode: ClockMode; readonly nowMs: number }
  readonly tables: ReadonlyArray<TableDocument>
  /** The PITR history of every table, deleted ones included. */
  readonly history: ReadonlyArray<{ readonly table: string; readonly entries: ReadonlyArray<HistoryEntry> }>
  readonly streams: ReadonlyArray<StreamDocument>
  /** The key that signs shard iterators (base64), so that iterators issued before a restart stay valid. */
  readonly iteratorSecret?: string
  readonly exports: ReadonlyArray<ExportDocument>
  readonly buckets: ReadonlyArray<BucketDocument>
}

const tableRef = (table: TableRef): TableRef => ({ name: table.name, arn: table.arn, keySchema: table.keySchema })

const optional = <K extends string, A, B>(key: K, value: A | undefined, f: (a: A) => B) =>
  (value === undefined ? {} : { [key]: f(value) }) as { readonly [P in K]?: B }

const shardDocument = (shard: Shard): ShardDocument => ({
  id: shard.id,
  ...optional("parentId", shard.parentId, String),
  low: shard.low,
  high: shard.high,
  openedMs: shard.openedMs,
  ...optional("closedMs", shard.closedMs, Number),
  start: shard.start.toString(),
  ...optional("end", shard.end, String),
  ...optional("last", shard.last, String),
  ...optional("trimmedThrough", shard.trimmedThrough, String),
  appended: shard.appended,
  records: shard.records.map((record) => ({ timeMs: record.timeMs, record: record.wire }))
})

const tableDocument = ({ description, items, meta, tags }: TableState): TableDocument => ({
  ...tableRef(meta),
  ...optional("pitr", meta.pitr, (pitr) => ({ enabledAtMs: pitr.enabledAtMs })),
  ...optional("ttl", meta.ttl, (ttl) => ({ attributeName: ttl.attributeName })),
  description,
  tags,
  items
})

/**
 * Reads an instance's whole state. Writes wait while it runs, so items, history and streams agree; everything but
 * the items is read in one step.
 */
export const snapshot = (instance: EmulatorInstance): Effect.Effect<Document, AwsError> =>
  instance.tables.exclusively(Effect.gen(function* () {
    const tables = yield* instance.tables.snapshot()
    const nowMs = yield* Clock.currentTimeMillis
    const { enabled, iteratorSecret, streams } = instance.streams.snapshot()
    const enabledArns = new Set(enabled.map(([, arn]) => arn))
    const document: Document = {
      format: FORMAT,
      version: VERSION,
      savedAtMs: nowMs,
      clock: { mode: instance.clock.mode, nowMs },
      tables: tables.map(tableDocument),
      history: [...instance.tables.history.snapshot()].map(([table, entries]) => ({ table, entries: [...entries] })),
      streams: streams.map((stream): StreamDocument => {
        const state = stream.snapshot()
        return {
          arn: stream.arn,
          label: stream.label,
          viewType: stream.viewType,
          createdMs: stream.createdMs,
          table: tableRef({ ...stream.table, keySchema: stream.table.keySchema as ReadonlyArray<KeySchemaElement> }),
          enabled: enabledArns.has(stream.arn),
          status: state.status,
          counter: state.counter.toString(),
          hour: state.hour.toString(),
          lastShardId: state.lastShardId,
          nowMs: state.nowMs,
          shards: state.shards.map(shardDocument)
        }
      }),
      iteratorSecret: Base64.encode(iteratorSecret),
      exports: instance.exports.snapshot().map((job) => ({ ...job, table: tableRef(job.table) })),
      buckets: instance.s3.snapshot().map(({ info, objects }) => ({
        name: info.name,
        region: info.region,
        creationTimeMs: info.creationTimeMs,
        objects: objects.map((object) => ({
          key: object.key,
          contentType: object.contentType,
          etag: object.etag,
          lastModifiedMs: object.lastModifiedMs,
          body: Base64.encode(object.bytes)
        }))
      }))
    }
    return document
  })).pipe(Effect.withClock(instance.clock))

const shard = (document: ShardDocument): Shard => ({
  id: document.id,
  parentId: document.parentId,
  low: document.low,
  high: document.high,
  openedMs: document.openedMs,
  start: BigInt(document.start),
  end: document.end === undefined ? undefined : BigInt(document.end),
  closedMs: document.closedMs,
  records: document.records.map(({ record, timeMs }) => ({
    sequenceNumber: BigInt(record.dynamodb.SequenceNumber),
    timeMs,
    wire: record
  })),
  appended: document.appended,
  last: document.last === undefined ? undefined : BigInt(document.last),
  trimmedThrough: document.trimmedThrough === undefined ? undefined : BigInt(document.trimmedThrough)
})

const s3Object = (bucket: string, object: BucketDocument["objects"][number]): S3Object => {
  const bytes = Base64.decode(object.body)
  if (bytes === undefined) throw new Error(`object ${object.key} of bucket ${bucket} is not base64`)
  return { ...object, bytes, size: bytes.length }
}

/**
 * Fills a fresh instance (no tables, streams, exports or buckets) with a saved state. Its clock is not touched: make
 * the instance with `EmulatorInstance.fromSnapshot`, which starts a virtual clock where the saved one stood.
 */
export const restore = (instance: EmulatorInstance, document: Document): Effect.Effect<void, PersistenceError> =>
  Effect.gen(function* () {
    const listed = yield* instance.tables.dynalite.run("ListTables", {})
    if (((listed.TableNames ?? []) as Array<string>).length > 0 || instance.s3.snapshot().length > 0) {
      return yield* new PersistenceError({ reason: "a state can only be restored into an empty emulator" })
    }
    instance.s3.restore(document.buckets.map((bucket) => ({
      info: { name: bucket.name, region: bucket.region, creationTimeMs: bucket.creationTimeMs },
      objects: bucket.objects.map((object) => s3Object(bucket.name, object))
    })))
    yield* instance.tables.restore(document.tables.map((table): TableState => {
      const meta: TableMeta = {
        name: table.name,
        arn: table.arn,
        keySchema: table.keySchema,
        ...optional("pitr", table.pitr, (pitr) => ({ enabledAtMs: pitr.enabledAtMs })),
        ...optional("ttl", table.ttl, (ttl) => ({ attributeName: ttl.attributeName }))
      }
      return { description: table.description, tags: table.tags, items: table.items, meta }
    }))
    instance.tables.history.restore(document.history.map(({ entries, table }) => [table, entries] as const))
    const streams = document.streams.map((saved) => {
      const stream = new Stream(
        tableRef(saved.table),
        saved.viewType,
        saved.label,
        saved.arn,
        saved.createdMs,
        instance.streams.config
      )
      stream.restore({
        status: saved.status,
        shards: saved.shards.map(shard),
        counter: BigInt(saved.counter),
        hour: BigInt(saved.hour),
        lastShardId: saved.lastShardId,
        nowMs: saved.nowMs
      })
      return stream
    })
    instance.streams.restore(
      streams,
      document.streams.filter((saved) => saved.enabled).map((saved) => [saved.table.name, saved.arn] as const),
      document.iteratorSecret === undefined ? undefined : Base64.decode(document.iteratorSecret)
    )
    const jobs: Array<ExportJob> = []
    for (const saved of document.exports) {
      const live = yield* Effect.option(instance.tables.table(saved.table.name))
      const table = live._tag === "Some" && live.value.arn === saved.table.arn ? live.value : tableRef(saved.table)
      jobs.push({ ...saved, table })
    }
    instance.exports.restore(jobs)
  }).pipe(
    Effect.catchTag("AwsError", (error) => Effect.fail(new PersistenceError({ reason: error.message }))),
    Effect.catchAllDefect((defect) =>
      Effect.fail(new PersistenceError({ reason: `the saved state is damaged: ${String(defect)}` }))
    ),
    Effect.withClock(instance.clock)
  )

/** The document as text. */
export const encode = (document: Document): string => JSON.stringify(document)

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** Reads a document from text, checking that it is a state of this format and version. */
export const decode = (text: string): Either.Either<Document, PersistenceError> => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    return Either.left(new PersistenceError({ reason: `not JSON (${(error as Error).message})` }))
  }
  if (!isObject(json) || json.format !== FORMAT) {
    return Either.left(new PersistenceError({ reason: `not a saved emulator state (no "format": "${FORMAT}")` }))
  }
  if (json.version !== VERSION) {
    return Either.left(
      new PersistenceError({
        reason: `saved in format version ${String(json.version)}; this emulator reads ${VERSION}`
      })
    )
  }
  const clock = json.clock
  if (!isObject(clock) || (clock.mode !== "real" && clock.mode !== "virtual") || typeof clock.nowMs !== "number") {
    return Either.left(new PersistenceError({ reason: "clock must be {mode, nowMs}" }))
  }
  for (const field of ["tables", "history", "streams", "exports", "buckets"]) {
    if (!Array.isArray(json[field])) return Either.left(new PersistenceError({ reason: `${field} must be an array` }))
  }
  if (json.iteratorSecret !== undefined && Base64.decode(String(json.iteratorSecret))?.length !== 32) {
    return Either.left(new PersistenceError({ reason: "iteratorSecret must be 32 bytes in base64" }))
  }
  return Either.right(json as unknown as Document)
}

const READ_ACTION = /^(dynamodb:(Get|BatchGet|Describe|List|Scan|Query)|s3:(Get|List|Head))/

/**
 * Tells whether anything saved may have changed since it was last asked: a write request (by the request log), or a
 * change that time brings (an export completing, items expiring, shards rolling over or trimmed, a virtual clock
 * moved). Cheap enough to ask every few seconds.
 */
export const watchChanges = (instance: EmulatorInstance): () => boolean => {
  const log = instance.emulator.requestLog.entries
  let seen = log.length, last = log[log.length - 1], mark = ""
  const currentMark = () => {
    const parts: Array<string | number> = [
      instance.clock.mode === "virtual" ? instance.clock.unsafeCurrentTimeMillis() : 0
    ]
    for (const job of instance.exports.snapshot()) parts.push(job.status)
    for (const [name, entries] of instance.tables.history.snapshot()) parts.push(name, entries.length)
    for (const stream of instance.streams.snapshot().streams) {
      const state = stream.snapshot()
      parts.push(stream.arn, state.status, state.shards.length)
      for (const shard of state.shards) parts.push(shard.records.length, shard.end === undefined ? "o" : "c")
    }
    return parts.join("|")
  }
  mark = currentMark()
  return () => {
    const continued = seen <= log.length && (seen === 0 || log[seen - 1] === last)
    const fresh = continued ? log.slice(seen) : log
    const wrote = fresh.some((entry) => !READ_ACTION.test(entry.action))
    seen = log.length
    last = log[log.length - 1]
    const next = currentMark()
    const moved = next !== mark
    mark = next
    return wrote || moved
  }
}
