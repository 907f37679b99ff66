/**
 * Renders an export's files in AWS's layout (see `core/ExportLayout.ts`): gzip data files, one per partition (an
 * empty partition is the 20-byte empty gzip), checksums as AWS computes them, manifests and their `.md5` files. The
 * gzip comes from the web `CompressionStream`, so this runs on any runtime.
 */
import { Effect } from "effect"
import * as ExportLayout from "../../core/ExportLayout.ts"
import * as Md5 from "../../core/Md5.ts"

export interface RenderedFile {
  readonly key: string
  readonly bytes: Uint8Array
  readonly contentType: string
}

const encoder = new TextEncoder()

const gzip = (text: string): Effect.Effect<Uint8Array> =>
  text.length === 0 ? Effect.succeed(ExportLayout.EMPTY_GZIP.slice()) : Effect.promise(async () => {
    const stream = new Blob([encoder.encode(text)]).stream().pipeThrough(
      new CompressionStream("gzip") as unknown as ReadableWritablePair<Uint8Array, Uint8Array>
    )
    return ExportLayout.patchGzipHeader(new Uint8Array(await new Response(stream).arrayBuffer()))
  })

export interface ExportFilesInput {
  readonly type: "FULL_EXPORT" | "INCREMENTAL_EXPORT"
  readonly prefix: string | undefined
  readonly exportId: string
  /** Each partition's data lines, each ending with a newline. */
  readonly partitions: ReadonlyArray<ReadonlyArray<string>>
  /** Random bytes for file names. */
  readonly random: (size: number) => Uint8Array
  /** The summary, given the manifest key and the item count. */
  readonly summary: (
    fields: { readonly manifestFilesS3Key: string; readonly itemCount: number; readonly billedSizeBytes: number }
  ) => string
}

/** Every file of an export, in the order AWS writes them (`_started` first, the summary last). */
export const render = (input: ExportFilesInput): Effect.Effect<ReadonlyArray<RenderedFile>> =>
  Effect.gen(function* () {
    const keys = ExportLayout.manifestKeys(input.prefix, input.exportId)
    const dataDirectory = ExportLayout.dataDirectory(input.prefix, input.exportId, input.type)
    const files: Array<RenderedFile> = [{
      key: keys.started,
      bytes: new Uint8Array(0),
      contentType: "binary/octet-stream"
    }]
    const entries: Array<ExportLayout.FileEntry> = []
    let itemCount = 0, billedSizeBytes = 0
    for (const lines of input.partitions) {
      const text = lines.join("")
      const bytes = yield* gzip(text)
      const digest = Md5.digest(bytes)
      const key = `${dataDirectory}/${ExportLayout.dataFileName(input.random(16))}`
      files.push({ key, bytes, contentType: "application/x-gzip" })
      entries.push({
        itemCount: lines.length,
        md5Checksum: ExportLayout.md5Checksum(digest),
        etag: ExportLayout.etag(digest),
        dataFileS3Key: key
      })
      itemCount += lines.length
      billedSizeBytes += encoder.encode(text).length
    }
    const manifest = ExportLayout.filesManifest(entries)
    files.push({ key: keys.files, bytes: encoder.encode(manifest), contentType: "application/json" })
    files.push({
      key: keys.filesMd5,
      bytes: encoder.encode(ExportLayout.manifestMd5(manifest)),
      contentType: "text/plain"
    })
    const summary = input.summary({ manifestFilesS3Key: keys.files, itemCount, billedSizeBytes })
    files.push({ key: keys.summary, bytes: encoder.encode(summary), contentType: "application/json" })
    files.push({
      key: keys.summaryMd5,
      bytes: encoder.encode(ExportLayout.manifestMd5(summary)),
      contentType: "text/plain"
    })
    return files
  })
