/**
 * The `Sink` port as JSON lines: one envelope (core/Envelope.ts) per event, to standard output (`-`) or appended to a
 * file. A batch is written whole, then flushed to the disk (`fdatasync`) before `write` succeeds. At-least-once: the
 * checkpoint is kept by a `CheckpointStore`, so after a crash the events since the last checkpoint come again, in
 * order; readers apply each event's version rule (core/Version.ts) to stay exact.
 *
 * A crash in the middle of a write can leave a torn last line: the sink cuts the file back to its last complete line
 * when it opens it (that line's event comes again), and cuts back a write that failed half-way, so every line in the
 * file is whole.
 */
import { Effect, Layer, Option, type Scope } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import * as Envelope from "../../core/Envelope.ts"
import { SinkFailure } from "../../core/Errors.ts"
import { Sink } from "../../core/Sink.ts"
import * as Stdout from "../node/Stdout.ts"

export interface JsonlOptions {
  /** A file (created when missing, appended to), or `-` for standard output. */
  readonly path: string
  /** How values are written; default `dynamodb` (lossless). */
  readonly format?: Envelope.Format
}

const RETRYABLE = new Set(["ENOSPC", "EIO", "EAGAIN", "EINTR", "EDQUOT", "EBUSY"])

const NEWLINE = 0x0a
const TAIL_CHUNK = 64 * 1024

/** The length of the file up to its last newline (0 when it has none). */
const completeLength = async (handle: fs.FileHandle, size: number): Promise<number> => {
  const buffer = new Uint8Array(TAIL_CHUNK)
  let end = size
  while (end > 0) {
    const start = Math.max(0, end - TAIL_CHUNK)
    const { bytesRead } = await handle.read(buffer, 0, end - start, start)
    for (let i = bytesRead - 1; i >= 0; i--) if (buffer[i] === NEWLINE) return start + i + 1
    end = start
  }
  return 0
}

const syncDirectory = async (directory: string) => {
  const handle = await fs.open(directory, "r").catch(() => undefined)
  if (handle !== undefined) await handle.sync().catch(() => undefined).finally(() => handle.close())
}

const encodeBatch = (events: ReadonlyArray<Parameters<typeof Envelope.encode>[0]>, format: Envelope.Format) => {
  let text = ""
  for (const event of events) text += Envelope.encode(event, format) + "\n"
  return text
}

const toStdout = (format: Envelope.Format): Sink["Type"] => ({
  description: "jsonl stdout",
  transactional: false,
  open: () => Effect.void,
  write: (batch) => batch.events.length === 0 ? Effect.void : Stdout.write(encodeBatch(batch.events, format)),
  loadCheckpoint: Effect.succeed(Option.none())
})

const toFile = (file: string, format: Envelope.Format): Effect.Effect<Sink["Type"], SinkFailure, Scope.Scope> => {
  const description = `jsonl ${file}`
  const failure = (what: string) => (cause: unknown) => {
    const code = (cause as NodeJS.ErrnoException)?.code
    return new SinkFailure({
      sink: description,
      reason: `${what}: ${(cause as Error)?.message ?? String(cause)}`,
      retryable: code !== undefined && RETRYABLE.has(code),
      cause
    })
  }
  return Effect.gen(function* () {
    const handle = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: async () => {
          const existed = await fs.stat(file).then(() => true, () => false)
          const handle = await fs.open(file, "a+")
          if (!existed) await syncDirectory(path.dirname(path.resolve(file)))
          return handle
        },
        catch: failure("cannot open the file for appending")
      }),
      (handle) => Effect.promise(() => handle.close().catch(() => undefined))
    )
    let size = yield* Effect.tryPromise({
      try: async () => {
        const { size } = await handle.stat()
        const complete = await completeLength(handle, size)
        if (complete !== size) {
          await handle.truncate(complete)
          await handle.datasync()
        }
        return complete
      },
      catch: failure("cannot check the file's last line")
    })
    const write = (text: string) =>
      Effect.tryPromise({
        try: async () => {
          try {
            const bytes = new TextEncoder().encode(text)
            let written = 0
            while (written < bytes.length) {
              written += (await handle.write(bytes, written, bytes.length - written)).bytesWritten
            }
            await handle.datasync()
            size += bytes.length
          } catch (error) {
            await handle.truncate(size).catch(() => undefined)
            throw error
          }
        },
        catch: failure("cannot write the batch")
      })
    return {
      description,
      transactional: false,
      open: () => Effect.void,
      write: (batch) => batch.events.length === 0 ? Effect.void : write(encodeBatch(batch.events, format)),
      loadCheckpoint: Effect.succeed(Option.none())
    } satisfies Sink["Type"]
  })
}

/** The sink; a file is opened here (its torn last line cut) and closed when the scope ends. */
export const make = (options: JsonlOptions): Effect.Effect<Sink["Type"], SinkFailure, Scope.Scope> =>
  options.path === "-"
    ? Effect.succeed(toStdout(options.format ?? "dynamodb"))
    : toFile(options.path, options.format ?? "dynamodb")

export const layer = (options: JsonlOptions): Layer.Layer<Sink, SinkFailure> => Layer.scoped(Sink, make(options))
