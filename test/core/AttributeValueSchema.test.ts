import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Either, FastCheck as fc, Schema } from "effect"
import * as AV from "../../core/AttributeValue.ts"
import * as AVS from "../../core/AttributeValueSchema.ts"
import * as DynamoJson from "../../core/DynamoJson.ts"
import * as DynamoNumber from "../../core/DynamoNumber.ts"

const numRuns = 500

const schemaDecodeValue = Schema.decodeUnknownEither(AVS.AttributeValueFromDynamoJson)
const schemaDecodeItem = Schema.decodeUnknownEither(AVS.ItemFromDynamoJson)
const isAttributeValue = Schema.is(AVS.AttributeValue)
const isItem = Schema.is(AVS.Item)

/** A plain tree of a value, keeping every detail that matters: tags, texts, bytes, and the order of everything. */
type Tree = string | boolean | null | ReadonlyArray<Tree>
const tree = (value: AV.AttributeValue): Tree => {
  switch (value._tag) {
    case "S":
    case "N":
    case "BOOL":
      return [value._tag, value.value]
    case "NULL":
      return [value._tag, null]
    case "B":
      return [value._tag, bytesTree(value.value)]
    case "SS":
    case "NS":
      return [value._tag, [...value.value]]
    case "BS":
      return [value._tag, value.value.map(bytesTree)]
    case "L":
      return [value._tag, value.value.map(tree)]
    case "M":
      return [value._tag, itemTree(value.value)]
  }
}
const bytesTree = (bytes: Uint8Array): Tree => [
  bytes instanceof Uint8Array ? "Uint8Array" : "not bytes",
  Array.from(bytes, String)
]
const itemTree = (item: AV.Item): Tree => [...item].map(([name, value]) => [name, tree(value)])

/** Parsed DynamoDB JSON of a value, as `JSON.parse` would give it. */
const wireOf = (value: AV.AttributeValue): unknown => JSON.parse(JSON.stringify(DynamoJson.encodeValue(value)))
const wireItemOf = (item: AV.Item): unknown => JSON.parse(JSON.stringify(DynamoJson.encodeItem(item)))

// ---------------------------------------------------------------------------------------------------------------------
// Invalid DynamoDB JSON: valid wire JSON with random mutations at random attribute values.

type JsonObject = Record<string, unknown>

const isObject = (json: unknown): json is JsonObject =>
  typeof json === "object" && json !== null && !Array.isArray(json)

/** Sets an own property even when the name is `__proto__`. */
const setOwn = (object: JsonObject, name: string, value: unknown) =>
  Object.defineProperty(object, name, { value, enumerable: true, writable: true, configurable: true })

const objectOf = (...entries: ReadonlyArray<readonly [string, unknown]>): JsonObject => {
  const object: JsonObject = {}
  for (const [name, value] of entries) setOwn(object, name, value)
  return object
}

/** A place that holds an attribute value: an item's or a map's attribute, or a list element. */
interface Slot {
  readonly get: () => unknown
  readonly set: (value: unknown) => void
}

const slotsOf = (item: JsonObject): Array<Slot> => {
  const slots: Array<Slot> = []
  const visitValue = (value: unknown) => {
    if (!isObject(value)) return
    const keys = Object.keys(value)
    if (keys.length !== 1) return
    if (keys[0] === "M" && isObject(value.M)) visitItem(value.M)
    if (keys[0] === "L" && Array.isArray(value.L)) {
      const list = value.L as Array<unknown>
      list.forEach((element, i) => {
        slots.push({ get: () => list[i], set: (v) => (list[i] = v) })
        visitValue(element)
      })
    }
  }
  const visitItem = (object: JsonObject) => {
    for (const name of Object.keys(object)) {
      slots.push({ get: () => object[name], set: (v) => setOwn(object, name, v) })
      visitValue(object[name])
    }
  }
  visitItem(item)
  return slots
}

const TAGS = ["S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"] as const
const UNKNOWN_TAGS = ["X", "s", "n", "Null", "SSS", "__proto__", "", " S", "constructor", "toString"] as const
const BAD_NUMBERS = [
  "1" + "2".repeat(38),
  "1.23456789012345678901234567890123456789",
  "1E+126",
  "-1E+126",
  "1E-131",
  "0." + "0".repeat(130) + "1",
  "",
  "-",
  "abc",
  "1e",
  " 1",
  "1 ",
  "0x10",
  "Infinity",
  "NaN",
  "1.2.3",
  "1E9999999",
  12,
  null,
  true
] as const
const EDGE_NUMBERS = [
  "1E-130",
  "-9.9999999999999999999999999999999999999E+125",
  "1" + "0".repeat(60),
  "0E+999",
  "-0",
  "+1",
  ".5",
  "5.",
  "12345678901234567890123456789012345678"
] as const
const BAD_BASE64 = ["AB==", "AAB=", "A", "AAE", "A-==", "AA_C", "====", "AA=A", "AAEC ", 5, null] as const
const NOT_VALUES = [1, 0, "S", "", null, true, false, [], [{ S: "a" }], {}] as const
const WRONG_PAYLOADS = [1, null, {}, [], "x", true, false, ["a"], [1], [{ S: "a" }], { a: { S: "a" } }] as const

const MUTATIONS = [
  "unknownTag",
  "secondTag",
  "noTag",
  "badNumber",
  "edgeNumber",
  "badBase64",
  "emptySet",
  "duplicate",
  "nullNotTrue",
  "boolNotBoolean",
  "notAValue",
  "wrongPayload",
  "badElement"
] as const
type Mutation = typeof MUTATIONS[number]

const at = <A>(options: ReadonlyArray<A>, pick: number): A => options[pick % options.length]!

/** A respelling of a number with the same value (`"1"` → `"1E0"`, `"1E3"` → `"10E2"`). */
const respell = (text: unknown): unknown => {
  if (typeof text !== "string" || typeof DynamoNumber.parse(text) === "string") return text
  const canonical = DynamoNumber.canonical(text)
  return canonical !== text ? canonical : `${text}E0`
}

/** Copies, so that no later edit changes the constants above. */
const mutate = (value: unknown, mutation: Mutation, pick: number): unknown =>
  JSON.parse(JSON.stringify(mutation === "notAValue" ? at(NOT_VALUES, pick) : replacement(value, mutation, pick)))

const replacement = (value: unknown, mutation: Mutation, pick: number): unknown => {
  const tag = isObject(value) ? Object.keys(value)[0] : undefined
  const payload = isObject(value) && tag !== undefined ? value[tag] : undefined
  switch (mutation) {
    case "unknownTag":
      return objectOf([at(UNKNOWN_TAGS, pick), payload ?? "1"])
    case "secondTag": {
      const extra = at([...TAGS, ...UNKNOWN_TAGS].filter((t) => t !== tag), pick)
      const copy = isObject(value) ? objectOf(...Object.entries(value)) : objectOf(["S", "a"])
      return setOwn(copy, extra, at(["1", true, [], {}, "AAEC"], pick >> 4))
    }
    case "noTag":
      return {}
    case "badNumber":
      if ((tag === "NS") && Array.isArray(payload) && payload.length > 0) {
        const copy = [...payload]
        copy[pick % copy.length] = at(BAD_NUMBERS, pick >> 3)
        return { NS: copy }
      }
      return { N: at(BAD_NUMBERS, pick) }
    case "edgeNumber":
      return pick % 2 === 0 ? { N: at(EDGE_NUMBERS, pick >> 1) } : { NS: [at(EDGE_NUMBERS, pick >> 1), "7"] }
    case "badBase64":
      if (tag === "BS" && Array.isArray(payload) && payload.length > 0) {
        const copy = [...payload]
        copy[pick % copy.length] = at(BAD_BASE64, pick >> 3)
        return { BS: copy }
      }
      return { B: at(BAD_BASE64, pick) }
    case "emptySet":
      return objectOf([at(["SS", "NS", "BS"], pick), []])
    case "duplicate": {
      if ((tag === "SS" || tag === "BS" || tag === "NS") && Array.isArray(payload) && payload.length > 0) {
        const element: unknown = payload[pick % payload.length]
        const twin = tag === "NS" && pick % 2 === 0 ? respell(element) : element
        const copy = [...payload]
        copy.splice((pick >> 2) % (copy.length + 1), 0, twin)
        return objectOf([tag, copy])
      }
      return at([{ SS: ["a", "b", "a"] }, { NS: ["1", "1.0"] }, { NS: ["-0", "0E+5"] }, { BS: ["AA==", "AA=="] }], pick)
    }
    case "nullNotTrue":
      return { NULL: at([false, "true", null, 1, {}, []], pick) }
    case "boolNotBoolean":
      return { BOOL: at(["true", "false", 1, 0, null, [], {}], pick) }
    case "notAValue":
      return at(NOT_VALUES, pick)
    case "wrongPayload":
      return objectOf([tag ?? at(TAGS, pick), at(WRONG_PAYLOADS, pick >> 4)])
    case "badElement":
      return at([
        { SS: ["a", 1] },
        { SS: [null] },
        { NS: ["1", 2] },
        { BS: ["AAEC", []] },
        { L: [{ S: "a" }, 5] },
        { L: [{ S: "a" }, {}] },
        { M: { ok: { S: "a" }, bad: "b" } },
        { M: { ok: { S: "a" }, bad: { S: "a", N: "1" } } }
      ], pick)
  }
}

interface Edit {
  readonly slot: number
  readonly mutation: Mutation
  readonly pick: number
}

const editArbitrary: fc.Arbitrary<Edit> = fc.record({
  slot: fc.nat(),
  mutation: fc.constantFrom(...MUTATIONS),
  pick: fc.nat({ max: 1 << 12 })
})

/** Applies edits to (a copy of) an item's wire JSON. */
const applyEdits = (wire: unknown, edits: ReadonlyArray<Edit>): unknown => {
  const item = JSON.parse(JSON.stringify(wire)) as JsonObject
  for (const edit of edits) {
    const slots = slotsOf(item)
    if (slots.length === 0) {
      setOwn(item, "added", mutate({ S: "a" }, edit.mutation, edit.pick))
      continue
    }
    const slot = slots[edit.slot % slots.length]!
    slot.set(mutate(slot.get(), edit.mutation, edit.pick))
  }
  return item
}

/** Mostly-invalid item JSON: a valid item with one to three mutated attribute values. */
const mutatedItemArbitrary: fc.Arbitrary<unknown> = fc.tuple(
  AVS.itemArbitrary(),
  fc.array(editArbitrary, { minLength: 1, maxLength: 3 })
).map(([item, edits]) => applyEdits(wireItemOf(item), edits))

/** Mostly-invalid value JSON: a valid value, mutated at itself or somewhere inside. */
const mutatedValueArbitrary: fc.Arbitrary<unknown> = fc.tuple(
  AVS.attributeValueArbitrary(),
  fc.array(editArbitrary, { minLength: 1, maxLength: 3 })
).map(([value, edits]) => (applyEdits(objectOf(["root", wireOf(value)]), edits) as JsonObject).root)

// ---------------------------------------------------------------------------------------------------------------------

const assertSameValueAnswer = (json: unknown) => {
  const bySchema = schemaDecodeValue(json)
  const byHand = DynamoJson.decodeValueEither(json)
  const label = () => JSON.stringify(json)
  if (Either.isRight(byHand)) {
    assert.isTrue(isAttributeValue(byHand.right), label())
    assert.isTrue(Either.isRight(bySchema), `the hand decoder accepts ${label()} but the Schema rejects it`)
    assert.deepStrictEqual(tree(Either.getOrThrow(bySchema)), tree(byHand.right))
  } else {
    assert.isTrue(
      Either.isLeft(bySchema),
      `the hand decoder rejects ${label()} (${byHand.left.message}) but the Schema accepts it`
    )
  }
}

const assertSameItemAnswer = (json: unknown) => {
  const bySchema = schemaDecodeItem(json)
  const byHand = DynamoJson.decodeItemEither(json)
  const label = () => JSON.stringify(json)
  if (Either.isRight(byHand)) {
    assert.isTrue(isItem(byHand.right), label())
    assert.isTrue(Either.isRight(bySchema), `the hand decoder accepts ${label()} but the Schema rejects it`)
    assert.deepStrictEqual(itemTree(Either.getOrThrow(bySchema)), itemTree(byHand.right))
  } else {
    assert.isTrue(
      Either.isLeft(bySchema),
      `the hand decoder rejects ${label()} (${byHand.left.message}) but the Schema accepts it`
    )
  }
}

describe("AttributeValueSchema agrees with DynamoJson", () => {
  it.prop("on valid values", [AVS.attributeValueArbitrary()], ([value]) => {
    const json = wireOf(value)
    assertSameValueAnswer(json)
    assert.isTrue(AV.equals(Either.getOrThrow(schemaDecodeValue(json)), value))
  }, { fastCheck: { numRuns } })

  it.prop("on valid items", [AVS.itemArbitrary()], ([item]) => {
    const json = wireItemOf(item)
    assertSameItemAnswer(json)
    assert.isTrue(AV.itemEquals(Either.getOrThrow(schemaDecodeItem(json)), item))
  }, { fastCheck: { numRuns } })

  it.prop("on mutated values", [mutatedValueArbitrary], ([json]) => assertSameValueAnswer(json), {
    fastCheck: { numRuns: 1000 }
  })

  it.prop("on mutated items", [mutatedItemArbitrary], ([json]) => assertSameItemAnswer(json), {
    fastCheck: { numRuns: 1000 }
  })

  it.prop("on arbitrary JSON", [fc.jsonValue({ maxDepth: 3 })], ([json]) => {
    assertSameValueAnswer(json)
    assertSameItemAnswer(json)
  }, { fastCheck: { numRuns: 300 } })

  it("on hand-picked edge cases", () => {
    const values: ReadonlyArray<unknown> = [
      { X: "1" },
      { S: "a", N: "1" },
      {},
      JSON.parse('{"__proto__": "a"}'),
      JSON.parse('{"S": "a", "__proto__": "b"}'),
      JSON.parse('{"__proto__": "b", "S": "a"}'),
      { N: "123456789012345678901234567890123456789" },
      { N: "1" + "0".repeat(50) },
      { N: "1E+126" },
      { N: "1E-131" },
      { N: "1E-130" },
      { N: 12 },
      { N: "+1" },
      { B: "AB==" },
      { B: "" },
      { BS: ["AAEC", "AAB="] },
      { SS: [] },
      { NS: [] },
      { BS: [] },
      { SS: ["a", "a"] },
      { NS: ["1", "1.0"] },
      { BS: ["AAEC", "AAEC"] },
      { NULL: false },
      { NULL: true },
      { BOOL: "true" },
      { L: [{ S: "a" }, 1] },
      { M: { a: { M: { b: { M: { c: { N: "x" } } } } } } },
      { M: JSON.parse('{"__proto__": {"S": "x"}}') },
      { M: JSON.parse('{"__proto__": {"S": 1}}') },
      { M: { "odd name": { S: 1 } } },
      null,
      [],
      "S"
    ]
    for (const json of values) {
      assertSameValueAnswer(json)
      assertSameItemAnswer({ Item: json })
    }
    for (const json of [null, [], "x", 1, {}, JSON.parse('{"__proto__": {"N": "1"}}')]) assertSameItemAnswer(json)
  })

  it("checks that the mutations mostly produce invalid JSON, but not only", () => {
    const samples = fc.sample(mutatedItemArbitrary, { numRuns: 400, seed: 42 })
    const rejected = samples.filter((json) => Either.isLeft(DynamoJson.decodeItemEither(json))).length
    assert.isAbove(rejected, 200)
    assert.isBelow(rejected, 400)
  })
})

describe("AttributeValueSchema encodes as DynamoJson does", () => {
  const encodeValue = Schema.encodeSync(AVS.AttributeValueFromDynamoJson)
  const encodeItem = Schema.encodeSync(AVS.ItemFromDynamoJson)

  it.prop("for values and items", [AVS.attributeValueArbitrary(), AVS.itemArbitrary()], ([value, item]) => {
    assert.strictEqual(JSON.stringify(encodeValue(value)), JSON.stringify(DynamoJson.encodeValue(value)))
    assert.strictEqual(JSON.stringify(encodeItem(item)), JSON.stringify(DynamoJson.encodeItem(item)))
  }, { fastCheck: { numRuns } })

  it("keeps __proto__ as an own property", () => {
    const item = AV.item([["__proto__", AV.s("x")]])
    const wire = encodeItem(item) as JsonObject
    assert.isTrue(Object.hasOwn(wire, "__proto__"))
    assert.strictEqual(JSON.stringify(wire), '{"__proto__":{"S":"x"}}')
  })

  it("refuses to encode invalid values", () => {
    assert.throws(() => encodeValue(AV.ns(["1", "1.0"])))
    assert.throws(() => encodeValue(AV.ss([])))
    assert.throws(() => encodeValue(AV.n("1E+126")))
  })
})

describe("AttributeValue schema", () => {
  it.prop("validates every value of its Arbitrary", [AVS.AttributeValue], ([value]) => {
    assert.isTrue(isAttributeValue(value))
    assert.isTrue(Either.isRight(DynamoJson.decodeValueEither(wireOf(value))))
  }, { fastCheck: { numRuns } })

  it.prop("validates every item of its Arbitrary", [Arbitrary.make(AVS.Item)], ([item]) => {
    assert.isTrue(isItem(item))
    assert.isTrue(Either.isRight(DynamoJson.decodeItemEither(wireItemOf(item))))
  }, { fastCheck: { numRuns: 200 } })

  it.prop("validates every value of the exported arbitrary", [AVS.arbitrary], ([value]) => {
    assert.isTrue(isAttributeValue(value))
  }, { fastCheck: { numRuns: 200 } })

  it.prop("validates every number of NumberText's Arbitrary", [AVS.NumberText], ([text]) => {
    assert.isTrue(DynamoNumber.isValid(text))
  }, { fastCheck: { numRuns } })

  it("accepts valid values and rejects invalid ones", () => {
    const valid: ReadonlyArray<AV.AttributeValue> = [
      AV.s(""),
      AV.n("-0"),
      AV.b(new Uint8Array(0)),
      AV.bool(false),
      AV.nul,
      AV.m(AV.item([["__proto__", AV.nul]])),
      AV.l([]),
      AV.ss(["a", "A"]),
      AV.ns(["1", "10"]),
      AV.bs([new Uint8Array([1]), new Uint8Array([1, 0])])
    ]
    for (const value of valid) assert.isTrue(isAttributeValue(value), JSON.stringify(tree(value)))
    const invalid: ReadonlyArray<unknown> = [
      AV.ss([]),
      AV.ns([]),
      AV.bs([]),
      AV.ss(["a", "a"]),
      AV.ns(["1", "1.0"]),
      AV.bs([new Uint8Array([1]), new Uint8Array([1])]),
      AV.n("1E+126"),
      AV.n("abc"),
      AV.l([AV.n("1E-131")]),
      AV.m(AV.item({ a: AV.ns(["0", "-0"]) })),
      { _tag: "B", value: "AAEC" },
      { _tag: "X", value: "1" },
      { _tag: "BOOL", value: "true" },
      { _tag: "M", value: { a: AV.nul } }
    ]
    for (const value of invalid) assert.isFalse(isAttributeValue(value), JSON.stringify(value))
  })
})
