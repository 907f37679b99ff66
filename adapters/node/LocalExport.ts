/**
 * Finds an export on the local disk: `<path>` is an export folder (`…/AWSDynamoDB/<ExportId>`) or its
 * `manifest-summary.json`. The folder that stands for the bucket is what remains of the path once the summary's own
 * key (which includes the export's S3 prefix) is taken off its end.
 */
import { Data, Effect, Either } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import type { ExportManifestInvalid } from "../../core/Errors.ts"
import * as ExportManifest from "../../core/ExportManifest.ts"

export class LocalExportNotFound extends Data.TaggedError("LocalExportNotFound")<{
  readonly path: string
  readonly reason: string
}> {
  override get message() {
    return `${this.path}: ${this.reason}`
  }
}

export interface LocalExport {
  /** The folder that stands for the bucket. */
  readonly root: string
  /** The summary's key in that bucket. */
  readonly summaryKey: string
}

export const locate = (input: string): Effect.Effect<LocalExport, LocalExportNotFound | ExportManifestInvalid> =>
  Effect.gen(function* () {
    const notFound = (reason: string) => new LocalExportNotFound({ path: input, reason })
    const resolved = yield* Effect.tryPromise({
      try: () => fs.realpath(input),
      catch: () => notFound("no such file or folder")
    })
    const stat = yield* Effect.promise(() => fs.stat(resolved))
    const summaryPath = stat.isDirectory() ? path.join(resolved, ExportManifest.SUMMARY_FILE) : resolved
    if (path.basename(summaryPath) !== ExportManifest.SUMMARY_FILE) {
      return yield* notFound(
        `expected an export folder (…/AWSDynamoDB/<ExportId>) or its ${ExportManifest.SUMMARY_FILE}`
      )
    }
    const text = yield* Effect.tryPromise({
      try: () => fs.readFile(summaryPath, "utf8"),
      catch: () =>
        notFound(
          `there is no ${ExportManifest.SUMMARY_FILE} here: expected an export folder (…/AWSDynamoDB/<ExportId>)`
        )
    })
    const summary = yield* Either.match(ExportManifest.parseSummary(text, summaryPath), {
      onLeft: Effect.fail,
      onRight: Effect.succeed
    })
    const folder = path.dirname(summaryPath).split(path.sep).join("/")
    const suffix = summary.directory
    if (suffix !== "" && folder !== suffix && !folder.endsWith(`/${suffix}`)) {
      return yield* notFound(
        `the summary says the export lives at ${suffix}, but this folder is ${folder}: keep the export's layout `
          + `(bucket root/${suffix}) when copying it from S3`
      )
    }
    const root = suffix === "" ? folder : folder.slice(0, folder.length - suffix.length) || "/"
    return { root, summaryKey: ExportManifest.join(suffix, ExportManifest.SUMMARY_FILE) }
  })
