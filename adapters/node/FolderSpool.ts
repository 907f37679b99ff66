/**
 * The `Spool` port over a local folder (the default spool). Layout (`core/SpoolCodec.ts` lines):
 *
 * - `segment-<n>.jsonl`: appends, one after the other, numbered from 1; a new segment starts when the next append would
 *   pass `segmentBytes`. Each append is written at the durable end of the last segment, then flushed to the disk.
 * - `state.json`: the last segment, its durable length and the capture state there, replaced atomically (temporary
 *   file, flush, rename) once the append's bytes are on the disk. It is the commit: bytes past the length it records
 *   (an append cut short by a crash, or whose `state.json` was not written) are cut away on open, segments after it
 *   removed.
 *
 * Reading streams the segments a chunk at a time. `clear` removes `state.json` first, then the segments.
 */
import { Effect, Either, Layer, Option, Stream } from "effect"
import { createReadStream } from "node:fs"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import type { Element } from "../../core/Capture.ts"
import type { CaptureState } from "../../core/CaptureState.ts"
import { SpoolFailure } from "../../core/Errors.ts"
import { Spool } from "../../core/Spool.ts"
import * as SpoolCodec from "../../core/SpoolCodec.ts"
import * as DurableFile from "./DurableFile.ts"
import { fromReadable } from "./internal/webStreams.ts"

export interface FolderSpoolOptions {
  readonly folder: string
  /** A segment grows to about this many bytes before the next one starts (default 64 MiB). */
  readonly segmentBytes?: number
}

const STATE = "state.json"
const READ_CHUNK = 64 * 1024
const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024

type Status =
  | { readonly _tag: "Open"; readonly head: SpoolCodec.Head | undefined }
  /** What the folder holds is not what this spool writes: every operation fails but `clear`. */
  | { readonly _tag: "Damaged"; readonly failure: SpoolFailure }
  /** A write failed half-way: the folder is opened again before the next operation. */
  | { readonly _tag: "Unknown" }

type Opened = Exclude<Status, { readonly _tag: "Unknown" }>

class Damage extends Error {}

const errno = (cause: unknown): string | undefined => (cause as NodeJS.ErrnoException)?.code

const syncDirectory = async (directory: string) => {
  // Some platforms (Windows) cannot open a directory to flush it.
  const handle = await fs.open(directory, "r").catch(() => undefined)
  if (handle !== undefined) await handle.sync().catch(() => undefined).finally(() => handle.close())
}

/** Writes `bytes` at `position` of `file`, cuts the file there, flushes it; flushes the folder for a new file. */
const writeAt = async (file: string, bytes: Uint8Array, position: number) => {
  const created = position === 0
  const handle = await fs.open(file, created ? "w" : "r+")
  try {
    let written = 0
    while (written < bytes.length) {
      const { bytesWritten } = await handle.write(bytes, written, bytes.length - written, position + written)
      written += bytesWritten
    }
    await handle.truncate(position + bytes.length)
    await handle.sync()
  } finally {
    await handle.close()
  }
  if (created) await syncDirectory(path.dirname(file))
}

export const make = (options: FolderSpoolOptions): Effect.Effect<Spool["Type"], SpoolFailure> =>
  Effect.gen(function* () {
    const folder = path.resolve(options.folder)
    const segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES
    const description = `folder ${folder}`
    const stateFile = path.join(folder, STATE)
    const fileOf = (n: number) => path.join(folder, SpoolCodec.segmentName(n))
    const lock = yield* Effect.makeSemaphore(1)

    const damaged = (reason: string) =>
      new Damage(`${reason}; the spool is damaged: clear it (or delete the folder) and start again with a new backfill`)
    const failure = (what: string) => (cause: unknown) =>
      cause instanceof Damage
        ? new SpoolFailure({ spool: description, reason: cause.message })
        : new SpoolFailure({ spool: description, reason: `cannot ${what}: ${(cause as Error)?.message}`, cause })

    const segments = async (): Promise<Array<number>> =>
      (await fs.readdir(folder)).flatMap((name) => {
        const n = SpoolCodec.segmentNumber(name)
        return n === undefined ? [] : [n]
      }).sort((a, b) => a - b)

    /** Reads `state.json` and cuts away what it does not cover. */
    const open: Effect.Effect<Opened, SpoolFailure> = Effect.tryPromise({
      try: async () => {
        await fs.mkdir(folder, { recursive: true })
        const text = await fs.readFile(stateFile, "utf8").catch((cause) => {
          if (errno(cause) === "ENOENT") return undefined
          throw cause
        })
        const head = text === undefined ? undefined : Either.getOrElse(SpoolCodec.decodeHead(text), (reason) => {
          throw damaged(`${STATE} is not what backstream writes (${reason})`)
        })
        const present = await segments()
        const stray = present.filter((n) => head === undefined || n > head.segment)
        for (const n of stray) await fs.rm(fileOf(n), { force: true })
        if (head !== undefined) {
          for (let n = 1; n <= head.segment; n++) {
            if (!present.includes(n)) throw damaged(`${SpoolCodec.segmentName(n)} is missing`)
          }
          const file = fileOf(head.segment)
          const { size } = await fs.stat(file)
          if (size < head.length) {
            throw damaged(`${SpoolCodec.segmentName(head.segment)} holds ${size} bytes, ${STATE} says ${head.length}`)
          }
          if (size > head.length) {
            const handle = await fs.open(file, "r+")
            try {
              await handle.truncate(head.length)
              await handle.sync()
            } finally {
              await handle.close()
            }
          }
        }
        if (stray.length > 0) await syncDirectory(folder)
        return { _tag: "Open", head } as const
      },
      catch: failure(`open the spool in ${folder}`)
    }).pipe(
      Effect.catchIf(
        (error) => error.cause === undefined,
        (failure) => Effect.succeed({ _tag: "Damaged", failure } as const)
      )
    )

    let status: Status = yield* open

    const current: Effect.Effect<SpoolCodec.Head | undefined, SpoolFailure> = Effect.suspend(() => {
      switch (status._tag) {
        case "Open":
          return Effect.succeed(status.head)
        case "Damaged":
          return Effect.fail(status.failure)
        case "Unknown":
          return Effect.flatMap(open, (opened) => {
            status = opened
            return opened._tag === "Open" ? Effect.succeed(opened.head) : Effect.fail(opened.failure)
          })
      }
    })

    const unknownOnFailure = <A>(write: Effect.Effect<A, SpoolFailure>) =>
      Effect.tapErrorCause(write, () => Effect.sync(() => void (status = { _tag: "Unknown" })))

    const append = (elements: ReadonlyArray<Element>, state: CaptureState) =>
      lock.withPermits(1)(Effect.gen(function* () {
        const text = SpoolCodec.encodeAppend(elements, state)
        if (Either.isLeft(text)) {
          return yield* new SpoolFailure({ spool: description, reason: `cannot spool an invalid state: ${text.left}` })
        }
        const head = yield* current
        const bytes = Buffer.from(text.right, "utf8")
        let segment = head?.segment ?? 1
        let position = head?.length ?? 0
        if (position > 0 && position + bytes.length > segmentBytes) {
          segment++
          position = 0
        }
        const next: SpoolCodec.Head = { segment, length: position + bytes.length, state }
        yield* unknownOnFailure(Effect.gen(function* () {
          yield* Effect.tryPromise({
            try: () => writeAt(fileOf(segment), bytes, position),
            catch: failure(`write ${SpoolCodec.segmentName(segment)}`)
          })
          yield* DurableFile.writeAtomically(stateFile, SpoolCodec.encodeHead(next)).pipe(
            Effect.mapError((error) => new SpoolFailure({ spool: description, reason: error.message, cause: error }))
          )
        })).pipe(Effect.uninterruptible)
        status = { _tag: "Open", head: next }
      }))

    const clear = lock.withPermits(1)(
      unknownOnFailure(Effect.tryPromise({
        try: async () => {
          await fs.rm(stateFile, { force: true })
          await syncDirectory(folder)
          for (const n of await segments()) await fs.rm(fileOf(n), { force: true })
          await syncDirectory(folder)
        },
        catch: failure(`clear ${folder}`)
      })).pipe(Effect.tap(() => Effect.sync(() => void (status = { _tag: "Open", head: undefined }))))
    )

    const segmentEntries = (n: number, length: number | undefined): Stream.Stream<SpoolCodec.Entry, SpoolFailure> => {
      const name = SpoolCodec.segmentName(n)
      if (length === 0) return Stream.empty
      return SpoolCodec.decodeSegment(
        description,
        name,
        Stream.fromReadableStream({
          evaluate: () =>
            fromReadable(
              createReadStream(fileOf(n), {
                highWaterMark: READ_CHUNK,
                ...(length === undefined ? {} : { end: length - 1 })
              })
            ),
          onError: (cause) =>
            errno(cause) === "ENOENT"
              ? new SpoolFailure({ spool: description, reason: `${name} is missing; the spool is damaged` })
              : failure(`read ${name}`)(cause)
        })
      )
    }

    return Spool.of({
      description,
      append,
      state: lock.withPermits(1)(Effect.map(current, (head) => Option.map(Option.fromNullable(head), (h) => h.state))),
      // The segments as they were when reading starts: appends made meanwhile are not read.
      read: Stream.fromEffect(lock.withPermits(1)(current)).pipe(
        Stream.flatMap((head) =>
          head === undefined ? Stream.empty : Stream.range(1, head.segment).pipe(
            Stream.flatMap((n) => segmentEntries(n, n === head.segment ? head.length : undefined))
          )
        ),
        Stream.filter(SpoolCodec.isElement)
      ),
      clear
    })
  })

export const layer = (options: FolderSpoolOptions): Layer.Layer<Spool, SpoolFailure> =>
  Layer.effect(Spool, make(options))
