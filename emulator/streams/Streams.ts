/**
 * DynamoDB Streams in the emulator: the streams of every table, fed by the table side (`append` on every change) and
 * read through the four operations of the API (`operations`), plus faults for tests (`expireIterators`, `trimNow`,
 * `splitShard`). A table keeps its old streams: disabling one closes its shards, and it stays readable for the
 * retention period, listed by ListStreams until its last shard is gone.
 */
import { Clock, Effect, Option } from "effect"
import type * as AwsError from "../AwsError.ts"
import type { Operations } from "../Emulator.ts"
import type { EmulatorClock } from "../EmulatorClock.ts"
import type { EmulatorConfig } from "../EmulatorConfig.ts"
import { IteratorSigner, type Position } from "./ShardIterator.ts"
import { type Shard, Stream, type StreamTable } from "./Stream.ts"
import * as StreamRecord from "./StreamRecord.ts"
import * as StreamsErrors from "./StreamsErrors.ts"
import * as StreamsOperations from "./StreamsOperations.ts"

export type { StreamTable } from "./Stream.ts"
export type { Change, ViewType } from "./StreamRecord.ts"

/** A table's stream as DescribeTable shows it (`LatestStreamArn`, `LatestStreamLabel`, `StreamViewType`). */
export interface StreamInfo {
  readonly arn: string
  readonly label: string
  readonly viewType: StreamRecord.ViewType
}

const info = (stream: Stream): StreamInfo => ({ arn: stream.arn, label: stream.label, viewType: stream.viewType })

export class Streams {
  /** The JSON 1.0 operations: ListStreams, DescribeStream, GetShardIterator, GetRecords. */
  readonly operations: Operations
  private readonly byArn = new Map<string, Stream>()
  private readonly enabled = new Map<string, Stream>()
  private signer = new IteratorSigner()
  private issued = 0
  private expiredBelow = 0

  constructor(readonly config: EmulatorConfig, private readonly clock: EmulatorClock) {
    this.operations = StreamsOperations.make(this)
  }

  /**
   * Enables a new stream on a table (disabling the one it has, if any): a new label (its creation time, as AWS writes
   * it: `2026-01-14T10:18:50.622`) and ARN (`<table arn>/stream/<label>`). Throws on an unknown view type.
   */
  enable(table: StreamTable, viewType: string): StreamInfo {
    if (!StreamRecord.isViewType(viewType)) throw new Error(`unknown StreamViewType ${viewType}`)
    this.disable(table.name)
    const now = this.clock.unsafeCurrentTimeMillis()
    let labelMs = now, label: string, arn: string
    do {
      label = new Date(labelMs++).toISOString().slice(0, 23)
      arn = `${table.arn}/stream/${label}`
    } while (this.byArn.has(arn))
    const stream = new Stream(table, viewType, label, arn, now, this.config)
    this.byArn.set(arn, stream)
    this.enabled.set(table.name, stream)
    return info(stream)
  }

  /** Disables a table's stream, if it has one: its shards close, its records stay readable until trimmed. */
  disable(tableName: string): void {
    const stream = this.enabled.get(tableName)
    if (stream === undefined) return
    stream.catchUp(this.clock.unsafeCurrentTimeMillis())
    stream.disable()
    this.enabled.delete(tableName)
  }

  /** The table's enabled stream. */
  current(tableName: string): StreamInfo | undefined {
    const stream = this.enabled.get(tableName)
    return stream === undefined ? undefined : info(stream)
  }

  /** Records one change of one item in the table's enabled stream (nothing when it has none). */
  append(tableName: string, change: StreamRecord.Change): void {
    const stream = this.enabled.get(tableName)
    if (stream === undefined) return
    stream.catchUp(this.clock.unsafeCurrentTimeMillis())
    stream.append(change)
  }

  /**
   * Splits an open shard of a stream into two children (by default the open shard holding the most records), as AWS
   * does under load. Returns the children's ids.
   */
  splitShard(streamArn: string, shardId?: string): Effect.Effect<ReadonlyArray<string>, AwsError.AwsError> {
    return Effect.flatMap(Clock.currentTimeMillis, (now) => {
      const stream = this.stream(streamArn, now)
      if (stream === undefined) return Effect.fail(StreamsErrors.streamNotFound(streamArn))
      const shard = shardId === undefined
        ? stream.openShards.reduce<Shard | undefined>(
          (most, s) => most === undefined || s.records.length > most.records.length ? s : most,
          undefined
        )
        : stream.shard(shardId)
      if (shard === undefined) return Effect.fail(StreamsErrors.shardNotFound())
      const children = stream.split(shard)
      return children === undefined
        ? Effect.fail(StreamsErrors.constraint("shardId", shard.id, "be an open shard that can split"))
        : Effect.succeed(children.map((child) => child.id))
    })
  }

  /** Fault: every iterator issued so far is expired. */
  expireIterators(): void {
    this.expiredBelow = this.issued
  }

  /** Fault: trims every record written up to now, in every stream. */
  trimNow(): void {
    const now = this.clock.unsafeCurrentTimeMillis()
    for (const stream of this.byArn.values()) stream.trim(stream.catchUp(now) + 1)
  }

  /** Forgets every stream; iterators issued before no longer verify. */
  reset(): void {
    this.byArn.clear()
    this.enabled.clear()
    this.signer = new IteratorSigner()
    this.expiredBelow = this.issued
  }

  /** A stream brought up to `now`, unless it is unknown or gone. */
  stream(arn: string, now: number): Stream | undefined {
    const stream = this.byArn.get(arn)
    if (stream === undefined) return undefined
    stream.catchUp(now)
    if (!stream.gone) return stream
    this.byArn.delete(arn)
    return undefined
  }

  /** Every stream still listed, brought up to `now`, by ARN. */
  streams(now: number): ReadonlyArray<Stream> {
    return [...this.byArn.keys()].sort().flatMap((arn) => this.stream(arn, now) ?? [])
  }

  issueIterator(stream: Stream, shard: Shard, from: bigint, now: number): Effect.Effect<string> {
    return this.signer.encode({ streamArn: stream.arn, shardId: shard.id, from, issuedMs: now, serial: this.issued++ })
  }

  /** The shard an iterator of this emulator reads (expired or not), or `undefined` for a foreign one. */
  shardOfIterator(token: string): Effect.Effect<string | undefined> {
    return Effect.map(this.signer.decode(token), Option.match({ onNone: () => undefined, onSome: (p) => p.shardId }))
  }

  /** The position of an iterator, or ValidationException (not ours) or ExpiredIteratorException. */
  resolveIterator(token: string, now: number): Effect.Effect<Position, AwsError.AwsError> {
    return Effect.flatMap(this.signer.decode(token), (position) => {
      if (Option.isNone(position)) return Effect.fail(StreamsErrors.invalidIterator())
      const { issuedMs, serial } = position.value
      return serial < this.expiredBelow || now - issuedMs > this.config.iteratorTtlMs
        ? Effect.fail(StreamsErrors.expired(issuedMs, now, this.config.iteratorTtlMs))
        : Effect.succeed(position.value)
    })
  }

  /** Every stream (enabled, disabled, not yet gone) and each table's enabled one, by ARN, for persistence. */
  snapshot(): {
    readonly streams: ReadonlyArray<Stream>
    readonly enabled: ReadonlyArray<readonly [string, string]>
    readonly iteratorSecret: Uint8Array<ArrayBuffer>
  } {
    return {
      streams: [...this.byArn.values()],
      enabled: [...this.enabled].map(([tableName, stream]) => [tableName, stream.arn] as const),
      iteratorSecret: this.signer.secret
    }
  }

  /**
   * Replaces every stream with restored ones; `enabled` names each table's enabled stream by ARN. With the saved
   * `iteratorSecret`, the iterators issued before the save still verify (and expire 15 minutes after their issue).
   */
  restore(
    streams: ReadonlyArray<Stream>,
    enabled: ReadonlyArray<readonly [string, string]>,
    iteratorSecret?: Uint8Array<ArrayBuffer>
  ): void {
    if (iteratorSecret !== undefined) this.signer = new IteratorSigner(iteratorSecret)
    this.byArn.clear()
    this.enabled.clear()
    for (const stream of streams) this.byArn.set(stream.arn, stream)
    for (const [tableName, arn] of enabled) {
      const stream = this.byArn.get(arn)
      if (stream !== undefined) this.enabled.set(tableName, stream)
    }
  }
}
