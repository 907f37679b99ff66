/**
 * Node streams as web streams, without the copies `Readable.toWeb` makes: it copies every chunk to detach it from
 * Buffer's shared pool, which doubles the bytes allocated and, for large chunks held a while, the memory waiting for
 * a full garbage collection. The chunks given here are the stream's own Buffers, never pooled (read streams and zlib
 * allocate each one) and never written again.
 */
import type { Readable, Writable } from "node:stream"

/**
 * A web stream of a Node stream's chunks: pulled on demand (the Node stream's own buffer does the reading ahead);
 * errors pass through; cancelling destroys the Node stream and calls `onCancel`.
 */
export const fromReadable = (
  readable: Readable,
  onCancel: (reason: unknown) => void = () => {}
): ReadableStream<Uint8Array> => {
  const chunks = readable[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await chunks.next()
      if (next.done === true) controller.close()
      else controller.enqueue(next.value)
    },
    cancel(reason) {
      readable.destroy()
      onCancel(reason)
    }
  }, { highWaterMark: 0 })
}

/**
 * Writes a web stream into a Node writable stream with backpressure, then ends it. A failure of the source destroys
 * the writable with that error; when the writable is destroyed first (failed, or its reader gone), the source is
 * cancelled.
 */
export const pipeInto = (source: ReadableStream<Uint8Array>, writable: Writable): void => {
  const reader = source.getReader()
  const drained = () =>
    new Promise<void>((resolve) => {
      if (writable.destroyed) return resolve()
      const done = () => {
        writable.off("drain", done)
        writable.off("close", done)
        resolve()
      }
      writable.on("drain", done)
      writable.on("close", done)
    })
  const pump = async () => {
    try {
      for (;;) {
        const next = await reader.read()
        if (writable.destroyed) return await reader.cancel()
        if (next.done) return void writable.end()
        if (!writable.write(next.value)) await drained()
      }
    } catch (error) {
      writable.destroy(error instanceof Error ? error : new Error(String(error)))
    }
  }
  void pump()
}
