/**
 * How far change capture got in one stream: for every shard it has started and not finished, the last record it
 * handed downstream (its position), and the shards it has read to their end. It is what a checkpoint of the capture
 * holds; {@link Capture.stream} resumes from one, and every element it emits is a change of it, applied with
 * {@link apply}. Pure values and functions; {@link schema} gives its JSON form.
 *
 * @example
 * let state = CaptureState.empty
 * // for each element of Capture.stream({ streamArn, state }):
 * state = CaptureState.apply(state, element)
 * // save Schema.encodeSync(CaptureState.schema)(state) with the data it covers
 *
 * @module
 */
import { Schema } from "effect"
import type { Element } from "./Capture.ts"
import * as SequenceNumber from "./SequenceNumber.ts"

/** The last record of a shard handed downstream: its sequence number and its `ApproximateCreationDateTime`. */
export interface ShardPosition {
  readonly sequenceNumber: SequenceNumber.SequenceNumber
  /** In ms since the epoch; it dates what a gap would lose. */
  readonly approximateCreationTimeMs: number
}

/** The positions of the shards being read, and the shards read to their end. A shard is in one of them at most. */
export interface CaptureState {
  readonly positions: ReadonlyMap<string, ShardPosition>
  readonly finished: ReadonlySet<string>
}

/** Nothing read yet: capture starts every shard at its trim horizon. */
export const empty: CaptureState = { positions: new Map(), finished: new Set() }

/** True when nothing has been read. */
export const isEmpty = (state: CaptureState): boolean => state.positions.size === 0 && state.finished.size === 0

/**
 * Records that `position` of `shardId` was handed downstream. A position never moves back (an older one is ignored),
 * and a finished shard stays finished.
 */
export const advance = (state: CaptureState, shardId: string, position: ShardPosition): CaptureState => {
  if (state.finished.has(shardId)) return state
  const current = state.positions.get(shardId)
  if (current !== undefined && SequenceNumber.compare(current.sequenceNumber, position.sequenceNumber) >= 0) {
    return state
  }
  const positions = new Map(state.positions)
  positions.set(shardId, position)
  return { positions, finished: state.finished }
}

/** Records that `shardId` was read to its end: its position is no longer needed. */
export const finish = (state: CaptureState, shardId: string): CaptureState => {
  if (state.finished.has(shardId)) return state
  const positions = new Map(state.positions)
  positions.delete(shardId)
  const finished = new Set(state.finished)
  finished.add(shardId)
  return { positions, finished }
}

/** Forgets finished shards (those given that are not finished are kept: forgetting them would lose their place). */
export const forget = (state: CaptureState, shardIds: Iterable<string>): CaptureState => {
  let finished: Set<string> | undefined
  for (const shardId of shardIds) {
    if (!state.finished.has(shardId)) continue
    finished ??= new Set(state.finished)
    finished.delete(shardId)
  }
  return finished === undefined ? state : { positions: state.positions, finished }
}

/**
 * Forgets the finished shards that are no longer in the stream (`inStream`: the shard ids DescribeStream lists). They
 * cannot be read again, and their children are read once their parent is gone, so remembering them is not needed.
 */
export const prune = (state: CaptureState, inStream: ReadonlySet<string>): CaptureState =>
  forget(state, [...state.finished].filter((shardId) => !inStream.has(shardId)))

/** Applies one element of {@link Capture.stream} (a `CaughtUp` changes nothing). */
export const apply = (state: CaptureState, element: Element): CaptureState => {
  switch (element._tag) {
    case "Batch":
      return advance(state, element.shardId, element.position)
    case "ShardFinished":
      return finish(state, element.shardId)
    case "ShardsGone":
      return forget(state, element.shardIds)
    case "CaughtUp":
      return state
  }
}

/** Two states hold the same positions and finished shards. */
export const equals = (a: CaptureState, b: CaptureState): boolean => {
  if (a.positions.size !== b.positions.size || a.finished.size !== b.finished.size) return false
  for (const [shardId, position] of a.positions) {
    const other = b.positions.get(shardId)
    if (other === undefined || SequenceNumber.compare(other.sequenceNumber, position.sequenceNumber) !== 0) return false
  }
  for (const shardId of a.finished) if (!b.finished.has(shardId)) return false
  return true
}

const SequenceNumberSchema = Schema.String.pipe(
  Schema.filter((text) => SequenceNumber.isSequenceNumber(text) || "a sequence number: 21 or more decimal digits")
)

const ShardPositionSchema = Schema.Struct({
  sequenceNumber: SequenceNumberSchema,
  approximateCreationTimeMs: Schema.Number.pipe(Schema.finite())
})

const ShardId = Schema.String.pipe(Schema.minLength(1))

/** The JSON form of a {@link CaptureState}. */
export interface Encoded {
  readonly positions: { readonly [shardId: string]: { sequenceNumber: string; approximateCreationTimeMs: number } }
  readonly finished: ReadonlyArray<string>
}

/**
 * The schema of a {@link CaptureState} and its JSON form:
 * `{"positions": {"<shard id>": {"sequenceNumber": "…", "approximateCreationTimeMs": 1768385930000}},
 * "finished": ["<shard id>", …]}`. Decoding rejects a shard both positioned and finished.
 */
export const schema: Schema.Schema<CaptureState, Encoded> = Schema.Struct({
  positions: Schema.ReadonlyMapFromRecord({ key: ShardId, value: ShardPositionSchema }),
  finished: Schema.ReadonlySet(ShardId)
}).pipe(
  Schema.filter((state) =>
    [...state.finished].every((shardId) => !state.positions.has(shardId))
    || "a shard cannot be both positioned and finished"
  )
) as Schema.Schema<CaptureState, Encoded>
