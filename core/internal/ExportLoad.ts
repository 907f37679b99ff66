import { Chunk, Effect, Fiber, Stream } from "effect"
import type { ChangeEvent } from "../ChangeEvent.ts"
import type { ExportError } from "../Errors.ts"
import type * as ExportManifest from "../ExportManifest.ts"
import * as ExportReader from "../ExportReader.ts"
import type { KeySchema } from "../ItemKey.ts"
import type { ObjectStore } from "../ObjectStore.ts"

/** Where a load stands: data files of the manifest done, and lines of the next one. */
export interface Progress {
  readonly filesDone: number
  readonly linesDone: number
}

export interface LoadBatch extends Progress {
  readonly events: ReadonlyArray<ChangeEvent>
}

export interface LoadOptions extends Pick<ExportReader.ReadOptions, "decompress" | "md5"> {
  readonly keySchema: KeySchema
  /** Data files open at once. */
  readonly concurrency: number
  /** Snapshot events a batch. */
  readonly batchSize: number
}

/**
 * Applies an export's snapshot events from `from` on, batch by batch, in order, each with where the load stands once
 * it is applied. One batch is applied while the next is read (its `apply` runs in a fiber of its own, joined before
 * the next starts): decoding the export overlaps with the sink's work. A failure of `apply` ends the load at the next
 * batch or at the end. The batches are the stream's chunks (`Stream.rechunk`), handed over with `runForEachChunk`:
 * Effect's per-element paths (`grouped`, `runForEach`, `buffer`) cost more than the decoding itself on a million items.
 */
export const forEachBatch = <E, R>(
  manifest: ExportManifest.ExportManifest,
  from: Progress,
  options: LoadOptions,
  apply: (batch: LoadBatch) => Effect.Effect<void, E, R>
): Effect.Effect<void, ExportError | E, ObjectStore | R> =>
  Effect.scoped(Effect.gen(function* () {
    const scope = yield* Effect.scope
    let inFlight: Fiber.RuntimeFiber<void, E> | undefined
    yield* chunks(manifest, from, options, (batch) =>
      Effect.gen(function* () {
        if (inFlight !== undefined) yield* Fiber.join(inFlight)
        inFlight = yield* Effect.forkIn(apply(batch), scope)
      }))
    if (inFlight !== undefined) yield* Fiber.join(inFlight)
  }))

const chunks = <E, R>(
  manifest: ExportManifest.ExportManifest,
  from: Progress,
  options: LoadOptions,
  apply: (batch: LoadBatch) => Effect.Effect<void, E, R>
): Effect.Effect<void, ExportError | E, ObjectStore | R> => {
  const fileIndex = new Map(manifest.files.map((file, index) => [file.dataFileS3Key, index]))
  let filesDone = from.filesDone, linesDone = from.linesDone
  return ExportReader.readFiles(
    { ...manifest, files: manifest.files.slice(from.filesDone) },
    {
      keySchema: options.keySchema,
      concurrency: options.concurrency,
      ...(options.decompress === undefined ? {} : { decompress: options.decompress }),
      ...(options.md5 === undefined ? {} : { md5: options.md5 })
    }
  ).pipe(
    Stream.filter((event) =>
      event.position._tag !== "Export"
      || fileIndex.get(event.position.file)! > from.filesDone
      || event.position.line > from.linesDone
    ),
    Stream.rechunk(options.batchSize),
    Stream.runForEachChunk((chunk) => {
      const events = Chunk.toReadonlyArray(chunk)
      const last = events[events.length - 1]!.position
      if (last._tag === "Export") {
        filesDone = fileIndex.get(last.file)!
        linesDone = last.line
        if (linesDone === manifest.files[filesDone]!.itemCount) {
          filesDone++
          linesDone = 0
        }
      }
      return apply({ events, filesDone, linesDone })
    })
  )
}

/** The items of the files before `progress`, plus its lines. */
export const itemsDone = (manifest: ExportManifest.ExportManifest, progress: Progress): number =>
  manifest.files.slice(0, progress.filesDone).reduce((sum, file) => sum + file.itemCount, 0) + progress.linesDone
