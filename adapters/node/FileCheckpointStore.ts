/**
 * The `CheckpointStore` port over a local JSON file, replaced atomically on every save (temporary file, flush,
 * rename, flush of the folder): a crash leaves the old checkpoint or the new one. The store remembers the text it
 * last loaded or saved, and a save finds the file still holding it, else it fails with `CheckpointConflict`: another
 * engine saves into the same file. (The check and the rename are two steps; two engines saving in the same instant
 * can slip between them. The S3 store's conditional write has no such gap.)
 */
import { Effect, Either, Layer, Option } from "effect"
import * as path from "node:path"
import * as Checkpoint from "../../core/Checkpoint.ts"
import * as CheckpointCheck from "../../core/CheckpointCheck.ts"
import { CheckpointStore } from "../../core/CheckpointStore.ts"
import { CheckpointConflict, CheckpointStoreFailure } from "../../core/Errors.ts"
import * as DurableFile from "./DurableFile.ts"

export interface FileCheckpointStoreOptions {
  readonly file: string
}

export const make = (options: FileCheckpointStoreOptions): Effect.Effect<CheckpointStore["Type"]> =>
  Effect.gen(function* () {
    const file = path.resolve(options.file)
    const description = `file:${file}`
    const lock = yield* Effect.makeSemaphore(1)
    /** The texts the file may hold for a save to go ahead (`undefined`: no file); two after a save that failed. */
    let expected: ReadonlyArray<string | undefined> = [undefined]

    const failure = (error: DurableFile.DurableFileError) =>
      new CheckpointStoreFailure({ store: description, reason: error.reason, cause: error })

    const load = lock.withPermits(1)(Effect.gen(function* () {
      const text = yield* DurableFile.readText(file).pipe(Effect.mapError(failure))
      expected = [text]
      if (text === undefined) return Option.none()
      return Option.some(
        yield* Either.match(CheckpointCheck.decode(text, description), {
          onLeft: Effect.fail,
          onRight: Effect.succeed
        })
      )
    }))

    const save = (checkpoint: Checkpoint.Checkpoint) =>
      lock.withPermits(1)(Effect.gen(function* () {
        const current = yield* DurableFile.readText(file).pipe(Effect.mapError(failure))
        if (!expected.includes(current)) return yield* new CheckpointConflict({ store: description })
        const text = Checkpoint.encode(checkpoint)
        yield* DurableFile.ensureDirectory(path.dirname(file)).pipe(
          Effect.zipRight(DurableFile.writeAtomically(file, text)),
          Effect.mapError(failure),
          Effect.tapError(() => Effect.sync(() => void (expected = [current, text])))
        )
        expected = [text]
      }))

    return CheckpointStore.of({ description, load, save })
  })

export const layer = (options: FileCheckpointStoreOptions): Layer.Layer<CheckpointStore> =>
  Layer.effect(CheckpointStore, make(options))
