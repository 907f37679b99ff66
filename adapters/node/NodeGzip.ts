/**
 * Gunzip with Node's zlib and 256 KiB output chunks: about twice as fast as `DecompressionStream` on Node 20, and it
 * runs on libuv's thread pool, beside the JavaScript that parses the lines.
 */
import * as zlib from "node:zlib"
import type { Decompressor } from "../../core/Decompressor.ts"
import { fromReadable, pipeInto } from "./internal/webStreams.ts"

const CHUNK = 256 * 1024

export const decompress: Decompressor = (gzip) => {
  const gunzip = zlib.createGunzip({ chunkSize: CHUNK })
  pipeInto(gzip, gunzip)
  return fromReadable(gunzip)
}
