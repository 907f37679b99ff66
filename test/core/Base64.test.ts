import { assert, describe, it } from "@effect/vitest"
import { Buffer } from "node:buffer"
import { FastCheck as fc } from "effect"
import * as Base64 from "../../core/Base64.ts"

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

/** Node decodes leniently: text is canonical padded base64 exactly when re-encoding what Node reads gives it back. */
const isCanonical = (text: string) => Buffer.from(text, "base64").toString("base64") === text

const bytesOf = (bytes: Uint8Array | undefined) => bytes === undefined ? undefined : Array.from(bytes)

/** Mostly base64-looking text: alphabet characters, padding, base64url characters, whitespace and non-ASCII. */
const base64ishText = fc.oneof(
  fc.stringOf(fc.constantFrom(...ALPHABET, "=", "=", "-", "_", " ", "\n", "é", "\u0100"), { maxLength: 16 }),
  fc.tuple(fc.uint8Array({ maxLength: 12 }), fc.nat(), fc.constantFrom(...ALPHABET, "=", "-", "*", "\u00c1"))
    .map(([bytes, index, char]) => {
      const text = Buffer.from(bytes).toString("base64")
      if (text.length === 0) return char
      const at = index % text.length
      return text.slice(0, at) + char + text.slice(at + 1)
    })
)

describe("Base64", () => {
  it.prop("encodes arbitrary bytes as Node does", [fc.uint8Array({ maxLength: 300 })], ([bytes]) => {
    assert.strictEqual(Base64.encode(bytes), Buffer.from(bytes).toString("base64"))
  }, { fastCheck: { numRuns: 1000 } })

  it.prop("decodes what it encodes, and what Node encodes", [fc.uint8Array({ maxLength: 300 })], ([bytes]) => {
    const decoded = Base64.decode(Base64.encode(bytes))
    assert.instanceOf(decoded, Uint8Array)
    assert.deepStrictEqual(bytesOf(decoded), Array.from(bytes))
    assert.deepStrictEqual(bytesOf(Base64.decode(Buffer.from(bytes).toString("base64"))), Array.from(bytes))
  }, { fastCheck: { numRuns: 1000 } })

  it.prop("accepts exactly canonical padded base64, decoding it as Node does", [base64ishText], ([text]) => {
    const decoded = Base64.decode(text)
    if (isCanonical(text)) {
      assert.deepStrictEqual(bytesOf(decoded), Array.from(Buffer.from(text, "base64")), text)
    } else {
      assert.isUndefined(decoded, text)
    }
  }, { fastCheck: { numRuns: 2000 } })

  it.prop(
    "isCanonical holds exactly when decode gives bytes, for a whole text and for a part of a longer one",
    [base64ishText, base64ishText, base64ishText],
    ([before, text, after]) => {
      assert.strictEqual(Base64.isCanonical(text), isCanonical(text), text)
      const all = before + text + after
      const [start, end] = [before.length, before.length + text.length]
      assert.strictEqual(Base64.isCanonical(all, start, end), Base64.decode(all, start, end) !== undefined, all)
      assert.strictEqual(Base64.isCanonical(all, start, end), isCanonical(text), all)
    },
    { fastCheck: { numRuns: 2000 } }
  )

  it("decodes the empty string to no bytes", () => {
    const decoded = Base64.decode("")
    assert.instanceOf(decoded, Uint8Array)
    assert.strictEqual(decoded!.length, 0)
    assert.strictEqual(Base64.encode(new Uint8Array(0)), "")
  })

  it("decodes the documented example and every padding length", () => {
    assert.deepStrictEqual(bytesOf(Base64.decode("AAEC")), [0, 1, 2])
    assert.deepStrictEqual(bytesOf(Base64.decode("AA==")), [0])
    assert.deepStrictEqual(bytesOf(Base64.decode("AAE=")), [0, 1])
    assert.deepStrictEqual(bytesOf(Base64.decode("/w==")), [255])
    assert.deepStrictEqual(bytesOf(Base64.decode("+/+/")), [251, 255, 191])
    assert.strictEqual(Base64.encode(new Uint8Array([0, 1, 2])), "AAEC")
    assert.strictEqual(Base64.encode(new Uint8Array([255])), "/w==")
    assert.strictEqual(Base64.encode(new Uint8Array([0, 1])), "AAE=")
  })

  it("rejects a length that is not a multiple of 4", () => {
    for (const text of ["A", "AA", "AAE", "AAECA", "AAEC=", "AA=", "AA==="]) {
      assert.isUndefined(Base64.decode(text), text)
    }
  })

  it("rejects characters outside the standard alphabet", () => {
    for (const text of ["AA-C", "AA_C", "AA C", "AA\nC", "AA.C", "AAé=", "AA\u0100C", "😀AA", "AAE\u0000"]) {
      assert.isUndefined(Base64.decode(text), JSON.stringify(text))
    }
  })

  it("rejects misplaced padding", () => {
    for (const text of ["====", "A===", "=AAA", "A=AA", "AA=A", "AA==AAEC", "AAE=AAEC", "=AA=", "A=A=", "AAEC===="]) {
      assert.isUndefined(Base64.decode(text), text)
    }
  })

  it("rejects non-zero bits after the last byte", () => {
    for (const text of ["AB==", "AAB=", "AP==", "/x==", "AAF=", "AAECAB==", "AAECAAB="]) {
      assert.isUndefined(Base64.decode(text), text)
    }
    // The canonical spellings of the same bytes are accepted.
    assert.deepStrictEqual(bytesOf(Base64.decode("AA==")), [0])
    assert.deepStrictEqual(bytesOf(Base64.decode("AAA=")), [0, 0])
    assert.deepStrictEqual(bytesOf(Base64.decode("AAE=")), [0, 1])
  })
})
