/**
 * The engine's position, saved so that a restart neither loses nor repeats a change: which table and stream it
 * replicates, how far the backfill got, and how far the stream was applied (a {@link CaptureState}). A checkpoint
 * names its table and stream: loading one that belongs to another stream is an error, not a silent restart.
 *
 * @module
 */
import { Schema } from "effect"
import * as CaptureState from "./CaptureState.ts"

/** How far the backfill got. */
export type Backfill =
  /** No backfill: the stream alone (`--backfill never`), or not started yet. */
  | { readonly _tag: "None" }
  /** Waiting for or loading an export: the data files fully applied, in manifest order, and the lines of the next one. */
  | {
    readonly _tag: "Loading"
    readonly exportArn: string
    readonly exportTimeMs: number
    readonly filesDone: number
    readonly linesDone: number
  }
  /** The export is fully applied. */
  | { readonly _tag: "Done"; readonly exportArn: string; readonly exportTimeMs: number }

/** The engine's position. */
export interface Checkpoint {
  readonly tableArn: string
  readonly streamArn: string
  readonly backfill: Backfill
  /** The stream records applied to the sink. */
  readonly capture: CaptureState.CaptureState
  /** When it was written, in ms since the epoch. */
  readonly savedAtMs: number
}

/** A fresh checkpoint: nothing applied. */
export const initial = (tableArn: string, streamArn: string, backfill: Backfill = { _tag: "None" }): Checkpoint => ({
  tableArn,
  streamArn,
  backfill,
  capture: CaptureState.empty,
  savedAtMs: 0
})

const Arn = Schema.String.pipe(Schema.startsWith("arn:"))
const Count = Schema.Number.pipe(Schema.int(), Schema.nonNegative())
const TimeMs = Schema.Number.pipe(Schema.finite())

const BackfillSchema = Schema.Union(
  Schema.TaggedStruct("None", {}),
  Schema.TaggedStruct("Loading", {
    exportArn: Arn,
    exportTimeMs: TimeMs,
    filesDone: Count,
    linesDone: Count
  }),
  Schema.TaggedStruct("Done", { exportArn: Arn, exportTimeMs: TimeMs })
)

/** The JSON form of a checkpoint (`version` 1). */
export const schema = Schema.Struct({
  version: Schema.Literal(1),
  tableArn: Arn,
  streamArn: Arn,
  backfill: BackfillSchema,
  capture: CaptureState.schema,
  savedAtMs: TimeMs
})

const byShardId = (a: string, b: string): number => a < b ? -1 : a > b ? 1 : 0

/**
 * A checkpoint as JSON text. Its shards are listed by shard id (positions and finished shards alike), whatever the
 * order of the maps in memory, so that equal checkpoints give the same text.
 */
export const encode = (checkpoint: Checkpoint): string => {
  const { finished, positions } = checkpoint.capture
  const capture: CaptureState.CaptureState = {
    positions: new Map([...positions].sort(([a], [b]) => byShardId(a, b))),
    finished: new Set([...finished].sort(byShardId))
  }
  return JSON.stringify(Schema.encodeSync(schema)({ version: 1, ...checkpoint, capture }))
}

/**
 * A checkpoint from JSON text, its shards in any order (a database's `jsonb` keeps an object's keys in its own
 * order); the message of a failure says what is wrong, with its path.
 */
export const decode = (text: string) => Schema.decodeUnknownEither(Schema.parseJson(schema))(text)
