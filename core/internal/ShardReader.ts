/**
 * Reads one shard to its end (or, while it is open, forever): GetShardIterator from the shard's position, then
 * GetRecords page after page, each page handed downstream as one batch before the next is asked for. A page in
 * flight holds one of the capture's poller permits, so the permits bound both the calls and the pages held in memory.
 */
import { Clock, Duration, Effect, type Mailbox, Metric, Schedule } from "effect"
import type * as Capture from "../Capture.ts"
import type { ShardPosition } from "../CaptureState.ts"
import { type InvalidAttributeValue, StreamGap, type StreamSourceError, Unavailable } from "../Errors.ts"
import type { IteratorStart, RecordsPage, StreamRecord, StreamSource } from "../StreamSource.ts"
import type { ListedShard } from "./ShardLineage.ts"

export interface Settings {
  readonly streamArn: string
  readonly recordsPerCall: number
  readonly idleMin: Duration.Duration
  readonly idleMax: Duration.Duration
  readonly retryBase: Duration.Duration
  readonly retryMax: Duration.Duration
  readonly retries: number
}

/** What every reader of one capture shares. */
export interface Readers {
  readonly source: StreamSource["Type"]
  readonly settings: Settings
  readonly permits: Effect.Semaphore
  readonly output: Mailbox.Mailbox<Capture.Element, Capture.CaptureError>
  /** The last position handed downstream, per shard: it dates a gap the coordinator finds. */
  readonly latest: Map<string, ShardPosition>
  readonly calls: { readonly records: Counter; readonly empty: Counter; readonly error: Counter }
  readonly recordsRead: Counter
  readonly toEvents: (shardId: string, records: ReadonlyArray<StreamRecord>) => ReadonlyArray<Capture.Event>
  /** The shard had nothing more when GetRecords was asked at `atMs`. */
  readonly atTip: (shardId: string, atMs: number) => Effect.Effect<unknown>
}

type Counter = Metric.Metric.Counter<number>

/** An error the call cannot give (DescribeStream trimmed?): the service misbehaves. */
export const unexpected = (error: { readonly _tag: string; readonly message: string }) =>
  Effect.fail(
    new Unavailable({ action: "dynamodb:DescribeStream", reason: `unexpected ${error._tag}: ${error.message}` })
  )

const isTransient = (error: { readonly _tag: string }) => error._tag === "Throttled" || error._tag === "Unavailable"

/** Throttled and Unavailable again after a jittered exponential back-off, `retries` times at most. */
export const retrying = <A, E extends { readonly _tag: string }, R>(
  settings: Settings,
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  Effect.retry(
    effect,
    Schedule.exponential(settings.retryBase, 2).pipe(
      Schedule.union(Schedule.spaced(settings.retryMax)),
      Schedule.jittered,
      Schedule.intersect(Schedule.recurs(settings.retries)),
      Schedule.whileInput(isTransient)
    )
  )

/** How many times a shard of which nothing was owed yet may be found trimmed before that counts as a gap. */
const MAX_FRESH_RESTARTS = 3

export const read = (
  readers: Readers,
  shard: ListedShard,
  from: ShardPosition | undefined,
  /** Its parent was read here: every record of it must be read, from its very first. */
  fromItsStart: boolean
): Effect.Effect<void, Capture.CaptureError> =>
  Effect.gen(function* () {
    const { source, settings, permits, output } = readers
    const { shardId } = shard
    const streamArn = settings.streamArn
    let position = from
    let readOnce = false
    let freshRestarts = 0

    const earliestKept = Effect.gen(function* () {
      const iterator = yield* source.getShardIterator({ streamArn, shardId, start: { type: "TRIM_HORIZON" } })
      const page = yield* source.getRecords({ iterator, limit: 1 })
      return page.records[0]?.approximateCreationTimeMs
    }).pipe(Effect.orElseSucceed(() => undefined))

    const gap = (error: StreamSourceError): Effect.Effect<never, Capture.CaptureError> => {
      const lostFromMs = position?.approximateCreationTimeMs
      const dated = <T extends object>(fields: T) => lostFromMs === undefined ? fields : { ...fields, lostFromMs }
      if (error._tag === "NotFound") {
        return Effect.fail(
          new StreamGap(dated({ streamArn, shardId, cause: "shardGone" as const, reason: error.message }))
        )
      }
      return Effect.flatMap(earliestKept, (lostToMs) =>
        Effect.fail(
          new StreamGap({
            ...dated({ streamArn, shardId, cause: "trimmed" as const, reason: error.message }),
            ...(lostToMs === undefined ? {} : { lostToMs })
          })
        ))
    }

    const start = (): IteratorStart =>
      position === undefined
        ? { type: "TRIM_HORIZON" }
        : { type: "AFTER_SEQUENCE_NUMBER", sequenceNumber: position.sequenceNumber }

    /**
     * A trimmed or vanished shard is a gap, unless nothing of it was owed yet: nothing read, no position to resume
     * from, and no parent read here. Then it starts again from its trim horizon (trimmed), or is done (gone).
     */
    const lost = (error: StreamSourceError): Effect.Effect<"again" | "done", Capture.CaptureError> =>
      position === undefined && !readOnce && !fromItsStart && freshRestarts++ < MAX_FRESH_RESTARTS
        ? Effect.succeed(error._tag === "NotFound" ? "done" as const : "again" as const)
        : gap(error)

    /** An iterator from the position; undefined when the shard is done. */
    const newIterator: Effect.Effect<string | undefined, Capture.CaptureError> = Effect.suspend(() =>
      retrying(settings, source.getShardIterator({ streamArn, shardId, start: start() })).pipe(
        Effect.catchTags({
          TrimmedData: (error) =>
            Effect.flatMap(lost(error), (then) => then === "done" ? Effect.succeed(undefined) : newIterator),
          NotFound: (error) =>
            Effect.flatMap(lost(error), (then) => then === "done" ? Effect.succeed(undefined) : newIterator),
          ExpiredIterator: (error) =>
            Effect.fail(new Unavailable({ action: "dynamodb:GetShardIterator", reason: `unexpected ${error.message}` }))
        })
      )
    )

    const call = (iterator: string): Effect.Effect<RecordsPage, StreamSourceError | InvalidAttributeValue> =>
      source.getRecords({ iterator, limit: settings.recordsPerCall }).pipe(
        Effect.tap((page) => Metric.increment(page.records.length > 0 ? readers.calls.records : readers.calls.empty)),
        Effect.tapError(() => Metric.increment(readers.calls.error))
      )

    /** One page, handed downstream; the next iterator, or none at the shard's end. */
    const step = (iterator: string): Effect.Effect<string | undefined | "expired", Capture.CaptureError> =>
      Effect.flatMap(Clock.currentTimeMillis, (askedAt) =>
        retrying(settings, call(iterator)).pipe(
          Effect.flatMap((page) => {
            readOnce = true
            lastCount = page.records.length
            if (page.records.length === 0) {
              return page.nextIterator === undefined
                ? Effect.succeed(undefined)
                : Effect.as(readers.atTip(shardId, askedAt), page.nextIterator)
            }
            const events = readers.toEvents(shardId, page.records)
            const last = page.records[page.records.length - 1]!
            const next: ShardPosition = {
              sequenceNumber: last.sequenceNumber,
              approximateCreationTimeMs: last.approximateCreationTimeMs
            }
            return output.offer({ _tag: "Batch", shardId, events, position: next }).pipe(
              Effect.zipRight(Metric.incrementBy(readers.recordsRead, page.records.length)),
              Effect.map(() => {
                position = next
                readers.latest.set(shardId, next)
                return page.nextIterator
              })
            )
          }),
          Effect.catchTags({
            ExpiredIterator: () => Effect.succeed("expired" as const),
            TrimmedData: (error) => Effect.map(lost(error), (then) => then === "done" ? undefined : "expired" as const),
            NotFound: (error) => Effect.map(lost(error), (then) => then === "done" ? undefined : "expired" as const)
          })
        ))

    let lastCount = 0
    let iterator: string | undefined = yield* permits.withPermits(1)(newIterator)
    let idle = settings.idleMin
    while (iterator !== undefined) {
      const before = position
      const next: string | undefined | "expired" = yield* permits.withPermits(1)(step(iterator))
      if (next === "expired") {
        iterator = yield* permits.withPermits(1)(newIterator)
        continue
      }
      iterator = next
      if (iterator === undefined) break
      if (position !== before) {
        idle = settings.idleMin
        // A page short of the limit reached the shard's tip: wait before the next call rather than poll it hot
        // (AWS allows five GetRecords calls a second per shard).
        if (lastCount < settings.recordsPerCall) yield* Effect.sleep(settings.idleMin)
      } else {
        yield* Effect.sleep(idle)
        idle = Duration.min(Duration.times(idle, 2), settings.idleMax)
      }
    }
    yield* output.offer({ _tag: "ShardFinished", shardId })
  })
