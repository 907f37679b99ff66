import { assert, describe, it } from "@effect/vitest"
import { Either, FastCheck as fc } from "effect"
import * as AV from "../../core/AttributeValue.ts"
import * as ItemKey from "../../core/ItemKey.ts"

const keyValue: fc.Arbitrary<AV.AttributeValue> = fc.oneof(
  fc.constantFrom("a", "b", "1", "S1:a", "a|b", "N1;", "|", ":", "é", "😀", "a".repeat(12)).map(AV.s),
  fc.constantFrom("1", "1.0", "01", "10", "1E+1", "-1", "0.1", "1E-1", "100", "1E2", "0", "-0").map(AV.n),
  fc.uint8Array({ minLength: 1, maxLength: 2, max: 2 }).map(AV.b)
)

const composite = ItemKey.make("pk", "sk")
const key = fc.tuple(keyValue, keyValue).map(([pk, sk]) => AV.item({ pk, sk }))

describe("ItemKey", () => {
  it.prop("encoding is injective and equal exactly for equal keys", [key, key], ([a, b]) => {
    const same = AV.equals(a.get("pk")!, b.get("pk")!) && AV.equals(a.get("sk")!, b.get("sk")!)
    assert.strictEqual(ItemKey.encode(composite, a) === ItemKey.encode(composite, b), same)
    if (same) assert.strictEqual(ItemKey.hash(ItemKey.encode(composite, a)), ItemKey.hash(ItemKey.encode(composite, b)))
  }, { fastCheck: { numRuns: 3000 } })

  it("numbers equal in value encode alike; strings that look alike do not", () => {
    const hashOnly = ItemKey.make("pk")
    assert.strictEqual(
      ItemKey.encode(hashOnly, AV.item({ pk: AV.n("1.50E2") })),
      ItemKey.encode(hashOnly, AV.item({ pk: AV.n("150") }))
    )
    assert.notStrictEqual(
      ItemKey.encode(composite, AV.item({ pk: AV.s("a|S1:b"), sk: AV.s("c") })),
      ItemKey.encode(composite, AV.item({ pk: AV.s("a"), sk: AV.s("b|S1:c") }))
    )
    assert.notStrictEqual(
      ItemKey.encode(hashOnly, AV.item({ pk: AV.s("1") })),
      ItemKey.encode(hashOnly, AV.item({ pk: AV.n("1") }))
    )
  })

  it("hash is stable: fixed values, unsigned 32-bit", () => {
    assert.strictEqual(ItemKey.hash(""), 0x811c9dc5)
    assert.strictEqual(ItemKey.hash("S5:alice|N42;"), ItemKey.hash("S5:alice|N42;"))
    assert.strictEqual(ItemKey.hash("a"), 0xe40c292c)
  })

  it("fromItem takes the key attributes, partition key first", () => {
    const item = AV.item({ other: AV.s("x"), sk: AV.n("2"), pk: AV.s("p") })
    const key = Either.getOrThrow(ItemKey.fromItem(composite, item))
    assert.deepStrictEqual([...key.keys()], ["pk", "sk"])
    assert.strictEqual(ItemKey.encode(composite, key), ItemKey.encode(composite, item))
  })

  it("fromItem rejects missing, mistyped and empty key attributes with a reason", () => {
    const typed: ItemKey.KeySchema = { hash: { name: "pk", type: "S" }, range: { name: "sk", type: "N" } }
    const reason = (item: AV.Item, schema = typed) => {
      const result = ItemKey.fromItem(schema, item)
      assert.isTrue(Either.isLeft(result))
      return Either.isLeft(result) ? result.left.message : ""
    }
    assert.include(reason(AV.item({ sk: AV.n("1") })), `"pk" is missing`)
    assert.include(reason(AV.item({ pk: AV.s("a") })), `"sk" is missing`)
    assert.include(reason(AV.item({ pk: AV.n("1"), sk: AV.n("1") })), "the key schema says S")
    assert.include(reason(AV.item({ pk: AV.bool(true), sk: AV.n("1") })), "keys are S, N or B")
    assert.include(reason(AV.item({ pk: AV.s(""), sk: AV.n("1") })), "cannot be empty")
    assert.include(reason(AV.item({ pk: AV.b(new Uint8Array(0)) }), ItemKey.make("pk")), "cannot be empty")
  })
})
