/**
 * Fixtures for the export tests: temporary folders that stand for buckets, exports written in AWS's exact layout with
 * stable names, damaged exports, and reading an export with the real Node adapters.
 */
import { Effect, Either, Stream } from "effect"
import type { Scope } from "effect"
import { existsSync, readFileSync } from "node:fs"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as LocalExportWriter from "../../adapters/node/LocalExportWriter.ts"
import * as LocalObjectStore from "../../adapters/node/LocalObjectStore.ts"
import * as NodeGzip from "../../adapters/node/NodeGzip.ts"
import * as NodeMd5 from "../../adapters/node/NodeMd5.ts"
import type { Item } from "../../core/AttributeValue.ts"
import type { ChangeEvent } from "../../core/ChangeEvent.ts"
import * as Decompressor from "../../core/Decompressor.ts"
import type { ExportError } from "../../core/Errors.ts"
import * as ExportLayout from "../../core/ExportLayout.ts"
import * as ExportReader from "../../core/ExportReader.ts"
import * as Md5 from "../../core/Md5.ts"

/** The repository's root folder. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")

/** The real AWS export (full + two incrementals) kept in `../shared`: present in CI, absent in a user's clone. */
export const realExportRoot = path.resolve(repoRoot, "../shared/aws-real-exports/ddb-pitr-2026-01-eu-north-1")

/** True when {@link realExportRoot} is there. */
export const realExportPresent = existsSync(path.join(realExportRoot, "AWSDynamoDB"))

/** What a suite that needs the real export says when it is skipped. */
export const REAL_EXPORT_SKIPPED = "skipped: ../shared/aws-real-exports not present"

/**
 * The name of a suite that needs the real export: as is when the export is there; otherwise it says it is skipped and
 * why, and a warning says so at collection.
 */
export const realExportSuite = (name: string): string => {
  if (realExportPresent) return name
  console.warn(`${name}: ${REAL_EXPORT_SKIPPED} (looked in ${realExportRoot})`)
  return `${name} (${REAL_EXPORT_SKIPPED})`
}

/** The local path of a key in a bucket folder. */
export const localPath = (root: string, key: string): string => path.join(root, ...key.split("/"))

const parseEntries = (text: string): ReadonlyArray<ExportLayout.FileEntry> =>
  text.split("\n").filter((line) => line !== "").map((line) => JSON.parse(line) as ExportLayout.FileEntry)

/** The real export's three exports, in the order they were taken. */
export const REAL_EXPORTS = [
  { id: "01768385930622-efd1a093", type: "FULL_EXPORT", itemCount: 3 },
  { id: "01768386924000-d339e52d", type: "INCREMENTAL_EXPORT", itemCount: 6 },
  { id: "01768388186000-4a2fc3ff", type: "INCREMENTAL_EXPORT", itemCount: 5 }
] as const

/** The summary key of a real export. */
export const realSummaryKey = (id: string): string => `AWSDynamoDB/${id}/manifest-summary.json`

/** The bytes of a key of the real export's bucket folder. */
export const readRealBytes = (key: string): Uint8Array => new Uint8Array(readFileSync(localPath(realExportRoot, key)))

/** The text of a key of the real export's bucket folder. */
export const readRealText = (key: string): string => readFileSync(localPath(realExportRoot, key), "utf8")

/** A real data file's lines, from `decoded/` (`AWSDynamoDB/<dir>/<name>.json.gz` → `<dir>_<name>.jsonl`). */
export const readRealDecoded = (dataFileS3Key: string): string =>
  readFileSync(
    path.join(
      realExportRoot,
      "decoded",
      dataFileS3Key.replace(/^AWSDynamoDB\//, "").split("/").join("_").replace(/\.json\.gz$/, ".jsonl")
    ),
    "utf8"
  )

/** The entries of a real export's `manifest-files.json`. */
export const readRealEntries = (id: string): ReadonlyArray<ExportLayout.FileEntry> =>
  parseEntries(readRealText(`AWSDynamoDB/${id}/manifest-files.json`))

// ---------------------------------------------------------------------------------------------------------------------
// Temporary folders

/** A fresh temporary folder, removed with everything in it when the scope closes. */
export const tempDirectory: Effect.Effect<string, never, Scope.Scope> = Effect.acquireRelease(
  Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "backstream-test-"))),
  (directory) => Effect.promise(() => fs.rm(directory, { recursive: true, force: true }))
)

// ---------------------------------------------------------------------------------------------------------------------
// Writing exports

/** Seeded random bytes (mulberry32), for stable export ids and data file names. */
export const seededRandom = (seed: number): (size: number) => Uint8Array => {
  let state = seed >>> 0
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (t ^ (t >>> 14)) >>> 0
  }
  return (size) => {
    const out = new Uint8Array(size)
    for (let i = 0; i < size; i++) out[i] = next() & 0xff
    return out
  }
}

export const BUCKET = "backstream-test-bucket"
export const TABLE_ARN = "arn:aws:dynamodb:eu-north-1:123456789012:table/fixture"
/** 2026-01-14T10:18:50.622Z, the real export's time. */
export const EXPORT_TIME_MS = 1768385930622

/** An export written to a temporary bucket folder, with what a test needs to find and damage its files. */
export interface Fixture extends LocalExportWriter.WrittenExport {
  /** The folder that stands for the bucket. */
  readonly root: string
  /** The key of `manifest-files.json`. */
  readonly filesKey: string
  /** The manifest's entries, in its order. */
  readonly entries: ReadonlyArray<ExportLayout.FileEntry>
}

export interface WriteOptions {
  readonly prefix?: string
  readonly seed?: number
}

const fixture = async (root: string, written: LocalExportWriter.WrittenExport): Promise<Fixture> => {
  const filesKey = `${written.summaryKey.slice(0, -"manifest-summary.json".length)}manifest-files.json`
  const entries = parseEntries(await fs.readFile(localPath(root, filesKey), "utf8"))
  return { ...written, root, filesKey, entries }
}

const target = (root: string, options: WriteOptions): LocalExportWriter.ExportTarget => ({
  root,
  bucket: BUCKET,
  tableArn: TABLE_ARN,
  random: seededRandom(options.seed ?? 1),
  ...(options.prefix === undefined ? {} : { prefix: options.prefix })
})

/** Writes a full export of the given partitions (one data file each) with {@link LocalExportWriter}. */
export const writeFull = (
  root: string,
  partitions: ReadonlyArray<ReadonlyArray<Item>>,
  options: WriteOptions & { readonly exportTimeMs?: number } = {}
): Effect.Effect<Fixture> =>
  Effect.promise(async () =>
    fixture(
      root,
      await LocalExportWriter.writeFullExport(target(root, options), options.exportTimeMs ?? EXPORT_TIME_MS, partitions)
    )
  )

/** Writes an incremental export of the given partitions (one data file each) with {@link LocalExportWriter}. */
export const writeIncremental = (
  root: string,
  partitions: ReadonlyArray<ReadonlyArray<LocalExportWriter.IncrementalChange>>,
  options: WriteOptions & {
    readonly view: "NEW_AND_OLD_IMAGES" | "NEW_IMAGE"
    readonly fromMs?: number
    readonly toMs?: number
  }
): Effect.Effect<Fixture> =>
  Effect.promise(async () =>
    fixture(
      root,
      await LocalExportWriter.writeIncrementalExport(
        target(root, options),
        { fromMs: options.fromMs ?? EXPORT_TIME_MS, toMs: options.toMs ?? EXPORT_TIME_MS + 15 * 60_000 },
        options.view,
        partitions
      )
    )
  )

// ---------------------------------------------------------------------------------------------------------------------
// Damaging exports

/** The manifest entry of a file holding `bytes`: md5Checksum and etag as AWS computes them. */
export const entryFor = (bytes: Uint8Array, dataFileS3Key: string, itemCount: number): ExportLayout.FileEntry => {
  const digest = Md5.digest(bytes)
  return { itemCount, md5Checksum: ExportLayout.md5Checksum(digest), etag: ExportLayout.etag(digest), dataFileS3Key }
}

/** The number of lines in raw data file content: its `\n`s, plus one for a last line without one. */
export const countLines = (content: string): number =>
  content === "" ? 0 : content.split("\n").length - (content.endsWith("\n") ? 1 : 0)

/** How {@link writeManifest} treats `manifest-files.md5`. */
export type Md5File = "update" | "keep" | "remove"

/**
 * Rewrites `manifest-files.json` with `entries` (as AWS formats it). `md5` says what happens to `manifest-files.md5`
 * (default: updated to match); the summary's `itemCount` becomes `summaryItemCount` (default: the entries' sum).
 */
export const writeManifest = (
  exported: Fixture,
  entries: ReadonlyArray<ExportLayout.FileEntry>,
  options: { readonly md5?: Md5File; readonly summaryItemCount?: number } = {}
): Effect.Effect<Fixture> =>
  Effect.promise(async () => {
    const text = ExportLayout.filesManifest(entries)
    await writeRaw(exported, exported.filesKey, text)
    const md5Key = exported.filesKey.replace(/\.json$/, ".md5")
    const md5 = options.md5 ?? "update"
    if (md5 === "update") await writeRaw(exported, md5Key, ExportLayout.manifestMd5(text))
    if (md5 === "remove") await fs.rm(localPath(exported.root, md5Key), { force: true })
    const itemCount = options.summaryItemCount ?? entries.reduce((sum, entry) => sum + entry.itemCount, 0)
    await patchSummaryFile(exported, { itemCount })
    return { ...exported, entries, itemCount }
  })

const patchSummaryFile = async (exported: Fixture, fields: Record<string, unknown>) => {
  const summary = JSON.parse(await fs.readFile(exported.summaryPath, "utf8")) as Record<string, unknown>
  const text = JSON.stringify({ ...summary, ...fields })
  await fs.writeFile(exported.summaryPath, text)
  await fs.writeFile(exported.summaryPath.replace(/\.json$/, ".md5"), ExportLayout.manifestMd5(text))
}

/** Changes fields of the export's `manifest-summary.json` (keeping AWS's field order) and its `.md5`. */
export const patchSummary = (exported: Fixture, fields: Record<string, unknown>): Effect.Effect<void> =>
  Effect.promise(() => patchSummaryFile(exported, fields))

const writeRaw = (exported: Fixture, key: string, content: string | Uint8Array) =>
  fs.writeFile(localPath(exported.root, key), content)

/** Overwrites a key of the export's bucket with raw bytes or text. */
export const overwrite = (exported: Fixture, key: string, content: string | Uint8Array): Effect.Effect<void> =>
  Effect.promise(() => writeRaw(exported, key, content))

/** Deletes a key of the export's bucket. */
export const remove = (exported: Fixture, key: string): Effect.Effect<void> =>
  Effect.promise(() => fs.rm(localPath(exported.root, key)))

/** The bytes of a key of the export's bucket. */
export const readBytes = (exported: Fixture, key: string): Effect.Effect<Uint8Array> =>
  Effect.promise(async () => new Uint8Array(await fs.readFile(localPath(exported.root, key))))

/**
 * Replaces data file `index` (in manifest order) with `content`: raw lines, gzipped exactly as AWS would
 * ({@link LocalExportWriter.gzipLikeAws}), or, with `gzip: false`, bytes written as they are.
 *
 * - `manifest: "update"` (default): the entry gets the new file's md5Checksum and etag and `itemCount` (default: the
 *   content's line count); `manifest-files.md5` and the summary's item count follow, so only the content is wrong.
 * - `manifest: "md5"`: md5Checksum and etag are updated, the item count is `itemCount` (default: the old count).
 * - `manifest: "keep"`: the manifest is left as it was (the file's MD5 no longer matches).
 */
export const rewriteDataFile = (
  exported: Fixture,
  index: number,
  content: string | Uint8Array,
  options: { readonly manifest?: "update" | "md5" | "keep"; readonly itemCount?: number; readonly gzip?: boolean } = {}
): Effect.Effect<Fixture> =>
  Effect.gen(function* () {
    const entry = exported.entries[index]
    if (entry === undefined) return yield* Effect.dieMessage(`the export has no data file ${index}`)
    const bytes = options.gzip === false
      ? (typeof content === "string" ? new TextEncoder().encode(content) : content)
      : LocalExportWriter.gzipLikeAws(content)
    yield* overwrite(exported, entry.dataFileS3Key, bytes)
    const manifest = options.manifest ?? "update"
    if (manifest === "keep") return exported
    const lines = typeof content === "string" ? countLines(content) : countLines(new TextDecoder().decode(content))
    const itemCount = options.itemCount ?? (manifest === "update" ? lines : entry.itemCount)
    const entries = exported.entries.map((e, i) => (i === index ? entryFor(bytes, e.dataFileS3Key, itemCount) : e))
    return yield* writeManifest(exported, entries)
  })

// ---------------------------------------------------------------------------------------------------------------------
// Reading exports

/** What reading an export gave: every event emitted, then the error that ended the stream, if any. */
export interface ReadOutcome {
  readonly events: ReadonlyArray<ChangeEvent>
  readonly error: ExportError | undefined
}

/**
 * Runs {@link ExportReader.read} against `LocalObjectStore.layer(root)`, collecting every event emitted, including
 * those emitted before a failure, and the error. A defect is not caught: it fails the test.
 */
export const readExport = (
  root: string,
  summaryKey: string,
  options: ExportReader.ReadOptions = {}
): Effect.Effect<ReadOutcome> =>
  Effect.suspend(() => {
    const events: Array<ChangeEvent> = []
    return ExportReader.read(summaryKey, options).pipe(
      Stream.runForEachChunk((chunk) =>
        Effect.sync(() => {
          for (const event of chunk) events.push(event)
        })
      ),
      // A folder gives no service errors: one would be a defect.
      Effect.catchTags({
        NotFound: Effect.die,
        Throttled: Effect.die,
        AccessDenied: Effect.die,
        InvalidRequest: Effect.die,
        Unavailable: Effect.die
      }),
      Effect.either,
      Effect.map((result) => ({ events, error: Either.isLeft(result) ? result.left : undefined })),
      Effect.provide(LocalObjectStore.layer(root))
    )
  })

/** Reads a fixture export. */
export const read = (exported: Fixture, options: ExportReader.ReadOptions = {}): Effect.Effect<ReadOutcome> =>
  readExport(exported.root, exported.summaryKey, options)

/** Reads an export that must be read whole, returning its events. */
export const readAll = (
  root: string,
  summaryKey: string,
  options: ExportReader.ReadOptions = {}
): Effect.Effect<ReadonlyArray<ChangeEvent>> =>
  Effect.flatMap(
    readExport(root, summaryKey, options),
    ({ error, events }) =>
      error === undefined
        ? Effect.succeed(events)
        : Effect.dieMessage(`expected the export to read, got ${error.message}`)
  )

// ---------------------------------------------------------------------------------------------------------------------
// Adapters to run every good path with

/** A gunzip and an MD5 to read with: core's portable ones and Node's. */
export interface Variant {
  readonly name: string
  readonly decompress: Decompressor.Decompressor
  readonly md5: Md5.Md5Factory
}

export const decompressors = [
  { name: "web DecompressionStream", decompress: Decompressor.web },
  { name: "NodeGzip", decompress: NodeGzip.decompress }
] as const

export const md5s = [
  { name: "portable Md5", md5: Md5.md5 },
  { name: "NodeMd5", md5: NodeMd5.md5 }
] as const

/** Every pairing of {@link decompressors} and {@link md5s}. */
export const variants: ReadonlyArray<Variant> = decompressors.flatMap((d) =>
  md5s.map((m) => ({ name: `${d.name} + ${m.name}`, decompress: d.decompress, md5: m.md5 }))
)
