/**
 * Whole-file reads and crash-safe whole-file writes on the local disk, for state that must survive a restart.
 */
import { Data, Effect } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"

export class DurableFileError extends Data.TaggedError("DurableFileError")<{
  readonly path: string
  readonly reason: string
}> {
  override get message() {
    return `${this.path}: ${this.reason}`
  }
}

const failure = (file: string, what: string) => (cause: unknown) =>
  new DurableFileError({ path: file, reason: `${what}: ${(cause as Error).message}` })

/** A file's text, or `undefined` when there is no such file. */
export const readText = (file: string): Effect.Effect<string | undefined, DurableFileError> =>
  Effect.tryPromise({
    try: () =>
      fs.readFile(file, "utf8").catch((error: NodeJS.ErrnoException) => {
        if (error.code === "ENOENT") return undefined
        throw error
      }),
    catch: failure(file, "cannot read it")
  })

/**
 * Replaces a file's content: writes a temporary file beside it, flushes it to the disk, renames it over the file and
 * flushes the directory. A crash at any point leaves the old content or the new one, never a mix.
 */
export const writeAtomically = (file: string, text: string): Effect.Effect<void, DurableFileError> =>
  Effect.tryPromise({
    try: async () => {
      const directory = path.dirname(file)
      const temporary = path.join(directory, `.${path.basename(file)}.${process.pid}.tmp`)
      const handle = await fs.open(temporary, "w")
      try {
        await handle.writeFile(text, "utf8")
        await handle.sync()
      } finally {
        await handle.close()
      }
      await fs.rename(temporary, file)
      // Some platforms (Windows) cannot open a directory to flush it; the rename is done either way.
      const parent = await fs.open(directory, "r").catch(() => undefined)
      if (parent !== undefined) await parent.sync().catch(() => undefined).finally(() => parent.close())
    },
    catch: failure(file, "cannot write it")
  }).pipe(Effect.uninterruptible)

/** Creates a directory (and its parents) unless it exists. */
export const ensureDirectory = (directory: string): Effect.Effect<void, DurableFileError> =>
  Effect.tryPromise({
    try: () => fs.mkdir(directory, { recursive: true }),
    catch: failure(directory, "cannot create the directory")
  })
