/**
 * The shard tree of one stream as capture sees it, and which shards may be read now: a shard is read once its parent
 * has been read to its end or is gone from the stream, never by two readers at once. Pure values; the capture's
 * coordinator keeps the current one.
 */
import type { CaptureState } from "../CaptureState.ts"

/** A shard as the last DescribeStream listed it. */
export interface ListedShard {
  readonly shardId: string
  readonly parentShardId?: string | undefined
  /** It has an `EndingSequenceNumber`. */
  readonly closed: boolean
}

export interface ShardLineage {
  /** The shards of the last listing, by id. */
  readonly listed: ReadonlyMap<string, ListedShard>
  /**
   * Shards capture must read to their end, with their parents: listed at some time, or positioned in the state it
   * resumed from (parent unknown).
   */
  readonly pending: ReadonlyMap<string, string | undefined>
  readonly finished: ReadonlySet<string>
  readonly reading: ReadonlySet<string>
  /** The stream is disabled: no shard will open again. */
  readonly disabled: boolean
}

/** What a new listing changed. */
export interface Listing {
  readonly lineage: ShardLineage
  /**
   * Shards that left the stream before capture finished them, and whose records it owed: it has read some of them,
   * or it read (or is reading) their parent. Their records are lost.
   */
  readonly vanished: ReadonlyArray<string>
  /** Finished shards that left the stream: forgotten. */
  readonly gone: ReadonlyArray<string>
}

/** The lineage of a capture resuming from `state`, before any listing. */
export const fromState = (state: CaptureState): ShardLineage => ({
  listed: new Map(),
  pending: new Map([...state.positions.keys()].map((shardId) => [shardId, undefined])),
  finished: new Set(state.finished),
  reading: new Set(),
  disabled: false
})

/**
 * Takes in a complete DescribeStream listing. `hasPosition` tells the shards of which something was handed
 * downstream.
 */
export const list = (
  lineage: ShardLineage,
  shards: Iterable<ListedShard>,
  disabled: boolean,
  hasPosition: (shardId: string) => boolean
): Listing => {
  const listed = new Map<string, ListedShard>()
  for (const shard of shards) listed.set(shard.shardId, shard)
  const owed = (shardId: string, parentShardId: string | undefined) =>
    hasPosition(shardId)
    || (parentShardId !== undefined && (lineage.finished.has(parentShardId) || lineage.pending.has(parentShardId)))
  const vanished: Array<string> = []
  const pending = new Map<string, string | undefined>()
  for (const [shardId, parentShardId] of lineage.pending) {
    if (listed.has(shardId)) pending.set(shardId, parentShardId)
    else if (owed(shardId, parentShardId)) vanished.push(shardId)
  }
  for (const shard of listed.values()) {
    if (!lineage.finished.has(shard.shardId)) pending.set(shard.shardId, shard.parentShardId)
  }
  const gone = [...lineage.finished].filter((shardId) => !listed.has(shardId)).sort()
  const finished = new Set(lineage.finished)
  for (const shardId of gone) finished.delete(shardId)
  return { lineage: { listed, pending, finished, reading: lineage.reading, disabled }, vanished: vanished.sort(), gone }
}

/** Whether a listed shard may be read now: not finished, not being read, its parent finished or gone. */
export const isReady = (lineage: ShardLineage, shard: ListedShard): boolean =>
  !lineage.finished.has(shard.shardId) && !lineage.reading.has(shard.shardId)
  && (shard.parentShardId === undefined || lineage.finished.has(shard.parentShardId)
    || !lineage.listed.has(shard.parentShardId))

/** The listed shards that may be read now, by id (oldest first). */
export const ready = (lineage: ShardLineage): ReadonlyArray<ListedShard> =>
  [...lineage.listed.values()].filter((shard) => isReady(lineage, shard)).sort((a, b) =>
    a.shardId < b.shardId ? -1 : a.shardId > b.shardId ? 1 : 0
  )

/** A reader took the shard. */
export const start = (lineage: ShardLineage, shardId: string): ShardLineage => {
  const reading = new Set(lineage.reading)
  reading.add(shardId)
  return { ...lineage, reading }
}

/** The shard was read to its end (GetRecords gave no next iterator). */
export const finish = (lineage: ShardLineage, shardId: string): ShardLineage => {
  const reading = new Set(lineage.reading)
  reading.delete(shardId)
  const pending = new Map(lineage.pending)
  pending.delete(shardId)
  const finished = new Set(lineage.finished)
  finished.add(shardId)
  return { ...lineage, reading, pending, finished }
}

/** The parent was finished by this capture or the state it resumed from: the shard must be read from its start. */
export const parentFinished = (lineage: ShardLineage, shard: ListedShard): boolean =>
  shard.parentShardId !== undefined && lineage.finished.has(shard.parentShardId)

/** Nothing is left to read: the stream is disabled and every listed shard is finished. */
export const isComplete = (lineage: ShardLineage): boolean =>
  lineage.disabled && lineage.reading.size === 0
  && [...lineage.listed.keys()].every((shardId) => lineage.finished.has(shardId))
