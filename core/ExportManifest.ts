/**
 * The manifests of a DynamoDB export to S3. `AWSDynamoDB/<ExportId>/manifest-summary.json` describes the export and
 * names `manifest-files.json`, which lists the data files one JSON object a line. Key paths in both include the
 * export's S3 prefix, if any. An incremental export's data files live in a `data/` folder shared by several exports:
 * only the manifest says which are this export's.
 *
 * @module
 */
import { Either, ParseResult, Schema } from "effect"
import * as Base64 from "./Base64.ts"
import { ExportManifestInvalid } from "./Errors.ts"

/** The file name of an export's summary manifest. */
export const SUMMARY_FILE = "manifest-summary.json"
/** The file name of an export's file list. */
export const FILES_FILE = "manifest-files.json"

const IsoTime = Schema.String.pipe(
  Schema.filter((text) => !Number.isNaN(Date.parse(text)) || `${JSON.stringify(text)} is not an ISO-8601 time`)
)

/** `manifest-summary.json`, as AWS writes it (versions 2020-06-30 and 2023-08-01). */
export const SummaryJson = Schema.Struct({
  version: Schema.String,
  exportArn: Schema.String,
  startTime: Schema.optional(IsoTime),
  endTime: Schema.optional(IsoTime),
  tableArn: Schema.optional(Schema.String),
  tableId: Schema.optional(Schema.String),
  exportTime: Schema.optional(IsoTime),
  exportFromTime: Schema.optional(IsoTime),
  exportToTime: Schema.optional(IsoTime),
  s3Bucket: Schema.optional(Schema.NullOr(Schema.String)),
  s3Prefix: Schema.optional(Schema.NullOr(Schema.String)),
  s3SseAlgorithm: Schema.optional(Schema.NullOr(Schema.String)),
  s3SseKmsKeyId: Schema.optional(Schema.NullOr(Schema.String)),
  manifestFilesS3Key: Schema.String.pipe(
    Schema.filter((key) => key.endsWith(`/${FILES_FILE}`) || key === FILES_FILE || `does not end with ${FILES_FILE}`)
  ),
  billedSizeBytes: Schema.optional(Schema.NonNegativeInt),
  itemCount: Schema.NonNegativeInt,
  outputFormat: Schema.String,
  outputView: Schema.optional(Schema.Literal("NEW_AND_OLD_IMAGES", "NEW_IMAGE")),
  exportType: Schema.optional(Schema.Literal("FULL_EXPORT", "INCREMENTAL_EXPORT"))
})

/** One line of `manifest-files.json`. */
export const FileJson = Schema.Struct({
  itemCount: Schema.NonNegativeInt,
  md5Checksum: Schema.String.pipe(
    Schema.filter((text) => Base64.decode(text)?.length === 16 || "is not the base64 of a 16-byte MD5")
  ),
  etag: Schema.String,
  dataFileS3Key: Schema.String.pipe(Schema.minLength(1))
})

/** A data file of an export, as the manifest lists it. */
export type DataFile = typeof FileJson.Type

/** What an export is, read from its summary. */
export interface ExportSummary {
  readonly exportArn: string
  readonly type: "FULL_EXPORT" | "INCREMENTAL_EXPORT"
  /** A full export's point in time, in ms since the epoch. */
  readonly exportTimeMs?: number
  /** An incremental export's window, in ms since the epoch. */
  readonly fromTimeMs?: number
  readonly toTimeMs?: number
  /** An incremental export's view type. */
  readonly outputView?: "NEW_AND_OLD_IMAGES" | "NEW_IMAGE"
  readonly itemCount: number
  /** The bucket the export was written to, when the summary says. */
  readonly bucket?: string
  /** The key of the export's folder (`[prefix/]AWSDynamoDB/<ExportId>`). */
  readonly directory: string
  readonly manifestFilesKey: string
  /** The summary exactly as read. */
  readonly json: typeof SummaryJson.Type
}

/** An export's summary and its data files. */
export interface ExportManifest {
  readonly summary: ExportSummary
  readonly files: ReadonlyArray<DataFile>
}

const describeIssue = (error: ParseResult.ParseError): string =>
  ParseResult.ArrayFormatter.formatErrorSync(error)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join(".") + ": " : ""}${issue.message}`)
    .join("; ")

const parseJson = (text: string, file: string, what: string): Either.Either<unknown, ExportManifestInvalid> => {
  try {
    return Either.right(JSON.parse(text))
  } catch (error) {
    return Either.left(new ExportManifestInvalid({ file, reason: `${what} is not JSON (${(error as Error).message})` }))
  }
}

/** The folder of a manifest key (`a/b/manifest-files.json` → `a/b`). */
export const directoryOf = (key: string): string => {
  const slash = key.lastIndexOf("/")
  return slash === -1 ? "" : key.slice(0, slash)
}

/** Joins a folder key and a name. */
export const join = (directory: string, name: string): string => (directory === "" ? name : `${directory}/${name}`)

/** Parses `manifest-summary.json`. `file` names it in errors. */
export const parseSummary = (text: string, file: string): Either.Either<ExportSummary, ExportManifestInvalid> =>
  Either.flatMap(parseJson(text, file, "the summary"), (json) => {
    const decoded = Schema.decodeUnknownEither(SummaryJson)(json)
    if (Either.isLeft(decoded)) {
      return Either.left(new ExportManifestInvalid({ file, reason: describeIssue(decoded.left) }))
    }
    const summary = decoded.right
    if (summary.outputFormat !== "DYNAMODB_JSON") {
      return Either.left(
        new ExportManifestInvalid({
          file,
          reason: `the export's format is ${summary.outputFormat}; backstream reads DYNAMODB_JSON exports: export `
            + `again with --export-format DYNAMODB_JSON`
        })
      )
    }
    const type = summary.exportType ?? "FULL_EXPORT"
    if (type === "FULL_EXPORT" && summary.exportTime === undefined) {
      return Either.left(new ExportManifestInvalid({ file, reason: "a full export's summary has no exportTime" }))
    }
    if (type === "INCREMENTAL_EXPORT" && (summary.exportFromTime === undefined || summary.exportToTime === undefined)) {
      return Either.left(
        new ExportManifestInvalid({
          file,
          reason: "an incremental export's summary has no exportFromTime/exportToTime"
        })
      )
    }
    const time = (text: string | undefined) => (text === undefined ? {} : Date.parse(text))
    const exportTime = time(summary.exportTime), from = time(summary.exportFromTime), to = time(summary.exportToTime)
    return Either.right({
      exportArn: summary.exportArn,
      type,
      ...(typeof exportTime === "number" ? { exportTimeMs: exportTime } : {}),
      ...(typeof from === "number" ? { fromTimeMs: from } : {}),
      ...(typeof to === "number" ? { toTimeMs: to } : {}),
      ...(summary.outputView === undefined ? {} : { outputView: summary.outputView }),
      ...(typeof summary.s3Bucket === "string" ? { bucket: summary.s3Bucket } : {}),
      itemCount: summary.itemCount,
      directory: directoryOf(summary.manifestFilesS3Key),
      manifestFilesKey: summary.manifestFilesS3Key,
      json: summary
    })
  })

/**
 * Parses `manifest-files.json` and checks it against the summary: every line a file entry, no file twice, and the
 * item counts adding up to the summary's (a truncated list would otherwise lose files silently).
 */
export const parseFiles = (
  text: string,
  summary: ExportSummary
): Either.Either<ReadonlyArray<DataFile>, ExportManifestInvalid> => {
  const file = summary.manifestFilesKey
  const lines = text.split("\n")
  if (lines[lines.length - 1] === "") lines.pop()
  const files: Array<DataFile> = []
  const seen = new Set<string>()
  let total = 0
  for (let i = 0; i < lines.length; i++) {
    const json = parseJson(lines[i]!, file, `line ${i + 1}`)
    if (Either.isLeft(json)) return Either.left(json.left)
    const entry = Schema.decodeUnknownEither(FileJson)(json.right)
    if (Either.isLeft(entry)) {
      return Either.left(new ExportManifestInvalid({ file, reason: `line ${i + 1}: ${describeIssue(entry.left)}` }))
    }
    if (seen.has(entry.right.dataFileS3Key)) {
      return Either.left(
        new ExportManifestInvalid({ file, reason: `line ${i + 1}: ${entry.right.dataFileS3Key} is listed twice` })
      )
    }
    seen.add(entry.right.dataFileS3Key)
    total += entry.right.itemCount
    files.push(entry.right)
  }
  if (total !== summary.itemCount) {
    return Either.left(
      new ExportManifestInvalid({
        file,
        reason: `its files hold ${total} items but the summary says ${summary.itemCount}: the file list is `
          + `incomplete or belongs to another export`
      })
    )
  }
  return Either.right(files)
}
