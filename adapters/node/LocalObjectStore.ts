/**
 * The `ObjectStore` port over a local directory: the directory stands for the bucket, keys are paths below it.
 */
import { Effect, Layer } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { ObjectNotFound, ObjectStoreFailure } from "../../core/Errors.ts"
import { ObjectStore } from "../../core/ObjectStore.ts"
import { fromReadable } from "./internal/webStreams.ts"

const READ_CHUNK = 64 * 1024

export const make = (root: string): ObjectStore["Type"] => {
  const base = path.resolve(root)
  const resolve = (key: string): string | undefined => {
    const full = path.resolve(base, key)
    return full === base || full.startsWith(base + path.sep) ? full : undefined
  }
  return ObjectStore.of({
    getObject: (key) =>
      Effect.gen(function* () {
        const file = resolve(key)
        if (file === undefined || key.startsWith("/")) {
          return yield* new ObjectStoreFailure({ key, reason: `the key leaves the store's folder ${base}` })
        }
        const handle = yield* Effect.tryPromise({
          try: () => fs.open(file, "r"),
          catch: (cause) => {
            const code = (cause as NodeJS.ErrnoException).code
            return code === "ENOENT" || code === "ENOTDIR"
              ? new ObjectNotFound({ key })
              : new ObjectStoreFailure({ key, reason: (cause as Error).message, cause })
          }
        })
        const stat = yield* Effect.tryPromise({
          try: () => handle.stat(),
          catch: (cause) => new ObjectStoreFailure({ key, reason: (cause as Error).message, cause })
        })
        if (!stat.isFile()) {
          yield* Effect.promise(() => handle.close())
          return yield* new ObjectNotFound({ key })
        }
        const stream = handle.createReadStream({ highWaterMark: READ_CHUNK, autoClose: true })
        return fromReadable(stream)
      })
  })
}

export const layer = (root: string): Layer.Layer<ObjectStore> => Layer.succeed(ObjectStore, make(root))
