/**
 * AWS's layout of an export in S3, for writing exports that readers of real ones accept: folder and file names,
 * manifests with AWS's field order, checksums as AWS computes them, and the data lines. Checked byte for byte
 * against a real export in the tests.
 *
 * ```
 * [prefix/]AWSDynamoDB/<ExportId>/manifest-summary.json, manifest-summary.md5, manifest-files.json,
 *                                 manifest-files.md5, _started, data/<26 characters>.json.gz   (full export)
 * [prefix/]AWSDynamoDB/data/<26 characters>.json.gz                                           (incremental)
 * ```
 *
 * @module
 */
import type { Item } from "./AttributeValue.ts"
import * as Base64 from "./Base64.ts"
import * as DynamoJson from "./DynamoJson.ts"
import { FILES_FILE, join, SUMMARY_FILE } from "./ExportManifest.ts"
import * as Md5 from "./Md5.ts"

/** The gzip of nothing, exactly as AWS writes an empty partition (20 bytes). */
export const EMPTY_GZIP: Uint8Array = Uint8Array.of(
  0x1f,
  0x8b,
  0x08,
  0,
  0,
  0,
  0,
  0,
  0,
  0xff,
  0x03,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0
)

/** AWS's gzip headers say "unknown OS" (byte 9 = 0xff); a deflater's own header is patched to match, in place. */
export const patchGzipHeader = (gzip: Uint8Array): Uint8Array => {
  if (gzip.length > 9) gzip[9] = 0xff
  return gzip
}

/** An export id: the start time in ms, 14 digits, and 8 hex digits (`01768385930622-efd1a093`). */
export const exportId = (timeMs: number, suffix: string): string => `${String(timeMs).padStart(14, "0")}-${suffix}`

const BASE32 = "abcdefghijklmnopqrstuvwxyz234567"

/** A data file's base name from 16 random bytes: 26 characters of lowercase base32 (`5mrfg3b44e3vhnfickkozoym6a`). */
export const dataFileName = (random: Uint8Array): string => {
  let out = ""
  let bits = 0, value = 0
  for (const byte of random) {
    value = (value << 8) | byte
    bits += 8
    while (bits >= 5 && out.length < 26) {
      out += BASE32[(value >>> (bits - 5)) & 31]
      bits -= 5
    }
    value &= (1 << bits) - 1
  }
  while (out.length < 26) {
    out += BASE32[(value << (5 - bits)) & 31]
    bits = 0
    value = 0
  }
  return `${out}.json.gz`
}

const root = (prefix: string | undefined): string => (prefix ?? "").replace(/\/+$/, "")

/** The folder of an export: `[prefix/]AWSDynamoDB/<ExportId>`. */
export const exportDirectory = (prefix: string | undefined, id: string): string =>
  join(root(prefix), `AWSDynamoDB/${id}`)

/** Where an export's data files go: its own `data/` (full) or the shared `[prefix/]AWSDynamoDB/data` (incremental). */
export const dataDirectory = (prefix: string | undefined, id: string, type: "FULL_EXPORT" | "INCREMENTAL_EXPORT") =>
  type === "FULL_EXPORT" ? `${exportDirectory(prefix, id)}/data` : join(root(prefix), "AWSDynamoDB/data")

/** The keys of an export's manifest files. */
export const manifestKeys = (prefix: string | undefined, id: string) => {
  const directory = exportDirectory(prefix, id)
  return {
    summary: `${directory}/${SUMMARY_FILE}`,
    summaryMd5: `${directory}/manifest-summary.md5`,
    files: `${directory}/${FILES_FILE}`,
    filesMd5: `${directory}/manifest-files.md5`,
    started: `${directory}/_started`
  }
}

/** `md5Checksum`: base64 of the MD5 of the file's bytes. */
export const md5Checksum = (digest: Uint8Array): string => Base64.encode(digest)

/** S3's ETag of an object uploaded in one multipart part, as AWS writes data files: hex(MD5(MD5)) + "-1". */
export const etag = (digest: Uint8Array, md5: Md5.Md5Factory = Md5.md5): string =>
  `${Md5.toHex(Md5.digest(digest, md5))}-1`

/** The content of a `.md5` file for a manifest: base64 of the MD5 of its bytes, no newline. */
export const manifestMd5 = (text: string, md5: Md5.Md5Factory = Md5.md5): string =>
  Base64.encode(Md5.digest(new TextEncoder().encode(text), md5))

/** What the summary of an export says. */
export interface SummaryFields {
  readonly exportArn: string
  readonly startTime: string
  readonly endTime: string
  readonly tableArn: string
  readonly tableId: string
  readonly s3Bucket: string
  readonly s3Prefix: string | null
  readonly manifestFilesS3Key: string
  readonly billedSizeBytes: number
  readonly itemCount: number
}

// AWS's field order: the export's identity and times, then where it went, then what it holds, then the type fields.
const summary = (
  version: string,
  fields: SummaryFields,
  times: Record<string, string>,
  type: Record<string, string>
): string =>
  JSON.stringify({
    version,
    exportArn: fields.exportArn,
    startTime: fields.startTime,
    endTime: fields.endTime,
    tableArn: fields.tableArn,
    tableId: fields.tableId,
    ...times,
    s3Bucket: fields.s3Bucket,
    s3Prefix: fields.s3Prefix,
    s3SseAlgorithm: "AES256",
    s3SseKmsKeyId: null,
    manifestFilesS3Key: fields.manifestFilesS3Key,
    billedSizeBytes: fields.billedSizeBytes,
    itemCount: fields.itemCount,
    outputFormat: "DYNAMODB_JSON",
    ...type
  })

/** `manifest-summary.json` of a full export, fields in AWS's order (no trailing newline, as AWS). */
export const fullSummary = (fields: SummaryFields & { readonly exportTime: string }): string =>
  summary("2020-06-30", fields, { exportTime: fields.exportTime }, {})

/** `manifest-summary.json` of an incremental export, fields in AWS's order. */
export const incrementalSummary = (
  fields: SummaryFields & {
    readonly exportFromTime: string
    readonly exportToTime: string
    readonly outputView: "NEW_AND_OLD_IMAGES" | "NEW_IMAGE"
  }
): string =>
  summary(
    "2023-08-01",
    fields,
    { exportFromTime: fields.exportFromTime, exportToTime: fields.exportToTime },
    { outputView: fields.outputView, exportType: "INCREMENTAL_EXPORT" }
  )

/** One entry of `manifest-files.json`. */
export interface FileEntry {
  readonly itemCount: number
  readonly md5Checksum: string
  readonly etag: string
  readonly dataFileS3Key: string
}

/** `manifest-files.json`: one entry a line, fields in AWS's order, each line ended by a newline. */
export const filesManifest = (entries: ReadonlyArray<FileEntry>): string =>
  entries.map((e) =>
    JSON.stringify({ itemCount: e.itemCount, md5Checksum: e.md5Checksum, etag: e.etag, dataFileS3Key: e.dataFileS3Key })
  ).join("\n") + (entries.length > 0 ? "\n" : "")

/** A full export's data line (with its newline). */
export const fullLine = (item: Item): string => `${JSON.stringify({ Item: DynamoJson.encodeItem(item) })}\n`

/** An incremental export's data line (with its newline): `Metadata`, `Keys`, then the images that exist. */
export const incrementalLine = (change: {
  readonly writeTimestampMicros: string
  readonly keys: Item
  readonly newImage?: Item
  readonly oldImage?: Item
}): string =>
  `${
    JSON.stringify({
      Metadata: { WriteTimestampMicros: { N: change.writeTimestampMicros } },
      Keys: DynamoJson.encodeItem(change.keys),
      ...(change.oldImage === undefined ? {} : { OldImage: DynamoJson.encodeItem(change.oldImage) }),
      ...(change.newImage === undefined ? {} : { NewImage: DynamoJson.encodeItem(change.newImage) })
    })
  }\n`
