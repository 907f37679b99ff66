import { Chunk, Stream } from "effect"
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
 * An export's snapshot events from `from` on, in batches, each with where the load stands once it is applied. The
 * next batch is read while one is being applied (one batch ahead): decoding the export overlaps with the sink's
 * work.
 */
export const batches = (
  manifest: ExportManifest.ExportManifest,
  from: Progress,
  options: LoadOptions
): Stream.Stream<LoadBatch, ExportError, ObjectStore> => {
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
    Stream.grouped(options.batchSize),
    Stream.map((chunk): LoadBatch => {
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
      return { events, filesDone, linesDone }
    }),
    Stream.buffer({ capacity: 1 })
  )
}

/** The items of the files before `progress`, plus its lines. */
export const itemsDone = (manifest: ExportManifest.ExportManifest, progress: Progress): number =>
  manifest.files.slice(0, progress.filesDone).reduce((sum, file) => sum + file.itemCount, 0) + progress.linesDone
