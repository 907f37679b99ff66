/**
 * Gzip decompression of byte streams, injectable: the web `DecompressionStream` is the portable default; a runtime
 * with a faster inflater (Node's zlib with large output chunks is about twice as fast) passes its own.
 *
 * @module
 */

/** Turns a stream of gzip bytes into the stream of its decompressed bytes, failing the stream on corrupt input. */
export type Decompressor = (gzip: ReadableStream<Uint8Array>) => ReadableStream<Uint8Array>

/** Gunzip with the web-standard `DecompressionStream`. */
export const web: Decompressor = (gzip) =>
  gzip.pipeThrough(new DecompressionStream("gzip") as unknown as ReadableWritablePair<Uint8Array, Uint8Array>)
