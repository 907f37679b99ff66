/**
 * One stream of one table: its shards, their lineage (roll-overs and splits), their records and sequence numbers, and
 * trimming. Time only moves forward here: callers bring the stream to the current time with `catchUp` first, and
 * what happened in between (roll-overs every `shardRolloverMs`, trimming after `retentionMs`) is replayed then, so a
 * virtual clock that jumps a day sees exactly what a day of real time would have produced.
 *
 * Routing: every shard holds a range of the 32-bit hash space; an item's changes go to the open shard whose range
 * holds the hash of its routing key. A roll-over hands the range to one child, a split halves it between two, so one
 * item's records are in one shard at a time, and in order across its lineage.
 *
 * Sequence numbers increase across the whole stream, with gaps: `hour × 10^20 + counter`, where `hour` counts from 1
 * the hours since the stream was created. They start at 21 digits and grow a digit after 9 hours, as AWS's vary in
 * length: a consumer that compares them as strings, or as JavaScript numbers, fails here as it would on AWS.
 */
import * as ItemKey from "../../core/ItemKey.ts"
import type { EmulatorConfig } from "../EmulatorConfig.ts"
import * as StreamRecord from "./StreamRecord.ts"

export interface KeySchemaElement {
  readonly AttributeName: string
  readonly KeyType: string
}

/** What a stream needs of its table. */
export interface StreamTable {
  readonly name: string
  readonly arn: string
  readonly keySchema: ReadonlyArray<KeySchemaElement>
}

export interface StoredRecord {
  readonly sequenceNumber: bigint
  readonly timeMs: number
  readonly wire: StreamRecord.Wire
  /** Its size in a GetRecords response, for the 1 MB cap: measured when first read. */
  bytes?: number
}

export interface Shard {
  readonly id: string
  readonly parentId: string | undefined
  /** The routing hashes it holds, both ends included. */
  readonly low: number
  readonly high: number
  readonly openedMs: number
  readonly start: bigint
  end: bigint | undefined
  closedMs: number | undefined
  /** The records not trimmed yet, in order. */
  readonly records: Array<StoredRecord>
  appended: number
  last: bigint | undefined
  /** The sequence number of the last trimmed record. */
  trimmedThrough: bigint | undefined
}

export interface Read {
  readonly records: ReadonlyArray<StoredRecord>
  /** Where the next read starts. */
  readonly next: bigint
  /** The shard is closed and nothing is left after these records. */
  readonly exhausted: boolean
}

const HOUR_MS = 3_600_000
const LOW_DIGITS = 10n ** 20n
const HASH_SPACE = 2 ** 32
const encoder = new TextEncoder()

const randomUint32 = (): number => crypto.getRandomValues(new Uint32Array(1))[0]!

/** FNV-1a spread by murmur3's finalizer, so that similar keys fall evenly into hash ranges. */
export const routingHash = (routingKey: string): number => {
  let h = ItemKey.hash(routingKey)
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

const lowerBound = (records: ReadonlyArray<StoredRecord>, from: bigint): number => {
  let lo = 0, hi = records.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (records[mid]!.sequenceNumber < from) lo = mid + 1
    else hi = mid
  }
  return lo
}

export class Stream {
  status: "ENABLED" | "DISABLED" = "ENABLED"
  private all: Array<Shard> = []
  private open: Array<Shard> = []
  private counter = 0n
  private hour = 1n
  private lastShardId = ""
  private nowMs: number

  constructor(
    readonly table: StreamTable,
    readonly viewType: StreamRecord.ViewType,
    readonly label: string,
    readonly arn: string,
    readonly createdMs: number,
    private readonly config: EmulatorConfig
  ) {
    this.nowMs = createdMs
    const count = Math.max(1, Math.floor(config.shardsPerStream))
    for (let i = 0; i < count; i++) {
      const low = Math.floor((i * HASH_SPACE) / count), high = Math.floor(((i + 1) * HASH_SPACE) / count) - 1
      this.openShard(undefined, low, high, createdMs)
    }
  }

  /** The shards still described, oldest first (their ids ascend). */
  get shards(): ReadonlyArray<Shard> {
    return this.all
  }

  get openShards(): ReadonlyArray<Shard> {
    return this.open
  }

  /** A disabled stream whose shards are all gone is gone too. */
  get gone(): boolean {
    return this.status === "DISABLED" && this.all.length === 0
  }

  shard(id: string): Shard | undefined {
    return this.all.find((shard) => shard.id === id)
  }

  /** Replays what happened up to `nowMs` (roll-overs, trimming) and returns the stream's time. */
  catchUp(nowMs: number): number {
    this.nowMs = Math.max(this.nowMs, nowMs)
    this.rollOver()
    this.trim(this.nowMs - this.config.retentionMs)
    return this.nowMs
  }

  /** Records one change, in the shard of its routing key; splits the shard when it is full. */
  append(change: StreamRecord.Change): void {
    if (this.status !== "ENABLED") return
    const hash = routingHash(change.routingKey)
    const shard = this.open.find((s) => s.low <= hash && hash <= s.high)!
    const sequenceNumber = this.nextSequenceNumber()
    const wire = StreamRecord.make(change, {
      viewType: this.viewType,
      sequenceNumber,
      timeMs: this.nowMs,
      region: this.config.region
    })
    shard.records.push({ sequenceNumber, timeMs: this.nowMs, wire })
    shard.last = sequenceNumber
    shard.appended++
    if (this.config.splitAfterRecords > 0 && shard.appended >= this.config.splitAfterRecords) this.split(shard)
  }

  /** Closes an open shard and opens two children that share its keys; undefined when it cannot split. */
  split(shard: Shard): readonly [Shard, Shard] | undefined {
    if (shard.end !== undefined || shard.low === shard.high) return undefined
    this.close(shard, this.nowMs)
    const middle = shard.low + Math.floor((shard.high - shard.low) / 2)
    return [
      this.openShard(shard.id, shard.low, middle, this.nowMs),
      this.openShard(shard.id, middle + 1, shard.high, this.nowMs)
    ]
  }

  disable(): void {
    for (const shard of [...this.open]) this.close(shard, this.nowMs)
    this.status = "DISABLED"
  }

  /** Trims every record written before `cutoffMs`, and drops closed shards emptied more than a retention ago. */
  trim(cutoffMs: number): void {
    for (const shard of this.all) {
      let count = 0
      while (count < shard.records.length && shard.records[count]!.timeMs < cutoffMs) count++
      if (count > 0) {
        shard.trimmedThrough = shard.records[count - 1]!.sequenceNumber
        shard.records.splice(0, count)
      }
    }
    const closedBefore = this.nowMs - this.config.retentionMs
    const gone = (s: Shard) => s.closedMs !== undefined && s.closedMs < closedBefore && s.records.length === 0
    if (this.all.some(gone)) this.all = this.all.filter((s) => !gone(s))
  }

  /** TRIM_HORIZON: the oldest record kept. */
  trimHorizon(shard: Shard): bigint {
    return shard.trimmedThrough === undefined ? shard.start : shard.trimmedThrough + 1n
  }

  /** LATEST: just after the newest record. */
  latest(shard: Shard): bigint {
    return (shard.end ?? shard.last ?? shard.start - 1n) + 1n
  }

  /** Whether a sequence number lies in the shard: from its start to its end (to its newest record while open). */
  holds(shard: Shard, sequenceNumber: bigint): boolean {
    return shard.start <= sequenceNumber && sequenceNumber <= (shard.end ?? shard.last ?? shard.start)
  }

  isTrimmed(shard: Shard, from: bigint): boolean {
    return shard.trimmedThrough !== undefined && from <= shard.trimmedThrough
  }

  /** Up to `limit` records from `from` on, at most `maxBytes` of them (but at least one). */
  read(shard: Shard, from: bigint, limit: number, maxBytes: number): Read {
    const records: Array<StoredRecord> = []
    let index = lowerBound(shard.records, from), bytes = 0
    while (index < shard.records.length && records.length < limit) {
      const record = shard.records[index]!
      const size = record.bytes ??= encoder.encode(JSON.stringify(record.wire)).length
      if (records.length > 0 && bytes + size > maxBytes) break
      records.push(record)
      bytes += size
      index++
    }
    const next = records.length === 0 ? from : records[records.length - 1]!.sequenceNumber + 1n
    return { records, next, exhausted: shard.end !== undefined && index >= shard.records.length }
  }

  private rollOver(): void {
    const every = this.config.shardRolloverMs
    if (this.status !== "ENABLED" || !(every > 0)) return
    for (;;) {
      let due: Shard | undefined
      for (const shard of this.open) {
        if (shard.openedMs + every <= this.nowMs && (due === undefined || shard.openedMs < due.openedMs)) due = shard
      }
      if (due === undefined) return
      const at = due.openedMs + every
      this.close(due, at)
      this.openShard(due.id, due.low, due.high, at)
    }
  }

  private close(shard: Shard, atMs: number): void {
    shard.end = shard.last ?? shard.start
    shard.closedMs = atMs
    this.open = this.open.filter((s) => s !== shard)
  }

  private openShard(parentId: string | undefined, low: number, high: number, atMs: number): Shard {
    const shard: Shard = {
      id: this.nextShardId(atMs),
      parentId,
      low,
      high,
      openedMs: atMs,
      start: this.nextSequenceNumber(),
      end: undefined,
      closedMs: undefined,
      records: [],
      appended: 0,
      last: undefined,
      trimmedThrough: undefined
    }
    this.all.push(shard)
    this.open.push(shard)
    return shard
  }

  private nextSequenceNumber(): bigint {
    const hour = 1n + BigInt(Math.max(0, Math.floor((this.nowMs - this.createdMs) / HOUR_MS)))
    if (hour > this.hour) this.hour = hour
    this.counter += BigInt(1 + Math.floor(Math.random() * 16))
    return this.hour * LOW_DIGITS + this.counter
  }

  /** `shardId-<20-digit ms>-<8 hex>`, ascending within the stream so that listing by id lists parents first. */
  private nextShardId(atMs: number): string {
    let stamp = atMs, suffix = randomUint32()
    for (;;) {
      const id = `shardId-${String(stamp).padStart(20, "0")}-${suffix.toString(16).padStart(8, "0")}`
      if (id > this.lastShardId) {
        this.lastShardId = id
        return id
      }
      const lastStamp = Number(this.lastShardId.slice(8, 28)), lastSuffix = parseInt(this.lastShardId.slice(29), 16)
      if (lastStamp > stamp) stamp = lastStamp
      else if (lastSuffix < 0xffff0000) suffix = lastSuffix + 1 + (randomUint32() % 0xffff)
      else stamp = lastStamp + 1
    }
  }

  /** Its mutable state, for persistence: the shards are shared, not copied, so read them before the next change. */
  snapshot(): StreamState {
    return {
      status: this.status,
      shards: this.all,
      counter: this.counter,
      hour: this.hour,
      lastShardId: this.lastShardId,
      nowMs: this.nowMs
    }
  }

  /** Takes over a saved state (its shards as they are); a shard is open while it has no end. */
  restore(state: StreamState): void {
    this.status = state.status
    this.all = [...state.shards]
    this.open = this.all.filter((shard) => shard.end === undefined)
    this.counter = state.counter
    this.hour = state.hour
    this.lastShardId = state.lastShardId
    this.nowMs = state.nowMs
  }
}

/** What changes in a stream after it is created: its shards with their records, and its counters. */
export interface StreamState {
  readonly status: "ENABLED" | "DISABLED"
  readonly shards: ReadonlyArray<Shard>
  readonly counter: bigint
  readonly hour: bigint
  readonly lastShardId: string
  readonly nowMs: number
}
