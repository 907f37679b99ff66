/**
 * A `CheckpointStore` kept inside a transactional sink: the sink commits each checkpoint in the transaction of the
 * data it covers (exactly-once), so `save` has nothing left to do and `load` reads the sink's. A non-transactional
 * sink cannot hold checkpoints: use a file or an S3 object.
 *
 * @module
 */
import { Effect, Layer } from "effect"
import { CheckpointStore } from "./CheckpointStore.ts"
import { CheckpointStoreFailure } from "./Errors.ts"
import { Sink } from "./Sink.ts"

/** The checkpoint store of the sink in context; fails at construction if the sink is not transactional. */
export const make: Effect.Effect<CheckpointStore["Type"], CheckpointStoreFailure, Sink> = Effect.gen(function* () {
  const sink = yield* Sink
  const description = `in ${sink.description}`
  if (!sink.transactional) {
    return yield* new CheckpointStoreFailure({
      store: description,
      reason: "this sink does not commit checkpoints with its data; choose a checkpoint file or S3 object"
    })
  }
  return CheckpointStore.of({
    description,
    load: sink.loadCheckpoint.pipe(
      Effect.mapError((failure) => new CheckpointStoreFailure({ store: description, reason: failure.reason }))
    ),
    save: () => Effect.void
  })
})

/** {@link make} as a layer. */
export const layer: Layer.Layer<CheckpointStore, CheckpointStoreFailure, Sink> = Layer.effect(CheckpointStore, make)
