import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as AV from "../../core/AttributeValue.ts"
import { itemArbitrary } from "../../core/AttributeValueSchema.ts"
import type { ChangeEvent } from "../../core/ChangeEvent.ts"
import * as DynamoJson from "../../core/DynamoJson.ts"
import { ExportLineInvalid } from "../../core/Errors.ts"
import * as ExportLayout from "../../core/ExportLayout.ts"
import * as ExportLine from "../../core/ExportLine.ts"
import { checkFullExportItem, fullExportItem } from "../../core/internal/itemText.ts"
import * as ItemKey from "../../core/ItemKey.ts"

// The fast path of full-export lines (core/internal/itemText.ts) against the general one (JSON.parse, then
// ExportLine.decodeUnsafe): for any text, the same event or the same error.

const context = (keySchema?: ItemKey.KeySchema, itemsWhenAsked = false): ExportLine.LineContext => ({
  exportArn: "arn:aws:dynamodb:us-east-1:123456789012:table/t/export/01768385930622-efd1a093",
  file: "AWSDynamoDB/01768385930622-efd1a093/data/5mrfg3b44e3vhnfickkozoym6a.json.gz",
  type: "FULL_EXPORT",
  exportTimeMs: 1768385930622,
  ...(keySchema === undefined ? {} : { keySchema }),
  newImageOnly: false,
  itemsWhenAsked
})

type Outcome = { readonly event: ChangeEvent } | { readonly error: ExportLineInvalid }

const outcome = (decode: () => ChangeEvent): Outcome => {
  try {
    return { event: decode() }
  } catch (error) {
    if (error instanceof ExportLineInvalid) return { error }
    throw error
  }
}

const general = (text: string, ctx: ExportLine.LineContext): Outcome =>
  outcome(() => {
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch (error) {
      throw new ExportLineInvalid({
        file: ctx.file,
        line: 7,
        path: "$",
        reason: `not JSON (${(error as Error).message})`
      })
    }
    return ExportLine.decodeUnsafe(json, 7, ctx)
  })

// Items as text, names in order, numbers as written, bytes as canonical base64: equal exactly when the items are.
const itemText = (item: AV.Item | undefined) =>
  item === undefined ? undefined : JSON.stringify(DynamoJson.encodeItem(item))

const assertSame = (text: string, ctx: ExportLine.LineContext) => {
  const expected = general(text, ctx)
  const actual = outcome(() => ExportLine.decodeTextUnsafe(text, 7, ctx))
  if ("error" in expected) {
    assert.isTrue("error" in actual, `${text}: expected ${expected.error.message}`)
    if ("error" in actual) {
      assert.strictEqual(actual.error.path, expected.error.path, text)
      assert.strictEqual(actual.error.reason, expected.error.reason, text)
    }
    return
  }
  assert.isTrue("event" in actual, `${text}: ${"error" in actual ? actual.error.message : ""}`)
  if (!("event" in actual)) return
  const { key: k1, newImage: n1, ...rest1 } = actual.event
  const { key: k2, newImage: n2, ...rest2 } = expected.event
  assert.deepStrictEqual(rest1, rest2, text)
  assert.strictEqual(itemText(k1), itemText(k2), text)
  assert.strictEqual(itemText(n1), itemText(n2), text)
  for (const [, value] of n1 ?? new Map()) if (value._tag === "B") assert.instanceOf(value.value, Uint8Array)
}

const line = (item: AV.Item) => ExportLayout.fullLine(item).slice(0, -1)

const keyed = (item: AV.Item): AV.Item => new Map([["pk", AV.s("p")], ["sk", AV.n("1")], ...item])

describe("full-export lines: the fast path decodes as JSON.parse and DynamoJson do", () => {
  it("on any item, with and without a key schema", () => {
    let fast = 0
    fc.assert(
      fc.property(itemArbitrary(), (item) => {
        if (item.size > 0 && fullExportItem(line(item)) !== undefined) fast++
        assertSame(line(item), context())
        for (const lazy of [false, true]) {
          assertSame(line(keyed(item)), context(ItemKey.make("pk", "sk"), lazy))
          assertSame(line(item), context(ItemKey.make("pk", "sk"), lazy))
        }
      }),
      { numRuns: 1000 }
    )
    // Strings with quotes, backslashes or control characters take the general path; the rest, the fast one.
    assert.isAbove(fast, 200, "items that took the fast path")
  })

  it("takes the fast path for lines as AWS writes them, not for those it leaves to JSON.parse", () => {
    const item = keyed(AV.item({
      s: AV.s("text ✓ 日本語 👩‍👩‍👧‍👦"),
      n: AV.n("-12.50E3"),
      b: AV.b(Uint8Array.of(0, 1, 2, 255)),
      t: AV.bool(true),
      f: AV.bool(false),
      z: AV.nul,
      m: AV.m(AV.item({ inner: AV.l([AV.s("x"), AV.m(new Map()), AV.l([])]) })),
      ss: AV.ss(["a", "b"]),
      ns: AV.ns(["1", "1.5"]),
      bs: AV.bs([Uint8Array.of(0), Uint8Array.of(1)]),
      __proto__: AV.s("an attribute"),
      "": AV.s("the empty name")
    }))
    assert.isDefined(fullExportItem(line(item)))
    assert.strictEqual(itemText(fullExportItem(line(item))), itemText(item))
    for (
      const text of [
        line(AV.item({ q: AV.s('say "hi"') })), // an escape
        line(AV.item({ "1": AV.s("a"), a: AV.s("b") })), // a name that is an array index: JSON.parse puts it first
        '{"Item": {}}', // whitespace
        '{"Item":{"a":{"S":"x"},"a":{"S":"y"}}}', // a repeated name
        '{"Item":{"a":{"S":"x","S":"y"}}}', // a repeated tag
        '{"Item":{"a":{"N":"1e999"}}}' // an invalid value
      ]
    ) {
      assert.isUndefined(fullExportItem(text), text)
      assertSame(text, context())
    }
  })

  it("on lines with edge cases, valid or not", () => {
    const cases = [
      '{"Item":{}}',
      '{"Item":{}} ',
      '{"Item":{}',
      '{"Item":{}}}',
      '{"Item":[]}',
      '{"Item":{},"Extra":{}}',
      '{"Item":{"a":{"S":"x"}}}',
      '{"Item":{"a":{"S":"x"},}}',
      '{"Item":{"a":{"S":"x"}',
      '{"Item":{"a":{"S":1}}}',
      '{"Item":{"a":{"S":"x","N":"1"}}}',
      '{"Item":{"a":{}}}',
      '{"Item":{"a":{"X":"1"}}}',
      '{"Item":{"a":{"s":"1"}}}',
      '{"Item":{"a":{"SX":["1"]}}}',
      '{"Item":{"a":{"NULL":false}}}',
      '{"Item":{"a":{"NULL":true}}}',
      '{"Item":{"a":{"NULL":truex}}}',
      '{"Item":{"a":{"BOOL":tru}}}',
      '{"Item":{"a":{"BOOL":"true"}}}',
      '{"Item":{"a":{"B":"AB=="}}}',
      '{"Item":{"a":{"B":""}}}',
      '{"Item":{"a":{"N":""}}}',
      '{"Item":{"a":{"N":"0001.500"}}}',
      '{"Item":{"a":{"N":"123456789012345678901234567890123456789"}}}',
      '{"Item":{"a":{"SS":[]}}}',
      '{"Item":{"a":{"SS":["x","x"]}}}',
      '{"Item":{"a":{"NS":["1","1.0"]}}}',
      '{"Item":{"a":{"NS":["1","10"]}}}',
      '{"Item":{"a":{"BS":["AA==","AA=="]}}}',
      '{"Item":{"a":{"BS":["AA==","AQ=="]}}}',
      '{"Item":{"a":{"L":[]}}}',
      '{"Item":{"a":{"L":[{"S":"x"},]}}}',
      '{"Item":{"a":{"L":[{"S":"x"}{"S":"y"}]}}}',
      '{"Item":{"a":{"M":{"b":{"M":{}}}}}}',
      '{"Item":{"a":{"S":"tab\there"}}}',
      '{"Item":{"a":{"S":"x"}},"Item":{}}',
      '{"Item":{"__proto__":{"S":"x"},"constructor":{"N":"1"}}}',
      '{"Item":{"1x":{"S":"x"},"01":{"S":"y"},"1":{"S":"z"}}}',
      '{"Item":{"pk":{"S":""},"sk":{"N":"1"}}}',
      '{"Item":{"pk":{"S":"p"},"sk":{"S":"1"}}}',
      '{"Item":{"pk":{"BOOL":true},"sk":{"N":"1"}}}',
      '{"Item":{"sk":{"N":"1"}}}',
      "[]",
      "",
      "null",
      `{"Item":{"deep":${'{"L":['.repeat(100)}{"NULL":true}${"]}".repeat(100)}}}`,
      `{"Item":{"deep":${'{"M":{"m":'.repeat(100)}{"N":"1"}${"}}".repeat(100)}}}`
    ]
    for (const text of cases) {
      assertSame(text, context())
      for (const lazy of [false, true]) {
        assertSame(text, context(ItemKey.make("pk", "sk"), lazy))
        assertSame(text, context({ hash: { name: "pk", type: "S" }, range: { name: "sk", type: "N" } }, lazy))
      }
    }
  })

  it("on damaged lines: one character removed, added or replaced", () => {
    const pieces = ["{", "}", "[", "]", '"', ":", ",", " ", "\\", "0", "1", "-", ".", "e", "S", "N", "L", "M", "=", "é"]
    fc.assert(
      fc.property(
        itemArbitrary(2),
        fc.nat(),
        fc.constantFrom("remove", "add", "replace"),
        fc.constantFrom(...pieces),
        (item, offset, edit, piece) => {
          const text = line(keyed(item))
          const at = offset % (text.length + 1)
          const damaged = edit === "remove"
            ? text.slice(0, at) + text.slice(at + 1)
            : edit === "add"
            ? text.slice(0, at) + piece + text.slice(at)
            : text.slice(0, at) + piece + text.slice(at + 1)
          assertSame(damaged, context(ItemKey.make("pk", "sk")))
          assertSame(damaged, context(ItemKey.make("pk", "sk"), true))
        }
      ),
      { numRuns: 3000 }
    )
  })
})

describe("full-export lines: checking without making the item", () => {
  const names = ["pk", "sk"]
  const agrees = (text: string) => {
    const item = fullExportItem(text)
    const key = checkFullExportItem(text, names)
    assert.strictEqual(key !== undefined, item !== undefined, text)
    if (item === undefined || key === undefined) return
    assert.deepStrictEqual([...key.keys()], names.filter((name) => item.has(name)), text)
    for (const [name, value] of key) {
      assert.strictEqual(itemText(new Map([[name, value]])), itemText(new Map([[name, item.get(name)!]])), text)
    }
  }

  it("accepts exactly the lines the fast path reads, and makes their key attributes only", () => {
    fc.assert(
      fc.property(itemArbitrary(), fc.boolean(), (item, withKey) => agrees(line(withKey ? keyed(item) : item))),
      { numRuns: 1000 }
    )
  })

  it("repeated set elements and names, at every depth, found alike by both ways and by the general path", () => {
    const key = '"pk":{"S":"a"},"sk":{"N":"1"}'
    const accepted = [
      '"s":{"SS":["x","y"]}',
      '"n":{"NS":["10","1","2"]}',
      '"n":{"NS":["1.5","15","1.0","2E0"]}',
      '"b":{"BS":["AA==","AQ==","AAA="]}',
      '"a":{"M":{"x":{"N":"1"}}},"b":{"M":{"x":{"N":"1"}}}',
      '"x":{"SS":["x"]},"y":{"M":{"x":{"SS":["x","y"]},"y":{"NS":["1"]}}}',
      '"l":{"L":[{"M":{"a":{"N":"1"}}},{"M":{"a":{"N":"1"}}},{"SS":["a"]},{"SS":["a"]}]}',
      '"m":{"M":{"pk":{"N":"2"},"sk":{"S":"b"}}}'
    ]
    const refused = [
      '"s":{"SS":["x","y","x"]}',
      '"n":{"NS":["1","1.0"]}',
      '"n":{"NS":["1.0","1"]}',
      '"n":{"NS":["1.0","1.00"]}',
      '"n":{"NS":["100","2","1E2"]}',
      '"n":{"NS":["1E2","100"]}',
      '"n":{"NS":["1.5","15","1.50E1"]}',
      '"b":{"BS":["AA==","AQ==","AA=="]}',
      '"b":{"BS":["AA==","A==="]}',
      '"pk":{"S":"b"}',
      '"x":{"N":"1"},"y":{"N":"1"},"x":{"N":"2"}',
      '"m":{"M":{"x":{"N":"1"},"y":{"M":{"x":{"N":"1"}}},"x":{"N":"1"}}}',
      '"l":{"L":[{"M":{"a":{"N":"1"},"a":{"N":"1"}}}]}'
    ]
    for (
      const [attributes, fast] of [
        ...accepted.map((a) => [a, true] as const),
        ...refused.map((a) => [a, false] as const)
      ]
    ) {
      const text = `{"Item":{${key},${attributes}}}`
      assert.strictEqual(fullExportItem(text) !== undefined, fast, text)
      agrees(text)
      assertSame(text, context(ItemKey.make("pk", "sk")))
      assertSame(text, context(ItemKey.make("pk", "sk"), true))
    }
  })

  it("on damaged lines", () => {
    const pieces = ["{", "}", "[", "]", '"', ":", ",", "\\", "1", "e", "S", "N", "L", "M", "="]
    fc.assert(
      fc.property(itemArbitrary(2), fc.nat(), fc.constantFrom(...pieces), (item, offset, piece) => {
        const text = line(keyed(item))
        const at = offset % (text.length + 1)
        agrees(text.slice(0, at) + piece + text.slice(at + 1))
      }),
      { numRuns: 1000 }
    )
  })

  it("a line read with itemsWhenAsked keeps its text, and makes its item when asked, once", () => {
    const item = keyed(AV.item({ s: AV.s("x"), m: AV.m(AV.item({ n: AV.n("1") })) }))
    const event = ExportLine.decodeTextUnsafe(line(item), 3, context(ItemKey.make("pk", "sk"), true))
    assert.strictEqual(ExportLine.itemText(event), line(item))
    assert.strictEqual(event.newImage, event.newImage)
    assert.strictEqual(itemText(event.newImage), itemText(item))
    assert.notInclude(Object.keys(event), "itemText")
    const copy = { ...event, newImage: event.newImage! }
    assert.isUndefined(ExportLine.itemText(copy), "a copy is an ordinary event")
    assert.deepStrictEqual(copy, ExportLine.decodeTextUnsafe(line(item), 3, context(ItemKey.make("pk", "sk"))))
    assert.deepStrictEqual(event, copy)
    assert.include([...(function* () {
      for (const name in event) yield name
    })()], "newImage")
    for (const eager of [context(), context(undefined, true), context(ItemKey.make("pk", "sk"))]) {
      const read = ExportLine.decodeTextUnsafe(line(item), 3, eager)
      assert.isUndefined(ExportLine.itemText(read), "without the key schema or the option, the item is made at once")
    }
  })
})
