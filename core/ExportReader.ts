/**
 * Reads a DynamoDB export (full or incremental) from an {@link ObjectStore} as a stream of change events, verified:
 * every data file the manifest names is read (never a folder listing), its MD5 and item count are checked against
 * the manifest, and every line is decoded or reported with its file, line and JSON path. Files are decoded one at a
 * time, in manifest order, while the next ones are opened ahead (their latency hidden); memory is that of one file's
 * chunks in flight, whatever the export's size.
 *
 * Effect works at the level of files and chunks; inside a chunk, plain loops (see the benchmark in `test/bench`).
 *
 * @module
 */
import { Chunk, Effect, Either, Option, type Scope, Stream } from "effect"
import * as Base64 from "./Base64.ts"
import type { ChangeEvent } from "./ChangeEvent.ts"
import * as Decompressor from "./Decompressor.ts"
import {
  type ExportError,
  ExportFileMismatch,
  ExportFileMissing,
  ExportFileUnreadable,
  ExportLineInvalid,
  ExportManifestInvalid,
  type ServiceError
} from "./Errors.ts"
import * as ExportLine from "./ExportLine.ts"
import * as ExportManifest from "./ExportManifest.ts"
import type { KeySchema } from "./ItemKey.ts"
import { LineSplitter } from "./LineSplitter.ts"
import * as Md5 from "./Md5.ts"
import { ObjectStore, readText } from "./ObjectStore.ts"
import { openAhead } from "./internal/openAhead.ts"

/** How to read an export. */
export interface ReadOptions {
  /** The table's key schema, so that a full export's events carry their key. */
  readonly keySchema?: KeySchema
  /**
   * How many data files to have open at once: the one being decoded and the next ones, opened ahead so that their
   * bytes are on their way when their turn comes (default 4). Decoding runs one file at a time whatever this is.
   */
  readonly concurrency?: number
  /** Gunzip (default: the web `DecompressionStream`). */
  readonly decompress?: Decompressor.Decompressor
  /** MD5 (default: the portable one). */
  readonly md5?: Md5.Md5Factory
  /**
   * With a key schema: make a full export's items only when a consumer asks for them (default: at once). Each line is
   * still checked as it is read; its event carries its key, and its line (see {@link ExportLine.itemText}). Cheaper
   * for a consumer that writes text (the SQL sinks take the values from the line), dearer for one that reads every
   * item (the line is then read twice). Such an event's `newImage` is a getter of its class, which a spread copy
   * lacks: copy one as `{ ...event, newImage: event.newImage }`.
   */
  readonly itemsWhenAsked?: boolean
}

const DEFAULT_CONCURRENCY = 4

// A stream's events are decoded and emitted this many at a time: few enough that those waiting to be consumed when the
// garbage collector runs are cheap to keep, many enough that the stream's cost per chunk does not show.
const BATCH = 128

/**
 * Reads and checks an export's manifests: the summary at `summaryKey`, then the file list it names (checked against
 * `manifest-files.md5` when that file is present).
 */
export const openManifest = (
  summaryKey: string,
  options: Pick<ReadOptions, "md5"> = {}
): Effect.Effect<ExportManifest.ExportManifest, ExportManifestInvalid | ServiceError, ObjectStore> =>
  Effect.gen(function* () {
    const store = yield* ObjectStore
    const read = (key: string, what: string) =>
      readText(store, key).pipe(
        Effect.catchTags({
          ObjectNotFound: () => new ExportManifestInvalid({ file: key, reason: `${what} is missing` }),
          ObjectStoreFailure: (error) => new ExportManifestInvalid({ file: key, reason: error.reason })
        })
      )
    const summary = yield* Either.match(
      ExportManifest.parseSummary(yield* read(summaryKey, "the summary"), summaryKey),
      {
        onLeft: Effect.fail,
        onRight: Effect.succeed
      }
    )
    const filesText = yield* read(summary.manifestFilesKey, "the file list")
    const md5Key = summary.manifestFilesKey.replace(/\.json$/, ".md5")
    const expected = yield* readText(store, md5Key).pipe(
      Effect.map((text) => text.trim()),
      Effect.catchTags({
        ObjectNotFound: () => Effect.succeed(undefined),
        ObjectStoreFailure: (error) => new ExportManifestInvalid({ file: md5Key, reason: error.reason })
      })
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
  newImageOnly: summary.outputView === "NEW_IMAGE",
  itemsWhenAsked: options.itemsWhenAsked === true
})

const reasonOf = (cause: unknown): string => {
  const message = cause instanceof Error ? cause.message : String(cause)
  return /unexpected end|truncat|premature/i.test(message)
    ? `the gzip data ends early (${message}): the file is truncated`
    : `not valid gzip data (${message})`
}

/** Opens a data file: its body, not read yet, cancelled when the scope closes if it is never read. */
const openDataFile = (
  file: ExportManifest.DataFile
): Effect.Effect<ReadableStream<Uint8Array>, ExportError | ServiceError, ObjectStore | Scope.Scope> =>
  Effect.flatMap(ObjectStore, (store) =>
    Effect.acquireRelease(
      store.getObject(file.dataFileS3Key).pipe(
        Effect.catchTags({
          ObjectNotFound: () => new ExportFileMissing({ file: file.dataFileS3Key }),
          ObjectStoreFailure: (error) => new ExportFileUnreadable({ file: file.dataFileS3Key, reason: error.reason })
        })
      ),
      (body) => Effect.promise(() => body.locked ? Promise.resolve() : body.cancel().catch(() => {}))
    ))

/**
 * Decodes a data file's lines as plain code: `feed` takes the decompressed bytes chunk by chunk, `decode` gives the
 * events of the complete lines, a batch at a time; `end` gives the last line's event, then checks the MD5 and the
 * item count. They throw the file's {@link ExportError}s; `decode` first returns the events before a bad line, and
 * throws at the next call.
 */
const lineDecoder = (
  manifest: ExportManifest.ExportManifest,
  file: ExportManifest.DataFile,
  options: ReadOptions,
  hasher: Md5.Hasher
) => {
  const key = file.dataFileS3Key
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
        actual: `more (line ${line} is one too many)`
      })
    }
    let text: string
    try {
      text = decoder.decode(bytes)
    } catch {
      throw new ExportLineInvalid({ file: key, line, path: "$", reason: "the line is not valid UTF-8" })
    }
    return ExportLine.decodeTextUnsafe(text, line, context)
  }

  let lines: Array<Uint8Array> = []
  let next = 0
  let failure: unknown = undefined
  return {
    /** Takes the next chunk of bytes, once the lines of the previous ones are all decoded. */
    feed: (bytes: Uint8Array): void => {
      lines = splitter.push(bytes)
      next = 0
    },
    /** Whether complete lines wait to be decoded (or a bad line to be reported). */
    waiting: (): boolean => next < lines.length || failure !== undefined,
    /** Decodes up to `max` waiting lines. */
    decode: (max: number): Array<ChangeEvent> => {
      if (failure !== undefined) throw failure
      const events: Array<ChangeEvent> = []
      const stop = Math.min(lines.length, next + max)
      try {
        while (next < stop) events.push(decode(lines[next++]!))
      } catch (error) {
        if (events.length === 0) throw error
        failure = error
      }
      if (next === lines.length) lines = []
      return events
    },
    end: (): Array<ChangeEvent> => {
      const last = splitter.end()
      const events = last !== undefined && last.length > 0 ? [decode(last)] : []
      const md5 = Base64.encode(hasher.digest())
      if (md5 !== file.md5Checksum) {
        throw new ExportFileMismatch({ file: key, what: "md5Checksum", expected: file.md5Checksum, actual: md5 })
      }
      if (line !== file.itemCount) {
        throw new ExportFileMismatch({
          file: key,
          what: "itemCount",
          expected: String(file.itemCount),
          actual: String(line)
        })
      }
      return events
    }
  }
}

/**
 * A data file's body hashed as it is read (the MD5 is of the gzip bytes), decompressed: its reads (the reader is
 * cancelled when the scope closes) and the decoder of its lines.
 */
const openLines = (
  manifest: ExportManifest.ExportManifest,
  file: ExportManifest.DataFile,
  body: ReadableStream<Uint8Array>,
  options: ReadOptions
) =>
  Effect.gen(function* () {
    const hasher = (options.md5 ?? Md5.md5)()
    const hashed = body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          hasher.update(chunk)
          controller.enqueue(chunk)
        }
      })
    )
    const reader = yield* Effect.acquireRelease(
      Effect.sync(() => (options.decompress ?? Decompressor.web)(hashed).getReader()),
      (reader) => Effect.promise(() => reader.cancel().catch(() => {}))
    )
    const read = Effect.tryPromise({
      try: () => reader.read(),
      catch: (cause) => new ExportFileUnreadable({ file: file.dataFileS3Key, reason: reasonOf(cause) })
    })
    return { read, lines: lineDecoder(manifest, file, options, hasher) }
  })

/**
 * A data file's events from its body, in line order, then the MD5 and item-count checks. Each pull reads one chunk
 * of decompressed bytes and decodes it in a plain loop: the bytes never travel through the stream, only the events.
 */
const dataFileEvents = (
  manifest: ExportManifest.ExportManifest,
  file: ExportManifest.DataFile,
  body: ReadableStream<Uint8Array>,
  options: ReadOptions
): Stream.Stream<ChangeEvent, ExportError> =>
  Stream.unwrapScoped(Effect.map(openLines(manifest, file, body, options), ({ lines, read }) => {
    let ended = false
    const decoded = (next: ReadableStreamReadResult<Uint8Array> | undefined) => {
      try {
        if (next !== undefined) {
          if (next.done) {
            ended = true
            return Effect.succeed(Chunk.unsafeFromArray(lines.end()))
          }
          lines.feed(next.value)
        }
        return Effect.succeed(Chunk.unsafeFromArray(lines.decode(BATCH)))
      } catch (error) {
        return Effect.fail(Option.some(error as ExportError))
      }
    }
    const pull = Effect.suspend(() =>
      lines.waiting()
        ? decoded(undefined)
        : ended
        ? Effect.fail(Option.none())
        : Effect.flatMap(Effect.mapError(read, Option.some), decoded)
    )
    return Stream.repeatEffectChunkOption(pull)
  }))

/**
 * Hands a data file's events to `handle`, in line order, the events of each read of decompressed bytes at once (a few
 * hundred), then checks the MD5 and the item count. A bad line fails the effect after the events before it are
 * handled. Effect runs once a read, not once an event: this loop is the hot path of a backfill.
 */
const decodeDataFile = <E, R>(
  manifest: ExportManifest.ExportManifest,
  file: ExportManifest.DataFile,
  body: ReadableStream<Uint8Array>,
  options: ReadOptions,
  handle: (events: ReadonlyArray<ChangeEvent>) => Effect.Effect<void, E, R>
): Effect.Effect<void, ExportError | E, R> =>
  Effect.scoped(Effect.gen(function* () {
    const { lines, read } = yield* openLines(manifest, file, body, options)
    const decoded = (step: () => ReadonlyArray<ChangeEvent>) =>
      Effect.try({ try: step, catch: (error) => error as ExportError })
    for (;;) {
      const next = yield* read
      if (next.done) break
      lines.feed(next.value)
      while (lines.waiting()) {
        const events = yield* decoded(() => lines.decode(Number.POSITIVE_INFINITY))
        if (events.length > 0) yield* handle(events)
      }
    }
    const last = yield* decoded(lines.end)
    if (last.length > 0) yield* handle(last)
  }))

/**
 * Hands the events of an export's data files to `handle`, in manifest order and line order, a few hundred at a time
 * (never an empty array), while the next files are opened ahead. The plain-loop form of {@link readFiles}: what a
 * backfill uses, as Effect's per-element stream machinery costs more than decoding itself on millions of items.
 * A file's checks (MD5, item count) fail the effect after its events are handled, so a caller must treat a file as
 * applied only once the next one starts or the effect succeeds.
 */
export const forEachChunk = <E, R>(
  manifest: ExportManifest.ExportManifest,
  options: ReadOptions,
  handle: (events: ReadonlyArray<ChangeEvent>, file: ExportManifest.DataFile) => Effect.Effect<void, E, R>
): Effect.Effect<void, ExportError | ServiceError | E, ObjectStore | R> =>
  openAhead(
    manifest.files,
    Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY),
    openDataFile,
    (body, file) => Stream.fromEffect(decodeDataFile(manifest, file, body, options, (events) => handle(events, file)))
  ).pipe(Stream.runDrain)

/**
 * Reads one data file of an export: its events in line order, then the MD5 and item-count checks. Events are
 * emitted as the file is read; a failed check fails the stream after them, so a consumer must treat the file as
 * applied only when the stream ends without error.
 */
export const readDataFile = (
  manifest: ExportManifest.ExportManifest,
  file: ExportManifest.DataFile,
  options: ReadOptions = {}
): Stream.Stream<ChangeEvent, ExportError | ServiceError, ObjectStore> =>
  Stream.unwrapScoped(Effect.map(openDataFile(file), (body) => dataFileEvents(manifest, file, body, options)))

/**
 * Reads a whole export: its manifests, then every data file in manifest order, the next ones opened ahead.
 *
 * @example
 * read("AWSDynamoDB/01768385930622-efd1a093/manifest-summary.json", { keySchema: ItemKey.make("pk", "sk") })
 */
export const read = (
  summaryKey: string,
  options: ReadOptions = {}
): Stream.Stream<ChangeEvent, ExportError | ServiceError, ObjectStore> =>
  Stream.unwrap(
    Effect.map(openManifest(summaryKey, options), (manifest) => readFiles(manifest, options))
  )

/** Reads the data files of an opened export in manifest order, up to `concurrency` of them open at once. */
export const readFiles = (
  manifest: ExportManifest.ExportManifest,
  options: ReadOptions = {}
): Stream.Stream<ChangeEvent, ExportError | ServiceError, ObjectStore> =>
  openAhead(
    manifest.files,
    Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY),
    openDataFile,
    (body, file) => dataFileEvents(manifest, file, body, options)
  )
