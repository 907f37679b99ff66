/**
 * The `ObjectStore` port: a bucket of objects addressed by key, as S3 holds exports. Adapters: a local directory
 * (the directory stands for the bucket), S3 and the emulator.
 *
 * @module
 */
import { Context, Effect } from "effect"
import { type ObjectStoreError, ObjectStoreFailure } from "./Errors.ts"

/** A bucket of objects. */
export class ObjectStore extends Context.Tag("backstream/ObjectStore")<ObjectStore, {
  /**
   * The object's bytes as a stream, read as it is consumed; cancel the stream to stop reading early. Fails with
   * `ObjectNotFound` when there is no such key.
   */
  readonly getObject: (key: string) => Effect.Effect<ReadableStream<Uint8Array>, ObjectStoreError>
}>() {}

/** Reads a whole (small) object as UTF-8 text. Invalid UTF-8 is an error, not a replacement character. */
export const readText = (
  store: ObjectStore["Type"],
  key: string
): Effect.Effect<string, ObjectStoreError> =>
  Effect.flatMap(store.getObject(key), (body) =>
    Effect.tryPromise({
      try: async () => {
        const decoder = new TextDecoder("utf-8", { fatal: true })
        const reader = body.getReader()
        let text = ""
        for (let next = await reader.read(); !next.done; next = await reader.read()) {
          text += decoder.decode(next.value, { stream: true })
        }
        return text + decoder.decode()
      },
      catch: (cause) => new ObjectStoreFailure({ key, reason: String((cause as Error)?.message ?? cause), cause })
    }))
