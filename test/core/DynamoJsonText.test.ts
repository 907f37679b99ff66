import { assert, describe, it } from "@effect/vitest"
import * as AV from "../../core/AttributeValue.ts"
import { attributeValueArbitrary, itemArbitrary } from "../../core/AttributeValueSchema.ts"
import * as DynamoJson from "../../core/DynamoJson.ts"
import * as DynamoJsonText from "../../core/DynamoJsonText.ts"

describe("DynamoJsonText", () => {
  it.prop("a value's text parses to what encodeValue gives", [attributeValueArbitrary()], ([value]) => {
    assert.deepStrictEqual(JSON.parse(DynamoJsonText.ofValue(value)), DynamoJson.encodeValue(value))
  })

  it.prop("an item's text parses to what encodeItem gives, and decodes to the item", [itemArbitrary()], ([item]) => {
    const text = DynamoJsonText.ofItem(item)
    assert.deepStrictEqual(JSON.parse(text), JSON.parse(JSON.stringify(DynamoJson.encodeItem(item))))
    assert.isTrue(AV.itemEquals(DynamoJson.decodeItemUnsafe(JSON.parse(text)), item))
  })

  it("escapes what JSON must escape, in names and strings", () => {
    const item = AV.item({ 'quote " \\ name\n': AV.s("tab\t nul\u0000 \u2028 ☃ 😀"), "__proto__": AV.ss(['"a"']) })
    const text = DynamoJsonText.ofItem(item)
    assert.strictEqual(text, JSON.stringify(DynamoJson.encodeItem(item)))
    assert.notInclude(text, "\n")
  })

  it("writes every kind of value", () => {
    const value = AV.m(AV.item({
      s: AV.s("x"),
      n: AV.n("-1.5E+10"),
      b: AV.b(new Uint8Array([0, 255, 7])),
      t: AV.bool(true),
      f: AV.bool(false),
      z: AV.nul,
      l: AV.l([AV.n("1"), AV.l([])]),
      ss: AV.ss(["a", "b"]),
      ns: AV.ns(["1", "2"]),
      bs: AV.bs([new Uint8Array([1]), new Uint8Array([])]),
      m: AV.m(AV.item({}))
    }))
    assert.strictEqual(DynamoJsonText.ofValue(value), JSON.stringify(DynamoJson.encodeValue(value)))
  })
})
