/**
 * Engine runs into a SQL database, watched: the checkpoint each run loaded, the batches each handed the sink, and,
 * matched against the database's log of checkpoints committed (support/ChangeLog.ts), which of those batches the
 * database committed.
 */
import { Layer, type Option } from "effect"
import type { SqlOptions } from "../../../adapters/sinks/SqlOptions.ts"
import type * as Checkpoint from "../../../core/Checkpoint.ts"
import type { Batch } from "../../../core/Sink.ts"
import * as SinkCheckpointStore from "../../../core/SinkCheckpointStore.ts"
import * as FeedChecks from "./FeedChecks.ts"
import * as Observed from "./Observed.ts"
import type { SqlDatabase } from "./SqlDatabase.ts"

export interface Recorded {
  /** Per run, the checkpoint it resumed from. */
  readonly loads: Array<Option.Option<Checkpoint.Checkpoint>>
  /** Every batch handed to the sink, with its run, in order. */
  readonly batches: Array<{ readonly run: number; readonly batch: Batch }>
}

export const make = (): Recorded => ({ loads: [], batches: [] })

/** A sink over `db` (a new one per run, as a restart makes) and the checkpoint store inside it, both watched. */
export const sqlPorts = (db: SqlDatabase, options: SqlOptions, recorded: Recorded) => {
  const sink = Observed.sinkWrites(
    db.sink(options),
    (batch) => recorded.batches.push({ run: recorded.loads.length - 1, batch })
  )
  return Observed.checkpointLoads(SinkCheckpointStore.layer, (loaded) => recorded.loads.push(loaded)).pipe(
    Layer.provideMerge(sink)
  )
}

const byText = (a: string, b: string) => a < b ? -1 : a > b ? 1 : 0

/**
 * A checkpoint as text, the same for equal checkpoints whatever order its shards were stored in: `jsonb` keeps an
 * object's keys in its own order (by length, then bytes), so a checkpoint read back from the database may list its
 * shard positions in another order than the engine's map (FeedChecks.canonical keeps the map's order).
 */
export const canonical = (checkpoint: Checkpoint.Checkpoint): string =>
  FeedChecks.canonical({
    ...checkpoint,
    capture: {
      positions: new Map([...checkpoint.capture.positions].sort(([a], [b]) => byText(a, b))),
      finished: new Set([...checkpoint.capture.finished].sort(byText))
    }
  })

/**
 * The batches whose checkpoint the database committed: the log matched, in order, against the batches handed to the
 * sink (a batch handed over and never committed is skipped).
 */
export const committedBatches = (recorded: Recorded, log: ReadonlyArray<Checkpoint.Checkpoint>) => {
  const out: Array<{ readonly run: number; readonly batch: Batch }> = []
  const problems: Array<string> = []
  let next = 0
  for (const checkpoint of log) {
    const text = canonical(checkpoint)
    while (next < recorded.batches.length && canonical(recorded.batches[next]!.batch.checkpoint) !== text) {
      next++
    }
    if (next === recorded.batches.length) problems.push(`committed checkpoint ${text} was in no batch`)
    else out.push(recorded.batches[next++]!)
  }
  return { committed: out, problems }
}
