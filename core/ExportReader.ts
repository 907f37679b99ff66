/**
 * Reads a DynamoDB export (full or incremental) from an {@link ObjectStore} as a stream of change events, verified:
 * every data file the manifest names is read (never a folder listing), its MD5 and item count are checked against
 * the manifest, and every line is decoded or reported with its file, line and JSON path. Several files are read at
 * once, with events emitted in manifest order, in memory bounded by the concurrency, whatever the export's size.
 *
 * Effect works at the level of files and chunks; inside a chunk, plain loops (see the benchmark in `test/bench`).
 *
 * @module
 */
import { Chunk, Effect, Either, Stream } from "effect"
import * as Base64 from "./Base64.ts"
import type { ChangeEvent } from "./ChangeEvent.ts"
import * as Decompressor from "./Decompressor.ts"
import {
  type ExportError,
  ExportFileMismatch,
  ExportFileMissing,
  ExportFileUnreadable,
  ExportLineInvalid,
  ExportManifestInvalid
} from "./Errors.ts"
import * as ExportLine from "./ExportLine.ts"
import * as ExportManifest from "./ExportManifest.ts"
import type { KeySchema } from "./ItemKey.ts"
import { LineSplitter } from "./LineSplitter.ts"
import * as Md5 from "./Md5.ts"
import { ObjectStore, readText } from "./ObjectStore.ts"
import { orderedConcurrently } from "./internal/orderedConcurrently.ts"

/** How to read an export. */
export interface ReadOptions {
  /** The table's key schema, so that a full export's events carry their key. */
  readonly keySchema?: KeySchema
  /** How many data files to read at once (default 4). */
  readonly concurrency?: number
  /** Gunzip (default: the web `DecompressionStream`). */
  readonly decompress?: Decompressor.Decompressor
  /** MD5 (default: the portable one). */
  readonly md5?: Md5.Md5Factory
}

const DEFAULT_CONCURRENCY = 4

/**
 * Reads and checks an export's manifests: the summary at `summaryKey`, then the file list it names (checked against
 * `manifest-files.md5` when that file is present).
 */
export const openManifest = (
  summaryKey: string,
  options: Pick<ReadOptions, "md5"> = {}
): Effect.Effect<ExportManifest.ExportManifest, ExportManifestInvalid, ObjectStore> =>
  Effect.gen(function*() {
    const store = yield* ObjectStore
    const read = (key: string, what: string) =>
      readText(store, key).pipe(
        Effect.mapError((error) =>
          new ExportManifestInvalid({
            file: key,
            reason: error._tag === "ObjectNotFound" ? `${what} is missing` : error.reason
          })
        )
      )
    const summary = yield* Either.match(ExportManifest.parseSummary(yield* read(summaryKey, "the summary"), summaryKey), {
      onLeft: Effect.fail,
      onRight: Effect.succeed
    })
    const filesText = yield* read(summary.manifestFilesKey, "the file list")
    const md5Key = summary.manifestFilesKey.replace(/\.json$/, ".md5")
    const expected = yield* readText(store, md5Key).pipe(
      Effect.map((text) => text.trim()),
      Effect.catchTag("ObjectNotFound", () => Effect.succeed(undefined)),
      Effect.mapError((error) => new ExportManifestInvalid({ file: md5Key, reason: error.message }))
    )
    if (expected !== undefined) {
      const actual = Base64.encode(Md5.digest(new TextEncoder().encode(filesText), options.md5))
      if (actual !== expected) {
        return yield* new ExportManifestInvalid({
          file: summary.manifestFilesKey,
          reason: `its MD5 is ${actual} but ${md5Key} says ${expected}: the file list is damaged or incomplete`
        })
      }
    }
    const files = yield* Either.match(ExportManifest.parseFiles(filesText, summary), {
      onLeft: Effect.fail,
      onRight: Effect.succeed
    })
    return { summary, files }
  })

const lineContext = (
  summary: ExportManifest.ExportSummary,
  file: string,
  options: ReadOptions
): ExportLine.LineContext => ({
  exportArn: summary.exportArn,
  file,
  type: summary.type,
  exportTimeMs: summary.exportTimeMs ?? summary.toTimeMs ?? 0,
  ...(options.keySchema === undefined ? {} : { keySchema: options.keySchema }),
  newImageOnly: summary.outputView === "NEW_IMAGE"
})

const reasonOf = (cause: unknown): string => {
  const message = cause instanceof Error ? cause.message : String(cause)
  return /unexpected end|truncat|premature/i.test(message)
    ? `the gzip data ends early (${message}): the file is truncated`
    : `not valid gzip data (${message})`
}

/**
 * Reads one data file of an export: its events in line order, then the MD5 and item-count checks. Events are
 * emitted as the file is read; a failed check fails the stream after them, so a consumer must treat the file as
 * applied only when the stream ends without error.
 */
export const readDataFile = (
  manifest: ExportManifest.ExportManifest,
  file: ExportManifest.DataFile,
  options: ReadOptions = {}
): Stream.Stream<ChangeEvent, ExportError, ObjectStore> =>
  Stream.unwrap(Effect.gen(function*() {
    const store = yield* ObjectStore
    const key = file.dataFileS3Key
    const body = yield* store.getObject(key).pipe(
      Effect.mapError((error) =>
        error._tag === "ObjectNotFound"
          ? new ExportFileMissing({ file: key })
          : new ExportFileUnreadable({ file: key, reason: error.reason })
      )
    )
    const hasher = (options.md5 ?? Md5.md5)()
    const hashed = body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          hasher.update(chunk)
          controller.enqueue(chunk)
        }
      })
    )
    const inflated = (options.decompress ?? Decompressor.web)(hashed)
    const context = lineContext(manifest.summary, key, options)
    const splitter = new LineSplitter()
    const decoder = new TextDecoder("utf-8", { fatal: true })
    let line = 0

    const decode = (bytes: Uint8Array): ChangeEvent => {
      line++
      if (line > file.itemCount) {
        throw new ExportFileMismatch({
          file: key,
          what: "itemCount",
          expected: String(file.itemCount),
          actual: `more (line ${line} is item ${line})`
        })
      }
      let text: string
      try {
        text = decoder.decode(bytes)
      } catch {
        throw new ExportLineInvalid({ file: key, line, path: "$", reason: "the line is not valid UTF-8" })
      }
      let json: unknown
      try {
        json = JSON.parse(text)
      } catch (error) {
        throw new ExportLineInvalid({ file: key, line, path: "$", reason: `not JSON (${(error as Error).message})` })
      }
      return ExportLine.decodeUnsafe(json, line, context)
    }

    const decodeChunk = (chunk: Chunk.Chunk<Uint8Array>): Effect.Effect<Chunk.Chunk<ChangeEvent>, ExportError> =>
      Effect.suspend(() => {
        const events: Array<ChangeEvent> = []
        try {
          for (const bytes of chunk) {
            for (const text of splitter.push(bytes)) events.push(decode(text))
          }
        } catch (error) {
          return Effect.fail(error as ExportError)
        }
        return Effect.succeed(Chunk.unsafeFromArray(events))
      })

    const finish = Effect.suspend(() => {
      const last = splitter.end()
      let events: Array<ChangeEvent> = []
      if (last !== undefined && last.length > 0) {
        try {
          events = [decode(last)]
        } catch (error) {
          return Effect.fail(error as ExportError)
        }
      }
      const md5 = Base64.encode(hasher.digest())
      if (md5 !== file.md5Checksum) {
        return Effect.fail(new ExportFileMismatch({ file: key, what: "md5Checksum", expected: file.md5Checksum, actual: md5 }))
      }
      if (line !== file.itemCount) {
        return Effect.fail(
          new ExportFileMismatch({ file: key, what: "itemCount", expected: String(file.itemCount), actual: String(line) })
        )
      }
      return Effect.succeed(events)
    })

    return Stream.fromReadableStream({
      evaluate: () => inflated,
      onError: (cause): ExportError => new ExportFileUnreadable({ file: key, reason: reasonOf(cause) })
    }).pipe(
      Stream.mapChunksEffect(decodeChunk),
      Stream.concat(Stream.fromIterableEffect(finish))
    )
  }))

/**
 * Reads a whole export: its manifests, then every data file, `concurrency` at a time, events in manifest order.
 *
 * @example
 * read("AWSDynamoDB/01768385930622-efd1a093/manifest-summary.json", { keySchema: ItemKey.make("pk", "sk") })
 */
export const read = (
  summaryKey: string,
  options: ReadOptions = {}
): Stream.Stream<ChangeEvent, ExportError, ObjectStore> =>
  Stream.unwrap(
    Effect.map(openManifest(summaryKey, options), (manifest) => readFiles(manifest, options))
  )

/** Reads the data files of an opened export, `concurrency` at a time, events in manifest order. */
export const readFiles = (
  manifest: ExportManifest.ExportManifest,
  options: ReadOptions = {}
): Stream.Stream<ChangeEvent, ExportError, ObjectStore> =>
  orderedConcurrently(
    manifest.files.map((file) => readDataFile(manifest, file, options)),
    Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY)
  )
