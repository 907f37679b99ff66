/**
 * Writes DynamoDB exports to a local directory (standing for a bucket) in AWS's exact layout: gzip bytes as AWS's
 * (zlib level 6, "unknown OS" header), checksums, manifests and their `.md5` files. Data files are streamed, so an
 * export of any size is written in bounded memory. For the demo, fixtures and benchmarks.
 */
import { createHash, randomBytes } from "node:crypto"
import { createWriteStream } from "node:fs"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Readable, Transform } from "node:stream"
import { pipeline } from "node:stream/promises"
import * as zlib from "node:zlib"
import type { Item } from "../../core/AttributeValue.ts"
import * as ExportLayout from "../../core/ExportLayout.ts"
import { md5 } from "./NodeMd5.ts"

export interface ExportTarget {
  /** The local folder that stands for the bucket. */
  readonly root: string
  readonly bucket: string
  readonly prefix?: string
  readonly tableArn: string
  readonly tableId?: string
  /** Random bytes for the export id and file names (default: crypto). Pass a seeded source for stable output. */
  readonly random?: (size: number) => Uint8Array
}

export interface WrittenExport {
  readonly exportArn: string
  readonly exportId: string
  /** The summary's key in the bucket, and its local path. */
  readonly summaryKey: string
  readonly summaryPath: string
  /** The export's local folder (`…/AWSDynamoDB/<ExportId>`). */
  readonly directory: string
  readonly itemCount: number
}

export interface IncrementalChange {
  readonly writeTimestampMicros: string
  readonly keys: Item
  readonly newImage?: Item
  readonly oldImage?: Item
}

const iso = (ms: number) => new Date(ms).toISOString()

const writeDataFile = async (file: string, lines: Iterable<string>) => {
  const hash = createHash("md5")
  let count = 0
  let first = true
  async function* batches() {
    let batch = ""
    for (const line of lines) {
      count++
      batch += line
      if (batch.length >= 64 * 1024) {
        yield batch
        batch = ""
      }
    }
    if (batch.length > 0) yield batch
  }
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      if (first && chunk.length > 9) {
        ExportLayout.patchGzipHeader(chunk)
        first = false
      }
      hash.update(chunk)
      callback(null, chunk)
    }
  })
  await pipeline(Readable.from(batches()), zlib.createGzip({ level: 6 }), tap, createWriteStream(file))
  return { digest: new Uint8Array(hash.digest()), count }
}

const write = async (
  target: ExportTarget,
  type: "FULL_EXPORT" | "INCREMENTAL_EXPORT",
  timeMs: number,
  partitions: ReadonlyArray<Iterable<string>>,
  summary: (fields: ExportLayout.SummaryFields) => string
): Promise<WrittenExport> => {
  const random = target.random ?? ((size: number) => new Uint8Array(randomBytes(size)))
  const id = ExportLayout.exportId(timeMs, Buffer.from(random(4)).toString("hex"))
  const keys = ExportLayout.manifestKeys(target.prefix, id)
  const dataDirectory = ExportLayout.dataDirectory(target.prefix, id, type)
  const local = (key: string) => path.join(target.root, ...key.split("/"))
  await fs.mkdir(local(dataDirectory), { recursive: true })
  await fs.mkdir(local(ExportLayout.exportDirectory(target.prefix, id)), { recursive: true })
  await fs.writeFile(local(keys.started), "")
  const entries: Array<ExportLayout.FileEntry> = []
  let itemCount = 0
  for (const lines of partitions) {
    const key = `${dataDirectory}/${ExportLayout.dataFileName(random(16))}`
    const { count, digest } = await writeDataFile(local(key), lines)
    itemCount += count
    entries.push({
      itemCount: count,
      md5Checksum: ExportLayout.md5Checksum(digest),
      etag: ExportLayout.etag(digest, md5),
      dataFileS3Key: key
    })
  }
  const files = ExportLayout.filesManifest(entries)
  await fs.writeFile(local(keys.files), files)
  await fs.writeFile(local(keys.filesMd5), ExportLayout.manifestMd5(files, md5))
  const exportArn = `${target.tableArn}/export/${id}`
  const text = summary({
    exportArn,
    startTime: iso(timeMs),
    endTime: iso(timeMs + 5 * 60_000),
    tableArn: target.tableArn,
    tableId: target.tableId ?? "00000000-0000-4000-8000-000000000000",
    s3Bucket: target.bucket,
    s3Prefix: target.prefix ?? null,
    manifestFilesS3Key: keys.files,
    billedSizeBytes: 0,
    itemCount
  })
  await fs.writeFile(local(keys.summary), text)
  await fs.writeFile(local(keys.summaryMd5), ExportLayout.manifestMd5(text, md5))
  return {
    exportArn,
    exportId: id,
    summaryKey: keys.summary,
    summaryPath: local(keys.summary),
    directory: local(ExportLayout.exportDirectory(target.prefix, id)),
    itemCount
  }
}

function* map<A, B>(items: Iterable<A>, f: (a: A) => B): Iterable<B> {
  for (const item of items) yield f(item)
}

/** Writes a full export at `exportTimeMs`: one data file per partition (an empty one is AWS's 20-byte gzip). */
export const writeFullExport = (
  target: ExportTarget,
  exportTimeMs: number,
  partitions: ReadonlyArray<Iterable<Item>>
): Promise<WrittenExport> =>
  write(
    target,
    "FULL_EXPORT",
    exportTimeMs,
    partitions.map((items) => map(items, ExportLayout.fullLine)),
    (fields) => ExportLayout.fullSummary({ ...fields, exportTime: iso(exportTimeMs) })
  )

/** Writes an incremental export of the changes in [fromMs, toMs), its data files in the shared `data/` folder. */
export const writeIncrementalExport = (
  target: ExportTarget,
  window: { readonly fromMs: number; readonly toMs: number; readonly startMs?: number },
  outputView: "NEW_AND_OLD_IMAGES" | "NEW_IMAGE",
  partitions: ReadonlyArray<Iterable<IncrementalChange>>
): Promise<WrittenExport> =>
  write(
    target,
    "INCREMENTAL_EXPORT",
    window.startMs ?? window.toMs,
    partitions.map((changes) => map(changes, ExportLayout.incrementalLine)),
    (fields) =>
      ExportLayout.incrementalSummary({
        ...fields,
        exportFromTime: iso(window.fromMs),
        exportToTime: iso(window.toMs),
        outputView
      })
  )

/** Writes raw data lines as one gzip file exactly as AWS would (for tests that craft bad lines). */
export const gzipLikeAws = (content: string | Uint8Array): Uint8Array =>
  ExportLayout.patchGzipHeader(new Uint8Array(zlib.gzipSync(content, { level: 6 })))
