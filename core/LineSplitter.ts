/**
 * Splits a byte stream into lines on `\n` bytes, before any text decoding, so a multi-byte UTF-8 character cut by a
 * chunk boundary is never corrupted, and no string larger than one line is ever built.
 *
 * @module
 */

/** A stateful splitter: feed it chunks in order, then call {@link LineSplitter.end}. */
export class LineSplitter {
  private pending: Uint8Array | undefined = undefined

  /**
   * The complete lines that `chunk` finishes, without their `\n`. The returned arrays may be views of `chunk`: use
   * them before the chunk's buffer is reused.
   */
  push(chunk: Uint8Array): Array<Uint8Array> {
    const lines: Array<Uint8Array> = []
    if (chunk.length === 0) return lines
    let start = 0
    let newline = chunk.indexOf(10)
    if (newline === -1) {
      this.pending = this.pending === undefined ? chunk.slice() : concat(this.pending, chunk)
      return lines
    }
    if (this.pending !== undefined) {
      lines.push(concat(this.pending, chunk.subarray(0, newline)))
      this.pending = undefined
      start = newline + 1
      newline = chunk.indexOf(10, start)
    }
    while (newline !== -1) {
      lines.push(chunk.subarray(start, newline))
      start = newline + 1
      newline = chunk.indexOf(10, start)
    }
    if (start < chunk.length) this.pending = chunk.slice(start)
    return lines
  }

  /** The last line when the stream did not end with `\n`, else `undefined`. */
  end(): Uint8Array | undefined {
    const last = this.pending
    this.pending = undefined
    return last
  }
}

const concat = (a: Uint8Array, b: Uint8Array): Uint8Array => {
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}
