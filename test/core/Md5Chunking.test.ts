/**
 * The portable MD5 and the Node one agree with `node:crypto` whatever the input's size and however it is cut into
 * chunks (block boundaries at 64 bytes, the padding's 55/56-byte edge, empty chunks, a chunk that fills a partial
 * block exactly).
 */
import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import { createHash } from "node:crypto"
import * as NodeMd5 from "../../adapters/node/NodeMd5.ts"
import * as Md5 from "../../core/Md5.ts"

const reference = (bytes: Uint8Array) => createHash("md5").update(bytes).digest("hex")

const size = fc.oneof(
  fc.integer({ min: 0, max: 200 }),
  fc.constantFrom(55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129),
  fc.integer({ min: 0, max: 5_000 })
)

/** Bytes and the points where they are cut into chunks (repeated points give empty chunks). */
const chunked = size.chain((length) =>
  fc.tuple(
    fc.uint8Array({ minLength: length, maxLength: length }),
    fc.array(fc.integer({ min: 0, max: length }), { maxLength: 12 }).map((cuts) => cuts.sort((a, b) => a - b))
  )
)

const chunks = (bytes: Uint8Array, cuts: ReadonlyArray<number>): Array<Uint8Array> => {
  const out: Array<Uint8Array> = []
  let from = 0
  for (const cut of [...cuts, bytes.length]) {
    out.push(bytes.subarray(from, cut))
    from = cut
  }
  return out
}

describe("Md5", () => {
  for (const [name, factory] of [["portable", Md5.md5], ["node", NodeMd5.md5]] as const) {
    it.prop(`${name}: fed in any chunks, the digest is node:crypto's`, [chunked], ([[bytes, cuts]]) => {
      const hasher = factory()
      for (const chunk of chunks(bytes, cuts)) hasher.update(chunk)
      assert.strictEqual(Md5.toHex(hasher.digest()), reference(bytes))
      assert.strictEqual(Md5.toHex(Md5.digest(bytes, factory)), reference(bytes))
    }, { fastCheck: { numRuns: 400 } })
  }

  it.prop("chunks that are views into a larger buffer hash only their own bytes", [chunked], ([[bytes, cuts]]) => {
    const padded = new Uint8Array(bytes.length + 32).fill(0xaa)
    padded.set(bytes, 16)
    const view = padded.subarray(16, 16 + bytes.length)
    const hasher = Md5.md5()
    for (const chunk of chunks(view, cuts)) hasher.update(chunk)
    assert.strictEqual(Md5.toHex(hasher.digest()), reference(bytes))
  })

  it.prop("text: the MD5 of its UTF-8 is node:crypto's of the string", [fc.fullUnicodeString({ maxLength: 300 })], ([
    text
  ]) => {
    const bytes = new TextEncoder().encode(text)
    assert.strictEqual(Md5.toHex(Md5.digest(bytes)), createHash("md5").update(text, "utf8").digest("hex"))
  })

  it("a hasher gives its digest once", () => {
    const hasher = Md5.md5()
    hasher.update(new Uint8Array(3))
    hasher.digest()
    assert.throws(() => hasher.digest())
    assert.throws(() => hasher.update(new Uint8Array(1)))
  })
})
