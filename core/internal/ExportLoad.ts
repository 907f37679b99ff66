import { Effect, Fiber } from "effect"
import type { ChangeEvent } from "../ChangeEvent.ts"
import type { ExportError, ServiceError } from "../Errors.ts"
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
  /** What `prepare` made of the events, when given. */
  readonly prepared?: unknown
}

export interface LoadOptions extends Pick<ExportReader.ReadOptions, "decompress" | "md5"> {
  readonly keySchema: KeySchema
  /** Data files open at once. */
  readonly concurrency: number
  /** Snapshot events a batch. */
  readonly batchSize: number
  /** Work on a batch done before the one before it is applied (see `Sink.prepare`). */
  readonly prepare?: ((events: ReadonlyArray<ChangeEvent>) => unknown) | undefined
}

/**
 * Applies an export's snapshot events from `from` on, batch by batch (`batchSize` events, the last one maybe fewer),
 * in order, each with where the load stands once it is applied. One batch is applied while the next is read (its
 * `apply` runs in a fiber of its own, joined before the next starts): decoding the export overlaps with the sink's
 * work. A failure of `apply` ends the load at the next batch or at the end. Events are gathered by a plain loop
 * over the reader's chunks ({@link ExportReader.forEachChunk}): Effect's per-element stream machinery (`rechunk`,
 * `grouped`, `buffer`) costs more than decoding itself on a million items, mostly in the garbage collector.
 */
export const forEachBatch = <E, R>(
  manifest: ExportManifest.ExportManifest,
  from: Progress,
  options: LoadOptions,
  apply: (batch: LoadBatch) => Effect.Effect<void, E, R>
): Effect.Effect<void, ExportError | ServiceError | E, ObjectStore | R> =>
  Effect.scoped(Effect.gen(function* () {
    const scope = yield* Effect.scope
    const size = Math.max(1, options.batchSize)
    const fileIndex = new Map(manifest.files.map((file, index) => [file.dataFileS3Key, index]))
    let inFlight: Fiber.RuntimeFiber<void, E> | undefined
    let batch: Array<ChangeEvent> = []
    let filesDone = from.filesDone, linesDone = from.linesDone

    const flush = Effect.gen(function* () {
      const events = batch
      batch = []
      const last = events[events.length - 1]!.position
      if (last._tag === "Export") {
        filesDone = fileIndex.get(last.file)!
        linesDone = last.line
        if (linesDone === manifest.files[filesDone]!.itemCount) {
          filesDone++
          linesDone = 0
        }
      }
      const prepared = options.prepare?.(events)
      if (inFlight !== undefined) yield* Fiber.join(inFlight)
      inFlight = yield* Effect.forkIn(
        apply({ events, filesDone, linesDone, ...(prepared === undefined ? {} : { prepared }) }),
        scope
      )
    })

    const skipping = from.linesDone > 0 ? manifest.files[from.filesDone]?.dataFileS3Key : undefined
    // A plain loop, not a generator: a generator's loop over events costs twice the CPU (in the garbage collector).
    const gather = (events: ReadonlyArray<ChangeEvent>, file: string, start: number): Effect.Effect<void, E, R> =>
      Effect.suspend(() => {
        let index = start
        while (index < events.length) {
          const event = events[index++]!
          if (file === skipping && event.position._tag === "Export" && event.position.line <= from.linesDone) continue
          batch.push(event)
          if (batch.length >= size) return Effect.zipRight(flush, gather(events, file, index))
        }
        return Effect.void
      })
    yield* ExportReader.forEachChunk(
      { ...manifest, files: manifest.files.slice(from.filesDone) },
      {
        keySchema: options.keySchema,
        concurrency: options.concurrency,
        // A sink may take the values from the lines (the SQL sinks do): they are checked, not decoded.
        itemsWhenAsked: true,
        ...(options.decompress === undefined ? {} : { decompress: options.decompress }),
        ...(options.md5 === undefined ? {} : { md5: options.md5 })
      },
      (events, file) => gather(events, file.dataFileS3Key, 0)
    )
    if (batch.length > 0) yield* flush
    if (inFlight !== undefined) yield* Fiber.join(inFlight)
  }))

/** The items of the files before `progress`, plus its lines. */
export const itemsDone = (manifest: ExportManifest.ExportManifest, progress: Progress): number =>
  manifest.files.slice(0, progress.filesDone).reduce((sum, file) => sum + file.itemCount, 0) + progress.linesDone
