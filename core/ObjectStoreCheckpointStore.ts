/**
 * The {@link CheckpointStore} port over one object of the {@link ObjectStore} port (an S3 object). Every save is
 * conditional: `If-Match` on the ETag this store last loaded or saved, or `If-None-Match: *` when it saw no object, so
 * a second engine saving into the same key makes the other's next save fail with {@link CheckpointConflict} instead
 * of silently taking turns. Only `s3:ListBucket`, `s3:GetObject` and `s3:PutObject` are used.
 *
 * @example
 * const layer = ObjectStoreCheckpointStore.layer({ key: "backstream/orders/checkpoint.json" })
 *   .pipe(Layer.provide(AwsObjectStore.layer({ bucket: "my-bucket" })))
 *
 * @module
 */
import { Effect, Either, Layer, Option } from "effect"
import * as Checkpoint from "./Checkpoint.ts"
import * as CheckpointCheck from "./CheckpointCheck.ts"
import { CheckpointStore } from "./CheckpointStore.ts"
import { CheckpointConflict, CheckpointStoreFailure, type ObjectStoreError } from "./Errors.ts"
import { ObjectStore, readText } from "./ObjectStore.ts"

/** Where the checkpoint is. */
export interface Options {
  /** The object's key. */
  readonly key: string
  /** What the store is called in messages (default `object <key>`); `s3://bucket/key` says it best. */
  readonly description?: string
}

/** What this store last saw of the object: its ETag, or none (`undefined`). */
type Seen =
  | { readonly _tag: "Seen"; readonly etag: string | undefined }
  /** A save whose outcome is unknown (the request failed on the way): the next save checks what the object holds. */
  | {
    readonly _tag: "Unsure"
    readonly etag: string | undefined
    readonly previous: string | undefined
    readonly attempted: string
  }

const encoder = new TextEncoder()

/** A checkpoint store over the `ObjectStore` in context. */
export const make = (options: Options): Effect.Effect<CheckpointStore["Type"], never, ObjectStore> =>
  Effect.gen(function* () {
    const store = yield* ObjectStore
    const { key } = options
    const description = options.description ?? `object ${key}`
    const lock = yield* Effect.makeSemaphore(1)
    let seen: Seen = { _tag: "Seen", etag: undefined }
    let lastText: string | undefined = undefined

    const failure = (what: string) => (error: ObjectStoreError) =>
      new CheckpointStoreFailure({ store: description, reason: `cannot ${what} it: ${error.message}`, cause: error })

    /** The object's ETag and text, or `undefined` when there is none. */
    const current = Effect.gen(function* () {
      const page = yield* store.listObjects({ prefix: key, maxKeys: 1 }).pipe(Effect.mapError(failure("list")))
      const info = page.objects[0]
      if (info === undefined || info.key !== key) return undefined
      const text = yield* readText(store, key).pipe(
        Effect.map((text): string | undefined => text),
        Effect.catchTag("ObjectNotFound", () => Effect.succeed(undefined)),
        Effect.mapError(failure("read"))
      )
      return text === undefined ? undefined : { etag: info.etag, text }
    })

    const load = lock.withPermits(1)(Effect.gen(function* () {
      const found = yield* current
      seen = { _tag: "Seen", etag: found?.etag }
      lastText = found?.text
      if (found === undefined) return Option.none()
      return Option.some(
        yield* Either.match(CheckpointCheck.decode(found.text, description), {
          onLeft: Effect.fail,
          onRight: Effect.succeed
        })
      )
    }))

    const save = (checkpoint: Checkpoint.Checkpoint) =>
      lock.withPermits(1)(Effect.gen(function* () {
        if (seen._tag === "Unsure") {
          const { attempted, previous } = seen
          const found = yield* current
          if (found?.text !== attempted && found?.text !== previous) {
            return yield* new CheckpointConflict({ store: description })
          }
          seen = { _tag: "Seen", etag: found?.etag }
          lastText = found?.text
        }
        const etag = seen.etag
        const text = Checkpoint.encode(checkpoint)
        const written = yield* store.putObject(
          key,
          encoder.encode(text),
          etag === undefined ? { ifNoneMatch: "*" } : { ifMatch: etag }
        ).pipe(
          Effect.catchTag("PreconditionFailed", () => new CheckpointConflict({ store: description })),
          Effect.tapError((error) =>
            Effect.sync(() => {
              if (error._tag !== "CheckpointConflict") {
                seen = { _tag: "Unsure", etag, previous: lastText, attempted: text }
              }
            })
          ),
          Effect.mapError((error) => error._tag === "CheckpointConflict" ? error : failure("write")(error))
        )
        seen = { _tag: "Seen", etag: written.etag }
        lastText = text
      }))

    return CheckpointStore.of({ description, load, save })
  })

/** The store as a layer, over the `ObjectStore` in context. */
export const layer = (options: Options): Layer.Layer<CheckpointStore, never, ObjectStore> =>
  Layer.effect(CheckpointStore, make(options))
