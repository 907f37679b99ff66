/**
 * The engine: one exact change feed of a table, from a point-in-time export (the backfill) joined with DynamoDB
 * Streams (the capture), applied to a {@link Sink} with checkpoints, so that a crash neither loses nor repeats a
 * change.
 *
 * {@link run} checks the setup first (a stream with new images; point-in-time recovery when a backfill is wanted; a
 * checkpoint of this table and stream), then:
 *
 * 1. **Backfill** (unless the checkpoint says it is done, or `backfill: "never"`): it starts capturing the stream,
 *    every shard from its trim horizon, into the {@link Spool} **before** it asks for the export, so the snapshot and
 *    the stream overlap and an export slower than the stream's 24-hour retention loses nothing. It reuses a completed
 *    export of the table into the same bucket and prefix that the stream still covers, or starts one (with a client
 *    token), checkpoints the export chosen (`Loading`, so that a restart waits for the same one and joins it with the
 *    spool), waits for it with back-off, and applies its items as snapshot reads (`op: "r"`, version 0),
 *    checkpointing the files and lines applied.
 * 2. **Spool**: it applies the spooled records, then clears the spool.
 * 3. **Stream**: it applies live records, from the checkpoint on, until interrupted or (`until: "caught-up"`) until
 *    every shard has been read up to the time the run started.
 *
 * A checkpoint older than the stream's retention, resumed without a backfill, fails with a {@link StreamGap} when some
 * listed shard is one capture holds no position in (nor in its parent): its oldest records may be trimmed unseen.
 *
 * Records clearly older than the export time (`ApproximateCreationDateTime` before the export time minus `marginMs`,
 * default 2 minutes, more than an export's fuzziness) are skipped: the snapshot holds their effect. The others are
 * applied with their per-item version (the sequence number), so the sink never lets an older image overwrite a newer
 * one. Each batch is written with the checkpoint that covers it: in the same transaction for a transactional sink,
 * then saved to the {@link CheckpointStore}.
 *
 * @module
 */
import { Chunk, Clock, Duration, Effect, Exit, Fiber, Metric, MetricBoundaries, Option, Ref, Stream } from "effect"
import * as Capture from "./Capture.ts"
import type { ChangeEvent } from "./ChangeEvent.ts"
import * as Checkpoint from "./Checkpoint.ts"
import * as CheckpointCheck from "./CheckpointCheck.ts"
import { CheckpointStore, type CheckpointStoreError } from "./CheckpointStore.ts"
import * as CaptureState from "./CaptureState.ts"
import {
  type CheckpointInvalid,
  type ExportError,
  type ExportFailed,
  type ExportManifestInvalid,
  SetupInvalid,
  type SinkFailure,
  type SpoolFailure,
  StreamGap,
  type StreamSourceError,
  type TableControlError
} from "./Errors.ts"
import * as ExportReader from "./ExportReader.ts"
import * as ExportJob from "./internal/ExportJob.ts"
import * as ExportLoad from "./internal/ExportLoad.ts"
import * as Transient from "./internal/Transient.ts"
import { ObjectStore } from "./ObjectStore.ts"
import * as SequenceNumber from "./SequenceNumber.ts"
import { Sink } from "./Sink.ts"
import { Spool } from "./Spool.ts"
import { StreamSource } from "./StreamSource.ts"
import { TableControl, type TableDescription } from "./TableControl.ts"

/** How and what {@link run} replicates. Only `table` is required. */
export interface Options {
  /** The table's name or ARN. */
  readonly table: string
  /** The stream to follow; default: the table's latest stream. */
  readonly streamArn?: string
  /**
   * `auto` (default): backfill on a first run (no checkpoint) and finish one a checkpoint says is under way;
   * `always`: backfill unless the checkpoint says it is done; `never`: the stream alone.
   */
  readonly backfill?: "auto" | "always" | "never"
  /** Where exports go, and optionally the export to use. Required for a backfill. */
  readonly export?: {
    readonly bucket: string
    readonly prefix?: string
    /** Use this export (completed or running) instead of finding or starting one. */
    readonly exportArn?: string
  }
  /** Stream records older than the export time minus this are skipped (default 2 minutes). */
  readonly marginMs?: number
  /** The stream's retention (default 24 hours): an export older than it, minus the margin, cannot be joined. */
  readonly retentionMs?: number
  /** Sink batches: at most `maxEvents` events, written at least every `maxDelay` (default 1000, 1 second). */
  readonly batch?: { readonly maxEvents?: number; readonly maxDelay?: Duration.DurationInput }
  /**
   * Backfill batches: at most this many snapshot reads (default 2000), each committed with its checkpoint. A batch
   * stays in memory until the sink has it; the export reader's snapshot reads are light (their line, their key: the
   * item is made only if a sink asks for it), so two batches in memory cost a few megabytes.
   */
  readonly backfillBatch?: number
  /** `forever` (default): follow the stream until interrupted; `caught-up`: stop when the stream is read to now. */
  readonly until?: "caught-up" | "forever"
  /** DescribeExport polling while an export runs (default every 2 s, growing to 30 s). */
  readonly exportPoll?: { readonly min?: Duration.DurationInput; readonly max?: Duration.DurationInput }
  /** Data files read ahead while loading an export (default 4). */
  readonly exportConcurrency?: number
  /**
   * Gunzip and MD5 for reading exports: default the portable ones (`DecompressionStream`, MD5 in JavaScript); a
   * runtime with native ones passes them (on Node: `NodeGzip.decompress`, `NodeMd5.md5`), several times faster.
   */
  readonly exportReading?: Pick<ExportReader.ReadOptions, "decompress" | "md5">
  /** Capture's options (pollers, idle delay, retries…). */
  readonly capture?: Omit<Capture.Options, "streamArn" | "state">
  /** Hears the engine's progress. */
  readonly onProgress?: (progress: Progress) => Effect.Effect<void>
}

/** What the engine is doing. */
export type Progress =
  | { readonly _tag: "ExportWaiting"; readonly exportArn: string; readonly status: string; readonly reused: boolean }
  | {
    readonly _tag: "ExportLoading"
    readonly exportArn: string
    readonly filesDone: number
    readonly filesTotal: number
    readonly items: number
    readonly itemsTotal: number
  }
  | { readonly _tag: "SpoolDraining"; readonly events: number }
  | { readonly _tag: "Streaming"; readonly events: number; readonly lagMs: number }

/** What a run did. */
export interface Summary {
  readonly tableArn: string
  readonly streamArn: string
  readonly exportArn?: string
  readonly exportTimeMs?: number
  /** Snapshot reads applied. */
  readonly snapshotEvents: number
  /** Stream records applied (from the spool and live). */
  readonly streamEvents: number
  /** Stream records skipped as older than the export. */
  readonly skippedEvents: number
  readonly checkpoint: Checkpoint.Checkpoint
}

/** Why the engine stops. */
export type EngineError =
  | SetupInvalid
  | ExportFailed
  | ExportError
  | ExportManifestInvalid
  | CheckpointInvalid
  | CheckpointStoreError
  | SinkFailure
  | SpoolFailure
  | Capture.CaptureError
  | StreamSourceError
  | TableControlError

const HOUR = 3_600_000

/** The back-off of the calls outside capture: capture's own (`capture.retry`, default 100 ms to 5 s, 10 retries). */
const retryPolicy = (options: Options): Transient.Policy => ({
  base: Duration.decode(options.capture?.retry?.base ?? "100 millis"),
  max: Duration.decode(options.capture?.retry?.max ?? "5 seconds"),
  retries: options.capture?.retry?.retries ?? 10
})

/** Events applied to the sink, tagged `op` (`r`, `c`, `u`, `d`). */
export const eventsApplied: Metric.Metric.Counter<number> = Metric.counter("backstream_events_applied", {
  description: "change events applied to the sink, by op",
  incremental: true
})

/** Stream records skipped as older than the export (their effect is in the snapshot). */
export const eventsSkipped: Metric.Metric.Counter<number> = Metric.counter("backstream_events_skipped", {
  description: "stream records skipped as older than the export time minus the margin",
  incremental: true
})

/** How long a sink batch took to apply and checkpoint, in seconds. */
export const batchSeconds: Metric.Metric.Histogram<number> = Metric.histogram(
  "backstream_sink_batch_seconds",
  MetricBoundaries.exponential({ start: 0.001, factor: 2, count: 16 }),
  "time to apply a batch to the sink and save its checkpoint"
)

/** When the last checkpoint was saved, in seconds since the epoch (checkpoint age = now minus this). */
export const checkpointSavedSeconds: Metric.Metric.Gauge<number> = Metric.gauge("backstream_checkpoint_saved_seconds", {
  description: "when the last checkpoint was saved, in seconds since the epoch"
})

/** Items of the export applied so far, and the export's total. */
export const exportItemsLoaded: Metric.Metric.Gauge<number> = Metric.gauge("backstream_export_items_loaded", {
  description: "items of the export applied to the sink"
})
export const exportItemsTotal: Metric.Metric.Gauge<number> = Metric.gauge("backstream_export_items_total", {
  description: "items in the export being loaded"
})

/** Per shard (tag `shard`): seconds between the newest record applied and now (from ApproximateCreationDateTime). */
export const shardLagSeconds: Metric.Metric.Gauge<number> = Metric.gauge("backstream_shard_lag_seconds", {
  description: "seconds between now and the ApproximateCreationDateTime of the newest record applied, by shard"
})

const countApplied = (events: ReadonlyArray<ChangeEvent>) =>
  Effect.suspend(() => {
    const byOp = { r: 0, c: 0, u: 0, d: 0 }
    for (const event of events) byOp[event.op]++
    return Effect.forEach(
      Object.entries(byOp).filter(([, n]) => n > 0),
      ([op, n]) => Metric.incrementBy(Metric.tagged(eventsApplied, "op", op), n),
      { discard: true }
    )
  })

interface Counters {
  readonly snapshot: Ref.Ref<number>
  readonly stream: Ref.Ref<number>
  readonly skipped: Ref.Ref<number>
}

/** The events of a batch that are still to apply: after the shard's applied position, not older than the cut. */
const freshEvents = (
  element: Capture.Batch,
  applied: CaptureState.CaptureState,
  cutMs: number | undefined
): { readonly events: ReadonlyArray<ChangeEvent>; readonly skipped: number } => {
  if (applied.finished.has(element.shardId)) return { events: [], skipped: 0 }
  const position = applied.positions.get(element.shardId)
  const events: Array<ChangeEvent> = []
  let skipped = 0
  for (const event of element.events) {
    if (event.position._tag !== "Stream") continue
    if (position !== undefined && SequenceNumber.compare(event.position.sequenceNumber, position.sequenceNumber) <= 0) {
      continue
    }
    if (cutMs !== undefined && event.position.approximateCreationTimeMs < cutMs) skipped++
    else events.push(event)
  }
  return { events, skipped }
}

const viewTypeCheck = (table: TableDescription, viewType: string): Effect.Effect<void, SetupInvalid> =>
  viewType === "NEW_IMAGE" || viewType === "NEW_AND_OLD_IMAGES" ? Effect.void : Effect.fail(
    new SetupInvalid({
      requirement: "stream view type",
      reason: `the stream of table ${table.tableName} is ${viewType}; NEW_IMAGE or NEW_AND_OLD_IMAGES is needed`,
      fix: `change it: aws dynamodb update-table --table-name ${table.tableName} --stream-specification `
        + `StreamEnabled=false, then StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES (a new stream: backfill again)`
    })
  )

/**
 * Replicates a table into the sink: checks, backfill, spool, stream (see the module's documentation). Returns when
 * `until: "caught-up"` is reached or the stream ends (disabled and read to its end); otherwise runs until
 * interrupted. Interruption between batches loses nothing: the checkpoint covers exactly what the sink holds.
 */
export const run = (
  options: Options
): Effect.Effect<
  Summary,
  EngineError,
  TableControl | StreamSource | ObjectStore | Sink | CheckpointStore | Spool
> =>
  Effect.scoped(Effect.gen(function* () {
    const retry = retryPolicy(options)
    const control = Transient.tableControl(yield* TableControl, retry)
    const source = yield* StreamSource
    const sink = yield* Sink
    const checkpoints = yield* CheckpointStore
    const spool = yield* Spool
    const report = options.onProgress ?? (() => Effect.void)
    const marginMs = options.marginMs ?? 2 * 60_000
    const retentionMs = options.retentionMs ?? 24 * HOUR
    const maxEvents = options.batch?.maxEvents ?? 1000
    const maxDelay = Duration.decode(options.batch?.maxDelay ?? "1 second")
    const counters: Counters = { snapshot: yield* Ref.make(0), stream: yield* Ref.make(0), skipped: yield* Ref.make(0) }

    const table = yield* control.describeTable(options.table)
    const streamArn = options.streamArn ?? table.latestStreamArn
    if (streamArn === undefined) {
      return yield* new SetupInvalid({
        requirement: "stream",
        reason: `table ${table.tableName} has no stream`,
        fix: `enable one: aws dynamodb update-table --table-name ${table.tableName} --stream-specification `
          + `StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES`
      })
    }
    const stream = yield* Transient.retry(retry, source.describeStream({ streamArn, limit: 1 }))
    if (stream.tableName !== table.tableName) {
      return yield* new SetupInvalid({
        requirement: "stream",
        reason: `stream ${streamArn} belongs to table ${stream.tableName}, not ${table.tableName}`,
        fix: "pass the stream of the table (or leave --stream-arn out to use its latest stream)"
      })
    }
    yield* viewTypeCheck(table, stream.viewType)

    // Opened first: a transactional sink holds the checkpoint (SinkCheckpointStore), and reads it once open.
    yield* sink.open({ name: table.tableName, arn: table.tableArn, keySchema: table.keySchema })
    const saved = yield* checkpoints.load
    if (Option.isSome(saved)) {
      yield* CheckpointCheck.checkBelongs(saved.value, table.tableArn, streamArn, checkpoints.description)
    }
    let checkpoint = Option.getOrElse(saved, () => Checkpoint.initial(table.tableArn, streamArn))
    const mode = options.backfill ?? "auto"
    const backfill = checkpoint.backfill._tag !== "Done" && (
      mode === "always" || (mode === "auto" && (Option.isNone(saved) || checkpoint.backfill._tag === "Loading"))
    )
    if (Option.isSome(saved) && !backfill) yield* checkAge(source, streamArn, saved.value, retentionMs - marginMs)
    if (Option.isNone(saved) && backfill && sink.holdsItems !== undefined && (yield* sink.holdsItems)) {
      return yield* new SetupInvalid({
        requirement: "an empty replica",
        reason: `${sink.description} already holds items of ${table.tableName}, but there is no checkpoint `
          + `(${checkpoints.description}): a backfill from scratch never replaces what a replica holds, so items `
          + `changed or deleted since they were written would stay as they were`,
        fix: "restore the checkpoint to go on from it; or drop that table, or empty it (with its tombstones in "
          + "_backstream_tombstones), or pass another with --sink-table, to replicate from scratch"
      })
    }

    const commit = (events: ReadonlyArray<ChangeEvent>, next: Checkpoint.Checkpoint, prepared?: unknown) =>
      Effect.gen(function* () {
        const startMs = yield* Clock.currentTimeMillis
        const stamped = { ...next, savedAtMs: startMs }
        yield* sink.write({ events, checkpoint: stamped, ...(prepared === undefined ? {} : { prepared }) })
        yield* checkpoints.save(stamped)
        checkpoint = stamped
        const endMs = yield* Clock.currentTimeMillis
        yield* Metric.update(batchSeconds, (endMs - startMs) / 1000)
        yield* Metric.set(checkpointSavedSeconds, endMs / 1000)
        yield* countApplied(events)
      }).pipe(
        // A batch in flight is written and its checkpoint saved even when the run is interrupted (a shutdown).
        Effect.uninterruptible
      )

    if (backfill) {
      checkpoint = yield* runBackfill({
        options,
        table,
        streamArn,
        streamCreatedMs: stream.creationTimeMs,
        marginMs,
        retentionMs,
        checkpoint,
        commit,
        prepare: sink.prepare,
        counters,
        report,
        retry
      }).pipe(
        // Throttling and unavailability of the export's calls and files are retried, as capture retries its own.
        Effect.provideService(TableControl, control),
        Effect.provideService(ObjectStore, Transient.objectStore(yield* ObjectStore, retry))
      )
    }

    const cutMs = checkpoint.backfill._tag === "Done" ? checkpoint.backfill.exportTimeMs - marginMs : undefined
    const applyElements = (elements: ReadonlyArray<Capture.Element>) =>
      Effect.gen(function* () {
        let state = checkpoint.capture
        const events: Array<ChangeEvent> = []
        let skipped = 0
        for (const element of elements) {
          if (element._tag === "Batch") {
            const fresh = freshEvents(element, state, cutMs)
            events.push(...fresh.events)
            skipped += fresh.skipped
          }
          state = CaptureState.apply(state, element)
        }
        if (CaptureState.equals(state, checkpoint.capture) && events.length === 0) return events.length
        yield* commit(events, { ...checkpoint, capture: state })
        yield* Ref.update(counters.stream, (n) => n + events.length)
        yield* Ref.update(counters.skipped, (n) => n + skipped)
        if (skipped > 0) yield* Metric.incrementBy(eventsSkipped, skipped)
        return events.length
      })

    // The spool: records captured during a backfill (this run's or a crashed one's), applied before live ones.
    // A store under the spool that throttles or fails for a while: read it again from its start (what is applied
    // already is skipped by position, as after a restart).
    if (Option.isSome(yield* Transient.retry(retry, spool.state, Transient.isTransientSpoolFailure))) {
      yield* Transient.retry(
        retry,
        spool.read.pipe(
          Stream.groupedWithin(Math.max(1, Math.ceil(maxEvents / 100)), maxDelay),
          Stream.runForEach((chunk) =>
            Effect.flatMap(applyElements(Chunk.toReadonlyArray(chunk)), () =>
              Effect.flatMap(Ref.get(counters.stream), (events) => report({ _tag: "SpoolDraining", events })))
          )
        ),
        Transient.isTransientSpoolFailure
      )
      yield* Transient.retry(retry, spool.clear, Transient.isTransientSpoolFailure)
    }

    // Live.
    const startedMs = yield* Clock.currentTimeMillis
    const caughtUp = options.until === "caught-up"
    yield* Capture.stream({ ...options.capture, streamArn, state: checkpoint.capture }).pipe(
      Stream.takeUntil((element) =>
        caughtUp && isCaughtUp(element, startedMs)
      ),
      Stream.groupedWithin(Math.max(1, Math.ceil(maxEvents / 100)), maxDelay),
      Stream.runForEach((chunk) =>
        Effect.gen(function* () {
          const elements = Chunk.toReadonlyArray(chunk)
          yield* applyElements(elements)
          const now = yield* Clock.currentTimeMillis
          for (const element of elements) {
            if (element._tag !== "Batch") continue
            yield* Metric.set(
              Metric.tagged(shardLagSeconds, "shard", element.shardId),
              Math.max(0, now - element.position.approximateCreationTimeMs) / 1000
            )
          }
          const newest = newestTime(elements)
          yield* report({
            _tag: "Streaming",
            events: yield* Ref.get(counters.stream),
            lagMs: newest === undefined ? 0 : Math.max(0, now - newest)
          })
        })
      )
    )

    return {
      tableArn: table.tableArn,
      streamArn,
      ...(checkpoint.backfill._tag === "None"
        ? {}
        : { exportArn: checkpoint.backfill.exportArn, exportTimeMs: checkpoint.backfill.exportTimeMs }),
      snapshotEvents: yield* Ref.get(counters.snapshot),
      streamEvents: yield* Ref.get(counters.stream),
      skippedEvents: yield* Ref.get(counters.skipped),
      checkpoint
    }
  }))

/**
 * Capture sees a gap in a shard it holds a position in (or whose parent it finished), not in one it knows nothing of:
 * that one it reads from its trim horizon. After a stop longer than the stream's retention, such a shard may have lost
 * records already: a {@link StreamGap}, not silence.
 */
const checkAge = (
  source: StreamSource["Type"],
  streamArn: string,
  checkpoint: Checkpoint.Checkpoint,
  maxAgeMs: number
): Effect.Effect<void, StreamGap | StreamSourceError> =>
  Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    if (now - checkpoint.savedAtMs <= maxAgeMs) return
    const { positions, finished } = checkpoint.capture
    const known = (shardId: string | undefined) =>
      shardId !== undefined && (positions.has(shardId) || finished.has(shardId))
    let exclusiveStartShardId: string | undefined
    do {
      const page = yield* source.describeStream({
        streamArn,
        limit: 100,
        ...(exclusiveStartShardId === undefined ? {} : { exclusiveStartShardId })
      })
      const unknown = page.shards.find((shard) => !known(shard.shardId) && !known(shard.parentShardId))
      if (unknown !== undefined) {
        return yield* new StreamGap({
          streamArn,
          shardId: unknown.shardId,
          cause: "trimmed",
          lostFromMs: checkpoint.savedAtMs,
          reason: `the checkpoint was saved ${Math.floor((now - checkpoint.savedAtMs) / HOUR)} hours ago, longer `
            + `than the stream keeps records, and holds no position in this shard: records written to it since may `
            + `be trimmed already`
        })
      }
      exclusiveStartShardId = page.lastEvaluatedShardId
    } while (exclusiveStartShardId !== undefined)
  })

const isCaughtUp = (element: Capture.Element, startedMs: number): boolean =>
  element._tag === "CaughtUp" && element.readToMs >= startedMs

const newestTime = (elements: ReadonlyArray<Capture.Element>): number | undefined => {
  let newest: number | undefined
  for (const element of elements) {
    if (element._tag === "Batch") {
      const time = element.position.approximateCreationTimeMs
      if (newest === undefined || time > newest) newest = time
    }
  }
  return newest
}

interface BackfillContext {
  readonly options: Options
  readonly table: TableDescription
  readonly streamArn: string
  readonly streamCreatedMs: number
  readonly marginMs: number
  readonly retentionMs: number
  readonly checkpoint: Checkpoint.Checkpoint
  readonly commit: (
    events: ReadonlyArray<ChangeEvent>,
    next: Checkpoint.Checkpoint,
    prepared?: unknown
  ) => Effect.Effect<void, SinkFailure | CheckpointStoreError>
  readonly prepare: ((events: ReadonlyArray<ChangeEvent>) => unknown) | undefined
  readonly counters: Counters
  readonly report: (progress: Progress) => Effect.Effect<void>
  readonly retry: Transient.Policy
}

/** Captures the stream into the spool until interrupted; fails only with capture's or the spool's errors. */
const spoolCapture = (
  streamArn: string,
  state: CaptureState.CaptureState,
  options: Options,
  retry: Transient.Policy
) =>
  Effect.gen(function* () {
    const spool = yield* Spool
    let current = state
    yield* Capture.stream({ ...options.capture, streamArn, state }).pipe(
      Stream.groupedWithin(64, Duration.seconds(1)),
      Stream.runForEach((chunk) => {
        const elements = Chunk.toReadonlyArray(chunk).filter((element) => element._tag !== "CaughtUp")
        for (const element of elements) current = CaptureState.apply(current, element)
        return elements.length === 0
          ? Effect.void
          : Transient.retry(retry, spool.append(elements, current), Transient.isTransientSpoolFailure)
      })
    )
  })

// The errors of an export's own files (not of the store that serves them).
const EXPORT_DAMAGE: ReadonlySet<string> = new Set([
  "ExportManifestInvalid",
  "ExportFileMissing",
  "ExportFileUnreadable",
  "ExportLineInvalid",
  "ExportFileMismatch"
])

const runBackfill = (context: BackfillContext) =>
  Effect.gen(function* () {
    const { options, table, streamArn, marginMs, report, counters } = context
    let checkpoint = context.checkpoint
    const control = yield* TableControl
    const spool = yield* Spool

    const backups = yield* control.describeContinuousBackups(table.tableName)
    if (!backups.pitrEnabled) {
      return yield* new SetupInvalid({
        requirement: "point-in-time recovery",
        reason: `PITR is off for table ${table.tableName}, and a backfill exports the table from it`,
        fix: `enable it: aws dynamodb update-continuous-backups --table-name ${table.tableName} `
          + `--point-in-time-recovery-specification PointInTimeRecoveryEnabled=true (or run with --backfill never)`
      })
    }
    const destination = options.export
    if (destination === undefined || destination.bucket === "") {
      return yield* new SetupInvalid({
        requirement: "export bucket",
        reason: "a backfill exports the table to S3 and needs a bucket for it",
        fix: "pass --export-bucket (and --export-prefix), or run with --backfill never"
      })
    }

    // Capture first, into the spool: the stream must overlap the export.
    const spooled = yield* Transient.retry(context.retry, spool.state, Transient.isTransientSpoolFailure)
    const spooler = yield* Effect.forkScoped(
      spoolCapture(streamArn, Option.getOrElse(spooled, () => checkpoint.capture), options, context.retry)
    )
    const spoolFailure = Fiber.join(spooler).pipe(Effect.zipRight(Effect.never))

    const now = yield* Clock.currentTimeMillis
    let reused = true
    if (checkpoint.backfill._tag === "Loading") {
      // A restart: an earlier run chose the export (and checked it); the spool holds what it captured since.
      if (Option.isNone(spooled) && checkpoint.backfill.exportTimeMs - marginMs < now - context.retentionMs) {
        return yield* new SetupInvalid({
          requirement: "spool",
          reason: `the spool of the backfill under way is empty or gone, and its export is older than the stream's `
            + `retention: the changes captured meanwhile cannot be read again`,
          fix: `delete the checkpoint (${(yield* CheckpointStore).description}) to replicate from scratch`
        })
      }
    } else {
      const notBeforeMs = Math.max(context.streamCreatedMs, now - context.retentionMs + marginMs + HOUR)
      const chosen = destination.exportArn !== undefined
        ? yield* control.describeExport(destination.exportArn)
        : yield* Effect.flatten(Effect.map(
          ExportJob.findReusable(table.tableArn, destination, notBeforeMs),
          Option.match({
            onSome: Effect.succeed,
            onNone: () =>
              Effect.tap(ExportJob.start(table.tableArn, destination), () => Effect.sync(() => void (reused = false)))
          })
        ))
      const exportTimeMs = chosen.exportTimeMs ?? now
      if (chosen.tableArn !== table.tableArn || chosen.exportType !== "FULL_EXPORT") {
        return yield* new SetupInvalid({
          requirement: "export",
          reason: `export ${chosen.exportArn} is ${
            chosen.exportType === "FULL_EXPORT" ? `of table ${chosen.tableArn}` : "an incremental export"
          }, not a full export of ${table.tableArn}`,
          fix: "pass a full export of this table with --export-arn, or leave it out to start one"
        })
      }
      if (exportTimeMs < context.streamCreatedMs) {
        return yield* new SetupInvalid({
          requirement: "stream at the export time",
          reason: `export ${chosen.exportArn} is of ${new Date(exportTimeMs).toISOString()}, before the stream `
            + `was enabled (${new Date(context.streamCreatedMs).toISOString()}): changes between them are in neither`,
          fix: "leave --export-arn out, so that a new export is taken"
        })
      }
      if (exportTimeMs - marginMs < now - context.retentionMs) {
        return yield* new SetupInvalid({
          requirement: "export time covered by the stream",
          reason: `export ${chosen.exportArn} is older than the stream's retention: the changes since it are no `
            + `longer all in the stream`,
          fix: "leave --export-arn out, so that a new export is taken"
        })
      }
      // Saved before the wait: a restart waits for the same export and joins it with the spool, however long it takes.
      checkpoint = {
        ...checkpoint,
        backfill: { _tag: "Loading", exportArn: chosen.exportArn, exportTimeMs, filesDone: 0, linesDone: 0 }
      }
      yield* context.commit([], checkpoint)
    }
    const loading = checkpoint.backfill as Extract<Checkpoint.Backfill, { _tag: "Loading" }>
    const exportTimeMs = loading.exportTimeMs

    const poll = {
      min: Duration.decode(options.exportPoll?.min ?? "2 seconds"),
      max: Duration.decode(options.exportPoll?.max ?? "30 seconds")
    }
    const completed = yield* Effect.raceFirst(
      ExportJob.waitFor(loading.exportArn, poll, (described) =>
        report({ _tag: "ExportWaiting", exportArn: loading.exportArn, status: described.status, reused })),
      spoolFailure
    )
    if (completed.exportManifest === undefined) {
      return yield* new SetupInvalid({
        requirement: "export",
        reason: `export ${completed.exportArn} has no manifest`,
        fix: "export the table again"
      })
    }

    // A damaged export is reused by every rerun (it resumes where the checkpoint stands): the way out is said once.
    const adviseOnDamage = <A, E extends { readonly _tag: string }, R>(effect: Effect.Effect<A, E, R>) =>
      Effect.tapError(effect, (error) =>
        EXPORT_DAMAGE.has(error._tag)
          ? Effect.logError(
            `export ${completed.exportArn} cannot be loaded; a rerun resumes this same export, so if its files are `
              + `damaged in S3 it stops here again: start over with a new export (another --export-prefix), an empty `
              + `replica and no checkpoint`
          )
          : Effect.void)
    const manifest = yield* adviseOnDamage(ExportReader.openManifest(completed.exportManifest, options.exportReading))
    const itemsTotal = ExportLoad.itemsDone(manifest, { filesDone: manifest.files.length, linesDone: 0 })
    let items = ExportLoad.itemsDone(manifest, loading)
    yield* ExportLoad.forEachBatch(manifest, loading, {
      keySchema: table.keySchema,
      concurrency: options.exportConcurrency ?? 4,
      batchSize: options.backfillBatch ?? 2000,
      prepare: context.prepare,
      ...options.exportReading
    }, ({ events, filesDone, linesDone, prepared }) =>
      Effect.gen(function* () {
        items += events.length
        checkpoint = { ...checkpoint, backfill: { ...loading, filesDone, linesDone } }
        yield* context.commit(events, checkpoint, prepared)
        yield* Ref.update(counters.snapshot, (n) =>
          n + events.length)
        yield* Metric.set(exportItemsLoaded, items)
        yield* Metric.set(exportItemsTotal, itemsTotal)
        yield* report({
          _tag: "ExportLoading",
          exportArn: completed.exportArn,
          filesDone,
          filesTotal: manifest.files.length,
          items,
          itemsTotal
        })
      })).pipe(adviseOnDamage, Effect.raceFirst(spoolFailure))
    checkpoint = { ...checkpoint, backfill: { _tag: "Done", exportArn: completed.exportArn, exportTimeMs } }
    yield* context.commit([], checkpoint)

    const exit = yield* Fiber.interrupt(spooler)
    if (Exit.isFailure(exit) && !Exit.isInterrupted(exit)) {
      yield* exit
    }
    return checkpoint
  })
