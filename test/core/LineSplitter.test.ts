import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import { LineSplitter } from "../../core/LineSplitter.ts"

const encoder = new TextEncoder()
const decoder = new TextDecoder("utf-8", { fatal: true })

/** Feeds `chunks` to a splitter: the decoded lines it gives, and what `end()` gives (decoded, or `undefined`). */
const split = (chunks: ReadonlyArray<Uint8Array>): { lines: Array<string>; last: string | undefined } => {
  const splitter = new LineSplitter()
  const lines: Array<string> = []
  // Decoding with a fatal decoder as soon as a line is returned: a character cut by a chunk boundary would throw, and
  // a view of a chunk is used before the next chunk arrives, as the splitter asks.
  for (const chunk of chunks) for (const line of splitter.push(chunk)) lines.push(decoder.decode(line))
  const end = splitter.end()
  return { lines, last: end === undefined ? undefined : decoder.decode(end) }
}

/** The lines of `text` as `split("\n")` sees them, less the empty string after a final newline (or of no text). */
const expectedLines = (text: string): { lines: Array<string>; last: string | undefined } => {
  const parts = text.split("\n")
  const last = parts.pop()!
  return { lines: parts, last: last === "" ? undefined : last }
}

/** Cuts bytes at the given offsets (sorted, repeats allowed: a repeated offset makes an empty chunk). */
const cut = (bytes: Uint8Array, offsets: ReadonlyArray<number>): Array<Uint8Array> => {
  const sorted = [...offsets].map((o) => o % (bytes.length + 1)).sort((a, b) => a - b)
  const chunks: Array<Uint8Array> = []
  let start = 0
  for (const offset of sorted) {
    chunks.push(bytes.slice(start, offset))
    start = offset
  }
  chunks.push(bytes.slice(start))
  return chunks
}

const piece = fc.oneof(
  fc.constantFrom(
    "\n",
    "\n\n",
    "a",
    '{"S":"x"}',
    "😀", // 4 bytes
    "👩‍👩‍👧‍👦", // emoji joined by ZWJ
    "🇸🇪", // regional indicators
    "日本語", // 3 bytes each
    "한국어",
    "é", // e + combining acute
    "ñ̃", // stacked combining marks
    "é", // precomposed, 2 bytes
    "\u0000",
    "\r"
  ),
  fc.string({ unit: "grapheme" }),
  fc.string({ unit: "binary", maxLength: 5 })
)

const text = fc.array(piece, { maxLength: 40 }).map((pieces) => pieces.join(""))

describe("LineSplitter", () => {
  it.prop(
    "random UTF-8 text cut at arbitrary byte offsets splits into the text's lines",
    [text, fc.array(fc.nat(), { maxLength: 30 })],
    ([text, offsets]) => {
      const chunks = cut(encoder.encode(text), offsets)
      assert.deepStrictEqual(split(chunks), expectedLines(text))
      const { last, lines } = split(chunks)
      assert.strictEqual([...lines, ...(last === undefined ? [] : [last])].join("\n"), text.replace(/\n$/, ""))
    },
    { fastCheck: { numRuns: 500 } }
  )

  it.prop(
    "one byte at a time, and the whole text at once, give the same lines",
    [text],
    ([text]) => {
      const bytes = encoder.encode(text)
      const single = Array.from(bytes, (byte) => Uint8Array.of(byte))
      assert.deepStrictEqual(split(single), expectedLines(text))
      assert.deepStrictEqual(split([bytes]), expectedLines(text))
    },
    { fastCheck: { numRuns: 300 } }
  )

  it("a last line without a newline is given by end()", () => {
    assert.deepStrictEqual(split([encoder.encode("a\nb\nlast")]), { lines: ["a", "b"], last: "last" })
    assert.deepStrictEqual(split([encoder.encode("only")]), { lines: [], last: "only" })
    assert.deepStrictEqual(split([encoder.encode("a\nb\n")]), { lines: ["a", "b"], last: undefined })
  })

  it("empty lines are lines", () => {
    assert.deepStrictEqual(split([encoder.encode("\n\na\n\n")]), { lines: ["", "", "a", ""], last: undefined })
  })

  it("empty chunks change nothing, wherever they come", () => {
    const empty = new Uint8Array(0)
    assert.deepStrictEqual(split([]), { lines: [], last: undefined })
    assert.deepStrictEqual(split([empty, empty]), { lines: [], last: undefined })
    assert.deepStrictEqual(split([empty, encoder.encode("a\nb"), empty, encoder.encode("c\n"), empty]), {
      lines: ["a", "bc"],
      last: undefined
    })
    assert.deepStrictEqual(split([encoder.encode("a\n"), empty]), { lines: ["a"], last: undefined })
  })

  it("a line spanning many chunks, cut inside multi-byte characters", () => {
    const line = "😀日本é".repeat(5_000)
    const bytes = encoder.encode(`first\n${line}\nlast`)
    // 7 is prime to every character's length: the cuts fall inside characters all along the line.
    const chunks = cut(bytes, Array.from({ length: Math.floor(bytes.length / 7) }, (_, i) => (i + 1) * 7))
    assert.isAbove(chunks.length, 5_000)
    const { last, lines } = split(chunks)
    assert.strictEqual(lines.length, 2)
    assert.strictEqual(lines[0], "first")
    assert.strictEqual(lines[1], line)
    assert.strictEqual(last, "last")
  })

  it("a line held across chunks is not changed when the caller reuses its buffer", () => {
    const splitter = new LineSplitter()
    const buffer = encoder.encode("abc")
    assert.deepStrictEqual(splitter.push(buffer), [])
    buffer.set(encoder.encode("xyz"))
    const [line] = splitter.push(encoder.encode("d\n"))
    assert.strictEqual(decoder.decode(line!), "abcd")
  })
})
