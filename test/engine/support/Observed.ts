/**
 * The real ports, watched: what a run loaded as its checkpoint, which batches it handed the sink, what it spooled. The
 * calls go to the real adapter unchanged; the observer only hears them.
 */
import { Effect, Layer, type Option } from "effect"
import type * as Capture from "../../../core/Capture.ts"
import type { Checkpoint } from "../../../core/Checkpoint.ts"
import { CheckpointStore } from "../../../core/CheckpointStore.ts"
import { type Batch, Sink } from "../../../core/Sink.ts"
import { Spool } from "../../../core/Spool.ts"

/** Hears every checkpoint the engine loads (at the start of a run). */
export const checkpointLoads = <E, R>(
  store: Layer.Layer<CheckpointStore, E, R>,
  onLoad: (loaded: Option.Option<Checkpoint>) => void
): Layer.Layer<CheckpointStore, E, R> =>
  Layer.effect(
    CheckpointStore,
    Effect.map(CheckpointStore, (real) =>
      CheckpointStore.of({
        ...real,
        load: Effect.tap(real.load, (loaded) => Effect.sync(() => onLoad(loaded)))
      }))
  ).pipe(Layer.provide(store))

/** Hears every batch the engine asks the sink to write, before the write (an effect it returns runs first). */
export const sinkWrites = <E, R>(
  sink: Layer.Layer<Sink, E, R>,
  onWrite: (batch: Batch) => unknown
): Layer.Layer<Sink, E, R> =>
  Layer.effect(
    Sink,
    Effect.map(Sink, (real) =>
      Sink.of({
        get description() {
          return real.description
        },
        transactional: real.transactional,
        open: real.open,
        loadCheckpoint: real.loadCheckpoint,
        ...(real.holdsItems === undefined ? {} : { holdsItems: real.holdsItems }),
        write: (batch) =>
          Effect.zipRight(
            Effect.suspend(() => {
              const heard = onWrite(batch)
              return Effect.isEffect(heard) ? Effect.asVoid(heard as Effect.Effect<unknown>) : Effect.void
            }),
            real.write(batch)
          )
      }))
  ).pipe(Layer.provide(sink))

/** Hears every element appended to the spool, once the append is durable. */
export const spoolAppends = <E, R>(
  spool: Layer.Layer<Spool, E, R>,
  onAppend: (elements: ReadonlyArray<Capture.Element>) => void
): Layer.Layer<Spool, E, R> =>
  Layer.effect(
    Spool,
    Effect.map(Spool, (real) =>
      Spool.of({
        ...real,
        append: (elements, state) =>
          Effect.tap(real.append(elements, state), () => Effect.sync(() => onAppend(elements)))
      }))
  ).pipe(Layer.provide(spool))
