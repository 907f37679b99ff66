/**
 * Gunzip with Node's zlib and 256 KiB output chunks: about twice as fast as `DecompressionStream` on Node 20, and it
 * runs on libuv's thread pool, beside the JavaScript that parses the lines.
 */
import { Readable } from "node:stream"
import * as zlib from "node:zlib"
import type { Decompressor } from "../../core/Decompressor.ts"

const CHUNK = 256 * 1024

export const decompress: Decompressor = (gzip) => {
  const source = Readable.fromWeb(gzip as import("node:stream/web").ReadableStream<Uint8Array>, { highWaterMark: 4 })
  const gunzip = zlib.createGunzip({ chunkSize: CHUNK })
  source.on("error", (error) => gunzip.destroy(error))
  gunzip.on("close", () => source.destroy())
  source.pipe(gunzip)
  return Readable.toWeb(gunzip) as unknown as ReadableStream<Uint8Array>
}
