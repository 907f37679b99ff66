/**
 * Change capture: every change of a DynamoDB stream as {@link ChangeEvent}s, in order per item, through the
 * {@link StreamSource} port.
 *
 * {@link stream} lists the stream's shards (DescribeStream, page by page) and lists them again now and then, to find
 * the children of closed shards. It reads a shard only once its parent has been read to its end (closed, and
 * GetRecords gave no next iterator) or is gone from the stream, so an item's changes come in the order they were
 * made, across splits and roll-overs; unrelated shards are read concurrently, never one shard by two readers.
 *
 * The output carries its own checkpoint: a {@link Batch} moves its shard's position, {@link ShardFinished} and
 * {@link ShardsGone} change the set of finished shards. Apply them with {@link CaptureState.apply}, save the state
 * with the data, and resume from it with `options.state`: nothing is lost and nothing after the saved state is read
 * twice.
 *
 * Back-pressure: a consumer that pulls slowly slows the polling. At most `maxPollers` GetRecords calls are in flight,
 * and a page is handed downstream before its reader asks for the next one, so memory holds at most
 * `bufferedElements + maxPollers` pages, whatever the stream's length.
 *
 * Failures: throttling and unavailability are retried with jittered exponential back-off (`retry`), then the last
 * error fails the stream; an expired iterator is replaced from the last position; records that were trimmed before
 * they were read, or a shard that left the stream unread, fail it with {@link StreamGap}. Other errors fail it. One
 * loss it cannot see: a shard of which nothing was read before a stop longer than the stream's retention (24 hours)
 * is read from its trim horizon; a caller resuming an old checkpoint should compare its age with the retention.
 *
 * Time comes from Effect's `Clock` (idle polling, back-off, listing), so `TestClock` drives it.
 *
 * @example
 * import { Effect, Stream } from "effect"
 * import { Capture, CaptureState } from "backstream/core"
 *
 * const program = Capture.stream({ streamArn, state: saved }).pipe(
 *   Stream.runFoldEffect(saved, (state, element) =>
 *     Effect.as(element._tag === "Batch" ? sink.write(element.events) : Effect.void, CaptureState.apply(state, element)))
 * )
 *
 * @module
 */
import { Cause, Chunk, Duration, Effect, Exit, Mailbox, Metric, Option, Queue, Stream } from "effect"
import type { ChangeEvent } from "./ChangeEvent.ts"
import { isTtlIdentity } from "./ChangeEvent.ts"
import * as CaptureState from "./CaptureState.ts"
import { type InvalidAttributeValue, type ServiceError, StreamGap } from "./Errors.ts"
import * as ShardLineage from "./internal/ShardLineage.ts"
import * as ShardReader from "./internal/ShardReader.ts"
import { type StreamRecord, StreamSource } from "./StreamSource.ts"

/** A change event read from a stream: its `position` is a `StreamPosition`. */
export type Event = ChangeEvent

/** Records read from one shard, in order, and the position of the last one: the shard's new position. */
export interface Batch {
  readonly _tag: "Batch"
  readonly shardId: string
  /** Never empty. */
  readonly events: ReadonlyArray<Event>
  readonly position: CaptureState.ShardPosition
}

/** A shard was read to its end: it comes after the shard's last batch and before any batch of its children. */
export interface ShardFinished {
  readonly _tag: "ShardFinished"
  readonly shardId: string
}

/** Finished shards that are no longer in the stream: a checkpoint need not remember them. */
export interface ShardsGone {
  readonly _tag: "ShardsGone"
  readonly shardIds: ReadonlyArray<string>
}

/**
 * Every record written before `readToMs` (by the capture's `Clock`, in ms since the epoch) has been emitted: each
 * shard left to read was found at its end since then. Emitted when that time moves forward; it changes no state.
 */
export interface CaughtUp {
  readonly _tag: "CaughtUp"
  readonly readToMs: number
}

/** An element of {@link stream}: a change of the capture's state, with the events it covers, or a {@link CaughtUp}. */
export type Element = Batch | ShardFinished | ShardsGone | CaughtUp

/**
 * Why capture stops: a {@link StreamGap}; the service's error once retries are exhausted; or a record with an invalid
 * attribute value.
 */
export type CaptureError = StreamGap | ServiceError | InvalidAttributeValue

/** What {@link stream} reads and how. Only `streamArn` is required. */
export interface Options {
  /** The stream to read (`LatestStreamArn` of DescribeTable, or ListStreams). */
  readonly streamArn: string
  /** Where to resume; default: {@link CaptureState.empty}, every shard from its trim horizon. */
  readonly state?: CaptureState.CaptureState
  /** GetRecords calls in flight at most, across shards (default 16). A shard has one reader at most. */
  readonly maxPollers?: number
  /** GetRecords `Limit`, 1 to 1000 (default 1000). */
  readonly recordsPerCall?: number
  /** Elements waiting for the consumer at most (default 16). */
  readonly bufferedElements?: number
  /**
   * How long an open shard that gave no records waits before the next GetRecords: from `min`, doubling after each
   * empty answer up to `max`, back to `min` when records come (default 250 ms to 5 s). A page short of the limit
   * (the shard's tip) is also followed by a wait of `min`, so a trickle of writes does not keep a reader polling hot.
   */
  readonly idleDelay?: { readonly min?: Duration.DurationInput; readonly max?: Duration.DurationInput }
  /** How often the shards are listed again to find new ones (default 30 s); also after a shard is finished. */
  readonly discoveryInterval?: Duration.DurationInput
  /** DescribeStream `Limit`, 1 to 100 (default 100). */
  readonly shardsPerListing?: number
  /**
   * Back-off for throttling and unavailability: delays from `base`, doubling, jittered, capped at `max`, `retries`
   * times at most before the last error fails the stream (default 100 ms, 5 s, 10 retries).
   */
  readonly retry?: {
    readonly base?: Duration.DurationInput
    readonly max?: Duration.DurationInput
    readonly retries?: number
  }
}

/** GetRecords calls, tagged `stream` (its ARN) and `outcome`: `records`, `empty` (no records) or `error`. */
export const getRecordsCalls: Metric.Metric.Counter<number> = Metric.counter("backstream_capture_getrecords_calls", {
  description: "GetRecords calls made by change capture, by outcome: records, empty or error",
  incremental: true
})

/** Records read from the stream and handed downstream, tagged `stream`. */
export const recordsRead: Metric.Metric.Counter<number> = Metric.counter("backstream_capture_records", {
  description: "stream records read by change capture",
  incremental: true
})

/** The GetRecords counter of one stream and outcome, as {@link stream} updates it. */
export const getRecordsCallsOf = (
  streamArn: string,
  outcome: "records" | "empty" | "error"
): Metric.Metric.Counter<number> =>
  getRecordsCalls.pipe(Metric.tagged("stream", streamArn), Metric.tagged("outcome", outcome))

/** The records counter of one stream, as {@link stream} updates it. */
export const recordsReadOf = (streamArn: string): Metric.Metric.Counter<number> =>
  recordsRead.pipe(Metric.tagged("stream", streamArn))

/**
 * One stream record as a change event: INSERT is `c`, MODIFY `u`, REMOVE `d`; the key from the record's keys; the
 * time from `ApproximateCreationDateTime`; a delete by the TTL service is marked `ttl`.
 */
export const toChangeEvent = (streamArn: string, shardId: string, record: StreamRecord): Event => ({
  op: record.eventName === "INSERT" ? "c" : record.eventName === "MODIFY" ? "u" : "d",
  key: record.keys,
  ...(record.oldImage === undefined ? {} : { oldImage: record.oldImage }),
  ...(record.newImage === undefined ? {} : { newImage: record.newImage }),
  timestampMs: record.approximateCreationTimeMs,
  position: {
    _tag: "Stream",
    streamArn,
    shardId,
    sequenceNumber: record.sequenceNumber,
    approximateCreationTimeMs: record.approximateCreationTimeMs,
    ttl: isTtlIdentity(record.userIdentity)
  }
})

type Notice =
  | { readonly _tag: "List" }
  | { readonly _tag: "Finished"; readonly shardId: string }
  | { readonly _tag: "Tip"; readonly shardId: string; readonly atMs: number }
  | { readonly _tag: "Failed"; readonly cause: Cause.Cause<CaptureError> }

const positive = (name: string, value: number, max = Number.MAX_SAFE_INTEGER): number => {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new RangeError(`Capture option ${name} must be an integer from 1 to ${max}, got ${value}`)
  }
  return value
}

const settingsOf = (options: Options) => ({
  reader: {
    streamArn: options.streamArn,
    recordsPerCall: positive("recordsPerCall", options.recordsPerCall ?? 1000, 1000),
    idleMin: Duration.decode(options.idleDelay?.min ?? "250 millis"),
    idleMax: Duration.decode(options.idleDelay?.max ?? "5 seconds"),
    retryBase: Duration.decode(options.retry?.base ?? "100 millis"),
    retryMax: Duration.decode(options.retry?.max ?? "5 seconds"),
    retries: options.retry?.retries ?? 10
  } satisfies ShardReader.Settings,
  maxPollers: positive("maxPollers", options.maxPollers ?? 16),
  buffered: positive("bufferedElements", options.bufferedElements ?? 16),
  discoveryInterval: Duration.decode(options.discoveryInterval ?? "30 seconds"),
  shardsPerListing: positive("shardsPerListing", options.shardsPerListing ?? 100, 100)
})

/**
 * The changes of a stream from `options.state` on, with the changes of the capture's state (see the module's
 * documentation). It ends once the stream is disabled and every shard is read to its end; otherwise it follows the
 * stream until interrupted.
 */
export const stream = (options: Options): Stream.Stream<Element, CaptureError, StreamSource> =>
  Stream.unwrapScoped(Effect.gen(function* () {
    const source = yield* StreamSource
    const settings = settingsOf(options)
    const output = yield* Mailbox.make<Element, CaptureError>({ capacity: settings.buffered, strategy: "suspend" })
    yield* Effect.forkScoped(
      Effect.exit(coordinate(source, options.state ?? CaptureState.empty, settings, output)).pipe(
        Effect.flatMap((exit) => output.done(exit))
      )
    )
    return Mailbox.toStream(output)
  }))

const coordinate = (
  source: StreamSource["Type"],
  state: CaptureState.CaptureState,
  settings: ReturnType<typeof settingsOf>,
  output: Mailbox.Mailbox<Element, CaptureError>
): Effect.Effect<void, CaptureError> =>
  Effect.scoped(Effect.gen(function* () {
    const { streamArn } = settings.reader
    const notices = yield* Queue.unbounded<Notice>()
    const readers: ShardReader.Readers = {
      source,
      settings: settings.reader,
      permits: yield* Effect.makeSemaphore(settings.maxPollers),
      output,
      latest: new Map(),
      calls: {
        records: getRecordsCallsOf(streamArn, "records"),
        empty: getRecordsCallsOf(streamArn, "empty"),
        error: getRecordsCallsOf(streamArn, "error")
      },
      recordsRead: recordsReadOf(streamArn),
      toEvents: (shardId, records) => records.map((record) => toChangeEvent(streamArn, shardId, record)),
      atTip: (shardId, atMs) => notices.offer({ _tag: "Tip", shardId, atMs })
    }
    let lineage = ShardLineage.fromState(state)
    /** When each shard being read was last found at its end (the time its GetRecords was asked). */
    const tips = new Map<string, number>()
    let caughtUp = -Infinity

    /** The time before which everything was read: every shard left is being read and was at its end since. */
    const readTo = (): number | undefined => {
      let min = Infinity
      for (const shardId of lineage.pending.keys()) {
        const at = tips.get(shardId)
        if (at === undefined || !lineage.reading.has(shardId)) return undefined
        min = Math.min(min, at)
      }
      return min === Infinity ? undefined : min
    }

    const listing = Stream.paginateEffect(
      undefined as string | undefined,
      (exclusiveStartShardId) =>
        ShardReader.retrying(
          settings.reader,
          source.describeStream({
            streamArn,
            limit: settings.shardsPerListing,
            ...(exclusiveStartShardId === undefined ? {} : { exclusiveStartShardId })
          })
        ).pipe(
          Effect.map((page) => [page, Option.fromNullable(page.lastEvaluatedShardId)] as const),
          Effect.catchTags({ ExpiredIterator: ShardReader.unexpected, TrimmedData: ShardReader.unexpected })
        )
    ).pipe(
      Stream.runCollect,
      Effect.map((pages) => ({
        shards: Chunk.toReadonlyArray(pages).flatMap((page) =>
          page.shards.map((shard): ShardLineage.ListedShard => ({
            shardId: shard.shardId,
            parentShardId: shard.parentShardId,
            closed: shard.endingSequenceNumber !== undefined
          }))
        ),
        disabled: Chunk.last(pages).pipe(Option.exists((page) => page.status === "DISABLED"))
      }))
    )

    /** Takes in what readers reported; true when a listing is due. */
    const handle = (received: Iterable<Notice>): Effect.Effect<boolean, CaptureError> => {
      let list = false
      for (const notice of received) {
        if (notice._tag === "Failed") return Effect.failCause(notice.cause)
        if (notice._tag === "Tip") {
          tips.set(notice.shardId, Math.max(notice.atMs, tips.get(notice.shardId) ?? -Infinity))
          continue
        }
        if (notice._tag === "Finished") {
          lineage = ShardLineage.finish(lineage, notice.shardId)
          readers.latest.delete(notice.shardId)
          tips.delete(notice.shardId)
        }
        list = true
      }
      return Effect.succeed(list)
    }

    /** Never waits for the consumer: a CaughtUp it has no room for is dropped, a later one comes with the next tip. */
    const reportCaughtUp = Effect.sync(() => {
      const readToMs = readTo()
      if (readToMs !== undefined && readToMs > caughtUp && output.unsafeOffer({ _tag: "CaughtUp", readToMs })) {
        caughtUp = readToMs
      }
    })

    const startReaders = () =>
      Effect.forEach(ShardLineage.ready(lineage), (shard) => {
        const from = state.positions.get(shard.shardId)
        const fromItsStart = ShardLineage.parentFinished(lineage, shard)
        lineage = ShardLineage.start(lineage, shard.shardId)
        return Effect.forkScoped(
          ShardReader.read(readers, shard, from, fromItsStart).pipe(
            Effect.onExit((exit) =>
              Exit.isSuccess(exit)
                ? notices.offer({ _tag: "Finished", shardId: shard.shardId })
                : Cause.isInterruptedOnly(exit.cause)
                ? Effect.void
                : notices.offer({ _tag: "Failed", cause: exit.cause })
            )
          )
        )
      }, { discard: true })

    yield* Effect.forkScoped(Effect.forever(Effect.zipRight(
      Effect.sleep(settings.discoveryInterval),
      notices.offer({ _tag: "List" })
    )))

    let due = true
    for (;;) {
      if (due) {
        const { shards, disabled } = yield* listing
        yield* handle(yield* notices.takeAll)
        const listed = ShardLineage.list(
          lineage,
          shards,
          disabled,
          (shardId) => readers.latest.has(shardId) || state.positions.has(shardId)
        )
        lineage = listed.lineage
        const vanished = listed.vanished[0]
        if (vanished !== undefined) {
          const last = readers.latest.get(vanished) ?? state.positions.get(vanished)
          return yield* new StreamGap({
            streamArn,
            shardId: vanished,
            cause: "shardGone",
            ...(last === undefined ? {} : { lostFromMs: last.approximateCreationTimeMs }),
            reason: "the shard left the stream before capture read it to its end"
          })
        }
        if (listed.gone.length > 0) yield* output.offer({ _tag: "ShardsGone", shardIds: listed.gone })
        due = false
      }
      yield* startReaders()
      if (ShardLineage.isComplete(lineage)) return
      const first = yield* notices.take
      due = yield* handle([first, ...(yield* notices.takeAll)])
      yield* reportCaughtUp
    }
  }))
