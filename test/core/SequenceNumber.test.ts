import { assert, describe, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import * as SequenceNumber from "../../core/SequenceNumber.ts"

const digits = (min: number, max: number) =>
  fc.array(fc.constantFrom(..."0123456789"), { minLength: min, maxLength: max }).map((d) => d.join(""))
const sequenceNumber = fc.oneof(
  digits(21, 40),
  fc.tuple(fc.constantFrom("", "0", "000"), fc.constantFrom("1", "4"), digits(20, 22)).map(([z, h, t]) => z + h + t)
)

describe("SequenceNumber", () => {
  it.prop("compares as big integers", [sequenceNumber, sequenceNumber], ([a, b]) => {
    const x = BigInt(a), y = BigInt(b)
    assert.strictEqual(SequenceNumber.compare(a, b), x < y ? -1 : x > y ? 1 : 0)
    assert.strictEqual(SequenceNumber.compare(b, a), -SequenceNumber.compare(a, b) || 0)
  }, { fastCheck: { numRuns: 5000 } })

  it("orders numbers of different lengths numerically, not as strings", () => {
    const shorter = "9".repeat(21), longer = "1" + "0".repeat(21)
    assert.isTrue(shorter > longer)
    assert.strictEqual(SequenceNumber.compare(shorter, longer), -1)
    assert.strictEqual(SequenceNumber.max(shorter, longer), longer)
    const sorted = [longer, shorter, "100000000000000000000000"].sort(SequenceNumber.order)
    assert.deepStrictEqual(sorted, [shorter, longer, "100000000000000000000000"])
  })

  it("recognises sequence numbers: 21 or more digits", () => {
    assert.isTrue(SequenceNumber.isSequenceNumber("400000000000000000000001"))
    assert.isTrue(SequenceNumber.isSequenceNumber("1".repeat(21)))
    assert.isFalse(SequenceNumber.isSequenceNumber("1".repeat(20)))
    assert.isFalse(SequenceNumber.isSequenceNumber("1".repeat(20) + "a"))
    assert.isFalse(SequenceNumber.isSequenceNumber("-" + "1".repeat(21)))
  })
})
