import { assert, describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import * as AV from "../../core/AttributeValue.ts"
import { attributeValueArbitrary, itemArbitrary } from "../../core/AttributeValueSchema.ts"
import * as DynamoJson from "../../core/DynamoJson.ts"
import { InvalidAttributeValue } from "../../core/Errors.ts"

const numRuns = 500

/** What `JSON.parse` makes of the encoded text: plain objects, as a file or an HTTP body would give. */
const viaText = (wire: unknown): unknown => JSON.parse(JSON.stringify(wire))

/** The order a JavaScript object (and so `JSON.parse`) keeps names in: array indices first, ascending. */
const objectOrder = (names: Iterable<string>): ReadonlyArray<string> => {
  const object: Record<string, true> = Object.create(null)
  for (const name of names) object[name] = true
  return Object.keys(object)
}

/**
 * Strict structural equality: same tags, same strings and number texts, same bytes (as `Uint8Array`s), lists and sets
 * in the same order, maps with the same names in the order `JSON.parse` gives them.
 */
const assertSameStructure = (actual: AV.AttributeValue, expected: AV.AttributeValue, path = "$"): void => {
  assert.strictEqual(actual._tag, expected._tag, path)
  assert.deepStrictEqual(Object.keys(actual).sort(), Object.keys(expected).sort(), path)
  switch (expected._tag) {
    case "S":
    case "N":
    case "BOOL":
      return assert.strictEqual((actual as typeof expected).value, expected.value, path)
    case "NULL":
      return
    case "B":
      return assertSameBytes((actual as typeof expected).value, expected.value, path)
    case "SS":
    case "NS":
      return assert.deepStrictEqual((actual as typeof expected).value, expected.value, path)
    case "BS": {
      const bytes = (actual as typeof expected).value
      assert.strictEqual(bytes.length, expected.value.length, path)
      return expected.value.forEach((value, i) => assertSameBytes(bytes[i]!, value, `${path}[${i}]`))
    }
    case "L": {
      const values = (actual as typeof expected).value
      assert.strictEqual(values.length, expected.value.length, path)
      return expected.value.forEach((value, i) => assertSameStructure(values[i]!, value, `${path}[${i}]`))
    }
    case "M":
      return assertSameItem((actual as typeof expected).value, expected.value, path)
  }
}

const assertSameBytes = (actual: Uint8Array, expected: Uint8Array, path: string) => {
  assert.instanceOf(actual, Uint8Array, path)
  assert.deepStrictEqual(Array.from(actual), Array.from(expected), path)
}

const assertSameItem = (actual: AV.Item, expected: AV.Item, path = "$") => {
  assert.instanceOf(actual, Map, path)
  assert.deepStrictEqual([...actual.keys()], objectOrder(expected.keys()), path)
  for (const [name, value] of expected) {
    assertSameStructure(actual.get(name)!, value, `${path}[${JSON.stringify(name)}]`)
  }
}

const failure = (result: Either.Either<unknown, InvalidAttributeValue>): InvalidAttributeValue => {
  if (Either.isRight(result)) return assert.fail(`expected a failure, decoded ${String(result.right)}`)
  assert.instanceOf(result.left, InvalidAttributeValue)
  return result.left
}

const assertValueFails = (json: unknown, path: string, reason: string | RegExp) => {
  const error = failure(DynamoJson.decodeValueEither(json))
  assert.strictEqual(error.path, path, JSON.stringify(json))
  if (typeof reason === "string") assert.strictEqual(error.reason, reason, JSON.stringify(json))
  else assert.match(error.reason, reason, JSON.stringify(json))
  assert.strictEqual(error.message, `${error.path}: ${error.reason}`)
  assert.throws(() => DynamoJson.decodeValueUnsafe(json), InvalidAttributeValue)
}

const assertItemFails = (json: unknown, path: string, reason: string | RegExp) => {
  const error = failure(DynamoJson.decodeItemEither(json))
  assert.strictEqual(error.path, path, JSON.stringify(json))
  if (typeof reason === "string") assert.strictEqual(error.reason, reason, JSON.stringify(json))
  else assert.match(error.reason, reason, JSON.stringify(json))
}

const decodeValue = (json: unknown): AV.AttributeValue => Either.getOrThrow(DynamoJson.decodeValueEither(json))
const decodeItem = (json: unknown): AV.Item => Either.getOrThrow(DynamoJson.decodeItemEither(json))

describe("DynamoJson round trip", () => {
  it.prop("decode(encode(value)) is the same value", [attributeValueArbitrary()], ([value]) => {
    const decoded = decodeValue(viaText(DynamoJson.encodeValue(value)))
    assert.isTrue(AV.equals(decoded, value))
    assertSameStructure(decoded, value)
    expect(decoded).toStrictEqual(value)
    // The unsafe decoder gives the same answer, and objects straight from the encoder decode too.
    assertSameStructure(DynamoJson.decodeValueUnsafe(DynamoJson.encodeValue(value)), value)
  }, { fastCheck: { numRuns } })

  it.prop("decode(encode(item)) is the same item", [itemArbitrary()], ([item]) => {
    const decoded = decodeItem(viaText(DynamoJson.encodeItem(item)))
    assert.isTrue(AV.itemEquals(decoded, item))
    assertSameItem(decoded, item)
    expect(decoded).toStrictEqual(item)
    assertSameItem(DynamoJson.decodeItemUnsafe(DynamoJson.encodeItem(item)), item)
  }, { fastCheck: { numRuns } })

  it.prop("encode(decode(json)) is the same JSON", [attributeValueArbitrary(), itemArbitrary()], ([value, item]) => {
    const json = viaText(DynamoJson.encodeValue(value))
    assert.strictEqual(JSON.stringify(DynamoJson.encodeValue(decodeValue(json))), JSON.stringify(json))
    // `toEqual`, not `toStrictEqual`: the latter reads an own "constructor" attribute as the object's class.
    expect(viaText(DynamoJson.encodeValue(decodeValue(json)))).toEqual(json)
    const itemJson = viaText(DynamoJson.encodeItem(item))
    assert.strictEqual(JSON.stringify(DynamoJson.encodeItem(decodeItem(itemJson))), JSON.stringify(itemJson))
    expect(viaText(DynamoJson.encodeItem(decodeItem(itemJson)))).toEqual(itemJson)
  }, { fastCheck: { numRuns } })

  it("keeps names in order, and number text as written", () => {
    const item = decodeItem({ z: { N: "1.50E2" }, a: { NS: ["-0", "1e3"] }, m: { S: "" } })
    assert.deepStrictEqual([...item.keys()], ["z", "a", "m"])
    assert.deepStrictEqual(item.get("z"), AV.n("1.50E2"))
    assert.deepStrictEqual(item.get("a"), AV.ns(["-0", "1e3"]))
  })

  it("decodes every type", () => {
    const item = decodeItem({
      s: { S: "text" },
      n: { N: "12" },
      b: { B: "AAEC" },
      t: { BOOL: true },
      f: { BOOL: false },
      z: { NULL: true },
      m: { M: { inner: { S: "x" } } },
      l: { L: [{ N: "1" }, { NULL: true }] },
      ss: { SS: ["a", "b"] },
      ns: { NS: ["1", "2"] },
      bs: { BS: ["AA==", "AQ=="] },
      empties: { L: [{ M: {} }, { L: [] }, { S: "" }, { B: "" }] }
    })
    const expected = AV.item({
      s: AV.s("text"),
      n: AV.n("12"),
      b: AV.b(new Uint8Array([0, 1, 2])),
      t: AV.bool(true),
      f: AV.bool(false),
      z: AV.nul,
      m: AV.m(AV.item({ inner: AV.s("x") })),
      l: AV.l([AV.n("1"), AV.nul]),
      ss: AV.ss(["a", "b"]),
      ns: AV.ns(["1", "2"]),
      bs: AV.bs([new Uint8Array([0]), new Uint8Array([1])]),
      empties: AV.l([AV.m(new Map()), AV.l([]), AV.s(""), AV.b(new Uint8Array(0))])
    })
    assertSameItem(item, expected)
    assert.strictEqual(
      JSON.stringify(DynamoJson.encodeItem(expected)),
      JSON.stringify({
        s: { S: "text" },
        n: { N: "12" },
        b: { B: "AAEC" },
        t: { BOOL: true },
        f: { BOOL: false },
        z: { NULL: true },
        m: { M: { inner: { S: "x" } } },
        l: { L: [{ N: "1" }, { NULL: true }] },
        ss: { SS: ["a", "b"] },
        ns: { NS: ["1", "2"] },
        bs: { BS: ["AA==", "AQ=="] },
        empties: { L: [{ M: {} }, { L: [] }, { S: "" }, { B: "" }] }
      })
    )
  })
})

describe("DynamoJson rejects invalid values with a JSON path", () => {
  it("a value that is not a tagged object", () => {
    assertValueFails("text", "$", 'expected an attribute value such as {"S": "text"}, got string')
    assertValueFails(null, "$", 'expected an attribute value such as {"S": "text"}, got null')
    assertValueFails([{ S: "a" }], "$", 'expected an attribute value such as {"S": "text"}, got an array')
    assertValueFails(12, "$", 'expected an attribute value such as {"S": "text"}, got number')
    assertValueFails(undefined, "$", 'expected an attribute value such as {"S": "text"}, got undefined')
  })

  it("an unknown type tag", () => {
    assertValueFails({ X: "1" }, "$", 'unknown type tag "X": expected one of S, N, B, BOOL, NULL, M, L, SS, NS, BS')
    assertValueFails({ s: "1" }, "$", /^unknown type tag "s"/)
    assertValueFails(JSON.parse('{"__proto__": "1"}'), "$", /^unknown type tag "__proto__"/)
  })

  it("two type tags, or none", () => {
    assertValueFails({ S: "a", N: "1" }, "$", "an attribute value has exactly one type tag, found S and N")
    assertValueFails({ NULL: true, X: 1 }, "$", "an attribute value has exactly one type tag, found NULL and X")
    assertValueFails(JSON.parse('{"S": "a", "__proto__": 1}'), "$", /found S and __proto__$/)
    assertValueFails({}, "$", "an attribute value has exactly one type tag, found none")
  })

  it("a number with 39 significant digits", () => {
    assertValueFails(
      { N: "123456789012345678901234567890123456789" },
      "$.N",
      'the number "123456789012345678901234567890123456789" has 39 significant digits; DynamoDB keeps at most 38'
    )
  })

  it("a number out of range", () => {
    const range = "(1E-130 to 9.9999999999999999999999999999999999999E+125)"
    assertValueFails({ N: "1E+126" }, "$.N", `the number "1E+126" is out of DynamoDB's range ${range}`)
    assertValueFails({ N: "-1E-131" }, "$.N", `the number "-1E-131" is out of DynamoDB's range ${range}`)
  })

  it("a number that is not a decimal string", () => {
    assertValueFails({ N: 12 }, "$.N", "expected a number as a string, got number")
    assertValueFails({ N: null }, "$.N", "expected a number as a string, got null")
    assertValueFails({ N: "1e" }, "$.N", 'the number "1e" is not a decimal number: its exponent has no digits')
    assertValueFails({ N: "" }, "$.N", 'the number "" is not a decimal number: it has no digits')
    assertValueFails({ N: " 1" }, "$.N", /^the number " 1" is not a decimal number/)
  })

  it("a string that is not a string", () => {
    assertValueFails({ S: 1 }, "$.S", "expected a string, got number")
    assertValueFails({ S: ["a"] }, "$.S", "expected a string, got an array")
  })

  it("bad base64, alone and in a set", () => {
    assertValueFails({ B: "AB==" }, "$.B", '"AB==" is not valid base64')
    assertValueFails({ B: "AAE" }, "$.B", '"AAE" is not valid base64')
    assertValueFails({ B: 5 }, "$.B", "expected base64 text, got number")
    assertValueFails({ B: "A".repeat(41) + "===" }, "$.B", `"${"A".repeat(40)}…" is not valid base64`)
    assertValueFails({ BS: ["AAEC", "A-=="] }, "$.BS[1]", '"A-==" is not valid base64')
    assertValueFails({ BS: ["AAEC", {}] }, "$.BS[1]", "expected base64 text, got an object")
  })

  it("empty sets", () => {
    for (const tag of ["SS", "NS", "BS"]) assertValueFails({ [tag]: [] }, `$.${tag}`, "a set cannot be empty")
  })

  it("sets that are not arrays", () => {
    assertValueFails({ SS: "a" }, "$.SS", "expected an array, got string")
    assertValueFails({ NS: { 0: "1" } }, "$.NS", "expected an array, got an object")
    assertValueFails({ L: {} }, "$.L", "expected an array, got an object")
    assertValueFails({ M: [] }, "$.M", "expected an object of attribute values, got an array")
    assertValueFails({ M: null }, "$.M", "expected an object of attribute values, got null")
  })

  it("duplicates in sets", () => {
    assertValueFails({ SS: ["a", "b", "a"] }, "$.SS[2]", 'a set cannot hold duplicates: "a" is there twice')
    assertValueFails({ NS: ["1", "1.0"] }, "$.NS[1]", 'a set cannot hold duplicates: "1.0" is there twice')
    assertValueFails({ NS: ["-0", "2", "0E+5"] }, "$.NS[2]", 'a set cannot hold duplicates: "0E+5" is there twice')
    assertValueFails(
      { BS: ["AAEC", "AQID", "AAEC"] },
      "$.BS[2]",
      'a set cannot hold duplicates: "AAEC" is there twice'
    )
    // Different spellings of different values are fine, as are strings differing only in case or Unicode form.
    assert.isTrue(Either.isRight(DynamoJson.decodeValueEither({ NS: ["1", "10", "0.1", "-1"] })))
    assert.isTrue(Either.isRight(DynamoJson.decodeValueEither({ SS: ["a", "A", "\u00e9", "e\u0301"] })))
  })

  it("invalid set elements", () => {
    assertValueFails({ SS: ["a", 1] }, "$.SS[1]", "expected a string, got number")
    assertValueFails({ NS: ["1", "x"] }, "$.NS[1]", /^the number "x" is not a decimal number/)
  })

  it("NULL that is not true, BOOL that is not a boolean", () => {
    assertValueFails({ NULL: false }, "$.NULL", "NULL must be true, got false")
    assertValueFails({ NULL: "true" }, "$.NULL", 'NULL must be true, got "true"')
    assertValueFails({ NULL: null }, "$.NULL", "NULL must be true, got null")
    assertValueFails({ NULL: undefined }, "$.NULL", "NULL must be true, got nothing")
    assertValueFails({ BOOL: "true" }, "$.BOOL", "expected true or false, got string")
    assertValueFails({ BOOL: 1 }, "$.BOOL", "expected true or false, got number")
  })

  it("an invalid list element", () => {
    assertItemFails(
      { x: { L: [{ S: "a" }, 5] } },
      "$.x.L[1]",
      'expected an attribute value such as {"S": "text"}, got number'
    )
    assertItemFails({ x: { L: [{ S: "a" }, { S: 5 }] } }, "$.x.L[1].S", "expected a string, got number")
    assertItemFails({ x: { L: [{ L: [{ N: "1" }, { NS: [] }] }] } }, "$.x.L[0].L[1].NS", "a set cannot be empty")
  })

  it("an invalid value deep in maps", () => {
    assertItemFails(
      { a: { M: { b: { M: { c: { N: "1E+126" } } } } } },
      "$.a.M.b.M.c.N",
      /^the number "1E\+126" is out of DynamoDB's range/
    )
    assertItemFails({ a: { M: { b: { L: [{ M: { c: {} } }] } } } }, "$.a.M.b.L[0].M.c", /found none$/)
  })

  it("attribute names that need bracket notation", () => {
    assertItemFails({ "odd name": { S: 1 } }, '$["odd name"].S', "expected a string, got number")
    assertItemFails({ "a.b": { S: 1 } }, '$["a.b"].S', "expected a string, got number")
    assertItemFails({ "": { S: 1 } }, '$[""].S', "expected a string, got number")
    assertItemFails({ "1x": { S: 1 } }, '$["1x"].S', "expected a string, got number")
    assertItemFails({ 'say "hi"': { S: 1 } }, '$["say \\"hi\\""].S', "expected a string, got number")
    assertItemFails({ "é": { S: 1 } }, '$["é"].S', "expected a string, got number")
    assertItemFails({ _ok$1: { M: { "x y": { S: 1 } } } }, '$._ok$1.M["x y"].S', "expected a string, got number")
  })

  it("an item that is not an object", () => {
    assertItemFails([], "$", "expected an object of attribute values, got an array")
    assertItemFails(null, "$", "expected an object of attribute values, got null")
    assertItemFails("x", "$", "expected an object of attribute values, got string")
    assertItemFails({ a: "x" }, "$.a", 'expected an attribute value such as {"S": "text"}, got string')
  })

  it("reports the first violation in document order", () => {
    assertItemFails({ a: { S: "ok" }, b: { N: "x" }, c: { S: 1 } }, "$.b.N", /^the number "x"/)
    assertItemFails({ a: { L: [{ S: 1 }, { N: 1 }] } }, "$.a.L[0].S", "expected a string, got number")
  })

  it("prefixes paths with the root", () => {
    const itemError = (() => {
      try {
        DynamoJson.decodeItemUnsafe({ x: { L: [{ NULL: false }] } }, ["Item"])
      } catch (error) {
        return error
      }
      return assert.fail("expected decodeItemUnsafe to throw")
    })()
    assert.instanceOf(itemError, InvalidAttributeValue)
    assert.strictEqual((itemError as InvalidAttributeValue).path, "$.Item.x.L[0].NULL")
    assert.strictEqual((itemError as InvalidAttributeValue).message, "$.Item.x.L[0].NULL: NULL must be true, got false")

    const valueError = (() => {
      try {
        DynamoJson.decodeValueUnsafe({ S: 1 }, ["Records", 3, "dynamodb", "odd key"])
      } catch (error) {
        return error
      }
      return assert.fail("expected decodeValueUnsafe to throw")
    })()
    assert.instanceOf(valueError, InvalidAttributeValue)
    assert.strictEqual((valueError as InvalidAttributeValue).path, '$.Records[3].dynamodb["odd key"].S')

    assert.throws(() => DynamoJson.decodeItemUnsafe([], ["Item"]), /^\$\.Item: expected an object/)
  })

  it("lets unexpected errors through", () => {
    const hostile = {
      get S() {
        throw new RangeError("boom")
      }
    }
    assert.throws(() => DynamoJson.decodeValueEither(hostile), RangeError)
    assert.throws(() => DynamoJson.decodeItemUnsafe({ a: hostile }), RangeError)
  })
})

describe("DynamoJson.formatPath", () => {
  it("uses dots for identifiers and brackets for the rest", () => {
    assert.strictEqual(DynamoJson.formatPath([]), "$")
    assert.strictEqual(DynamoJson.formatPath(["Item", "tags", "L", 2, "S"]), "$.Item.tags.L[2].S")
    assert.strictEqual(DynamoJson.formatPath(["Item", "odd name"]), '$.Item["odd name"]')
    assert.strictEqual(DynamoJson.formatPath(["$a", "_b", "c1", "1c", "-", ""]), '$.$a._b.c1["1c"]["-"][""]')
    assert.strictEqual(DynamoJson.formatPath(["line\nbreak"]), '$["line\\nbreak"]')
  })
})

describe("DynamoJson and __proto__", () => {
  const text = '{"__proto__": {"M": {"__proto__": {"S": "inner"}}}, "constructor": {"N": "1"}}'
  const json = JSON.parse(text)

  it("decodes __proto__ as an ordinary attribute name", () => {
    const item = decodeItem(json)
    assert.deepStrictEqual([...item.keys()], ["__proto__", "constructor"])
    const outer = item.get("__proto__")!
    assert.strictEqual(outer._tag, "M")
    assert.deepStrictEqual((outer as AV.M).value.get("__proto__"), AV.s("inner"))
    assert.deepStrictEqual(item.get("constructor"), AV.n("1"))
    assert.strictEqual(Object.getPrototypeOf({}), Object.prototype)
  })

  it("encodes __proto__ as an own property", () => {
    const item = AV.item([["__proto__", AV.m(AV.item([["__proto__", AV.s("inner")]]))], ["constructor", AV.n("1")]])
    const wire = DynamoJson.encodeItem(item)
    assert.isTrue(Object.hasOwn(wire, "__proto__"))
    assert.isTrue(Object.hasOwn(wire, "constructor"))
    assert.deepStrictEqual(Object.keys(wire), ["__proto__", "constructor"])
    const inner = (wire["__proto__"] as { readonly M: DynamoJson.WireItem }).M
    assert.isTrue(Object.hasOwn(inner, "__proto__"))
    assert.strictEqual(
      JSON.stringify(wire),
      '{"__proto__":{"M":{"__proto__":{"S":"inner"}}},"constructor":{"N":"1"}}'
    )
    assertSameItem(decodeItem(viaText(wire)), item)
  })
})
