import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as AV from "../../core/AttributeValue.ts"
import { itemArbitrary } from "../../core/AttributeValueSchema.ts"
import type { ChangeEvent } from "../../core/ChangeEvent.ts"
import * as ExportLayout from "../../core/ExportLayout.ts"
import * as ExportLine from "../../core/ExportLine.ts"
import type { KeySchema } from "../../core/ItemKey.ts"
import * as SqlSnapshotLoad from "../../adapters/sinks/internal/SqlSnapshotLoad.ts"
import type { AttributeColumn, Layout } from "../../adapters/sinks/internal/SqlTable.ts"

// A snapshot read that the export reader's fast path took keeps its line (ExportLine.itemText), and the SQL sink's
// bulk load writes its row from that text rather than from the item: both must give the same COPY text, byte for
// byte, whatever the item, the table's columns and the layout.

const stringKey: KeySchema = { hash: { name: "pk", type: "S" }, range: { name: "sk", type: "N" } }
const binaryKey: KeySchema = { hash: { name: "pk", type: "B" } }

const keyed = (schema: KeySchema, item: AV.Item, i: number): AV.Item =>
  new Map([
    ...(schema.hash.type === "B"
      ? [["pk", AV.b(Uint8Array.of(i, 255, 0))] as const]
      : [["pk", AV.s(i % 3 === 1 ? `p\t${i}` : `p${i}`)] as const, ["sk", AV.n(String(i))] as const]),
    ...[...item].filter(([name]) => name !== "pk" && name !== "sk")
  ])

const read = (schema: KeySchema, items: ReadonlyArray<AV.Item>): Array<ChangeEvent> =>
  items.map((item, i) =>
    ExportLine.decodeTextUnsafe(ExportLayout.fullLine(keyed(schema, item, i)).slice(0, -1), i + 1, {
      exportArn: "arn:aws:dynamodb:us-east-1:123456789012:table/t/export/1",
      file: "data/1.json.gz",
      type: "FULL_EXPORT",
      exportTimeMs: 1_768_000_000_000,
      keySchema: schema,
      newImageOnly: false,
      itemsWhenAsked: true
    })
  )

const kinds = ["text", "numeric", "bytea", "boolean", "jsonb", undefined] as const
const columnsArbitrary: fc.Arbitrary<Array<AttributeColumn>> = fc.uniqueArray(
  fc.record({ column: fc.constantFrom("a", "b", "c", "s", "n", "x", "é", "m"), kind: fc.constantFrom(...kinds) }),
  { selector: (c) => c.column, maxLength: 5 }
).map((columns) => columns.map(({ column, kind }) => ({ column, type: kind ?? "integer", kind })))

const layoutOf = (
  schema: KeySchema,
  mode: Layout["mode"],
  columns: ReadonlyArray<AttributeColumn>,
  hasDeleted: boolean
) =>
  ({
    table: { schema: "public", name: "t" },
    mode,
    deletes: hasDeleted ? "soft" : "hard",
    keys: schema.hash.type === "B"
      ? [{ attribute: "pk", column: "pk", type: "bytea" }]
      : [{ attribute: "pk", column: "pk", type: "text" }, { attribute: "sk", column: "sk", type: "numeric" }],
    columns: mode === "document" ? [] : columns,
    hasDeleted
  }) satisfies Layout

describe("SqlSnapshotLoad: rows from the export line's text equal rows from the item", () => {
  it("on any items, columns and layout", () => {
    let fromText = 0
    fc.assert(
      fc.property(
        fc.array(itemArbitrary(3), { minLength: 1, maxLength: 8 }),
        fc.constantFrom(stringKey, binaryKey),
        fc.constantFrom("columns" as const, "document" as const),
        columnsArbitrary,
        fc.boolean(),
        (items, schema, mode, columns, hasDeleted) => {
          const events = read(schema, items)
          fromText += events.filter((event) => ExportLine.itemText(event) !== undefined).length
          // A copy is an ordinary event: its row comes from its item.
          const copies = events.map((event) => ({ ...event, newImage: event.newImage! }))
          const layout = layoutOf(schema, mode, columns, hasDeleted)
          const expected = outcome(() => SqlSnapshotLoad.plan(layout, schema, copies))
          const actual = outcome(() => SqlSnapshotLoad.plan(layout, schema, events))
          assert.deepStrictEqual(actual, expected)
        }
      ),
      { numRuns: 400 }
    )
    assert.isAbove(fromText, 300, "rows written from the line's text")
  })

  it("on the export's own shapes: every type, NULLs, names the columns hold other types for", () => {
    // As AWS writes them: no escapes, every type, a NULL, a 38-digit number, nesting, the empty name.
    const item = AV.item({
      s: AV.s("text ✓ 日本語 👩‍👩‍👧‍👦"),
      big: AV.n("-1.2345678901234567890123456789012345678E+125"),
      b: AV.b(Uint8Array.of(0, 1, 2, 255)),
      t: AV.bool(true),
      z: AV.nul,
      m: AV.m(AV.item({ l: AV.l([AV.nul, AV.m(AV.item({ deep: AV.ns(["0.5"]) })), AV.l([])]) })),
      ss: AV.ss(["κ", "λ"]),
      bs: AV.bs([Uint8Array.of(7), Uint8Array.of(8, 9)]),
      "": AV.bool(false)
    })
    const events = read(stringKey, [item, new Map(), AV.item({ s: AV.n("1"), later: AV.s("new") })]).filter((event) =>
      ExportLine.itemText(event) !== undefined
    )
    assert.strictEqual(events.length, 2)
    const columns: Array<AttributeColumn> = [
      { column: "s", type: "numeric", kind: "numeric" },
      { column: "t", type: "integer", kind: undefined }
    ]
    for (const mode of ["columns", "document"] as const) {
      const layout = layoutOf(stringKey, mode, columns, false)
      const expected = SqlSnapshotLoad.plan(
        layout,
        stringKey,
        events.map((event) => ({ ...event, newImage: event.newImage! }))
      )
      const actual = SqlSnapshotLoad.plan(layout, stringKey, events)
      assert.deepStrictEqual(actual, expected)
      if (mode === "columns") {
        assert.include(actual.data, `"s":{"S":"text ✓ 日本語 👩‍👩‍👧‍👦"}`, "a string its numeric column cannot hold")
        assert.include(actual.data, "\\\\x000102ff", "binary as bytea's hex, its backslash escaped for COPY")
        assert.include(actual.data, `"t":{"BOOL":true}`, "a column of a type that holds nothing")
      }
    }
  })
})

const outcome = <A>(f: () => A): A | { readonly error: string } => {
  try {
    return f()
  } catch (error) {
    return { error: (error as Error).message }
  }
}
