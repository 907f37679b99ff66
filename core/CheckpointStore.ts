/**
 * The `CheckpointStore` port: where the engine saves its {@link Checkpoint}. Adapters: a local file (write, fsync,
 * rename), an S3 object written with `If-Match` on its ETag (so that a second engine cannot silently advance it), and
 * a transactional sink, which commits the checkpoint with the data it covers.
 *
 * @module
 */
import { Context, type Effect, type Option } from "effect"
import type { Checkpoint } from "./Checkpoint.ts"
import type { CheckpointConflict, CheckpointInvalid, CheckpointStoreFailure } from "./Errors.ts"

/** Errors of the {@link CheckpointStore} port. */
export type CheckpointStoreError = CheckpointInvalid | CheckpointStoreFailure | CheckpointConflict

/** Saves and loads the engine's position. */
export class CheckpointStore extends Context.Tag("backstream/CheckpointStore")<CheckpointStore, {
  /** What it is, for messages: `file:/var/lib/backstream/orders.json`, `s3://bucket/key`, `postgres table …`. */
  readonly description: string
  /** The saved checkpoint, if any. A damaged one is `CheckpointInvalid`, never ignored. */
  readonly load: Effect.Effect<Option.Option<Checkpoint>, CheckpointStoreError>
  /**
   * Saves a checkpoint durably. Fails with `CheckpointConflict` when another writer saved one since this store last
   * loaded or saved (then the engine stops: two engines on one stream would each skip the other's changes).
   */
  readonly save: (checkpoint: Checkpoint) => Effect.Effect<void, CheckpointStoreError>
}>() {}
