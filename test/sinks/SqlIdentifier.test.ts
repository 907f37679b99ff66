import { assert, describe, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import * as SqlIdentifier from "../../adapters/sinks/internal/SqlIdentifier.ts"

const bytes = (text: string) => new TextEncoder().encode(text).length

describe("SqlIdentifier", () => {
  it("keeps names that fit, maps the others to 63 bytes at most", () => {
    assert.strictEqual(SqlIdentifier.column("Name"), "Name")
    assert.strictEqual(SqlIdentifier.column('a"b c.d'), 'a"b c.d')
    assert.strictEqual(SqlIdentifier.column("x".repeat(63)), "x".repeat(63))
    const long = SqlIdentifier.column("x".repeat(64))
    assert.match(long, /^x{46}#[0-9a-f]{16}$/)
    assert.match(SqlIdentifier.column("_backstream_version"), /^_backstream_version#[0-9a-f]{16}$/)
    assert.match(SqlIdentifier.column("a\0b"), /^ab#[0-9a-f]{16}$/)
    const mappedLooking = "name#0123456789abcdef"
    assert.notStrictEqual(SqlIdentifier.column(mappedLooking), mappedLooking)
    const emoji = SqlIdentifier.column("😀".repeat(20))
    assert.isAtMost(bytes(emoji), 63)
    assert.isTrue(emoji.startsWith("😀".repeat(11) + "#"))
    assert.strictEqual(SqlIdentifier.quote('a"b'), '"a""b"')
  })

  it.prop("distinct names get distinct columns of at most 63 bytes, the same every time", [
    fc.uniqueArray(fc.oneof(fc.string({ minLength: 1 }), fc.fullUnicodeString({ minLength: 40, maxLength: 120 })), {
      minLength: 2,
      maxLength: 30
    })
  ], ([names]) => {
    const columns = names.map(SqlIdentifier.column)
    assert.strictEqual(new Set(columns).size, names.length)
    for (const column of columns) assert.isAtMost(bytes(column), 63)
    assert.deepStrictEqual(names.map(SqlIdentifier.column), columns)
  })

  it("parses the table option", () => {
    assert.deepStrictEqual(SqlIdentifier.parseTable("orders"), { schema: "public", name: "orders" })
    assert.deepStrictEqual(SqlIdentifier.parseTable("Sales.Orders"), { schema: "Sales", name: "Orders" })
    assert.deepStrictEqual(SqlIdentifier.parseTable('"my.schema"."a""b"'), { schema: "my.schema", name: 'a"b' })
    assert.include(SqlIdentifier.parseTable("a.b.c") as string, "3 parts")
    assert.include(SqlIdentifier.parseTable("") as string, "empty")
    assert.include(SqlIdentifier.parseTable("a.") as string, "ends with a dot")
    assert.include(SqlIdentifier.parseTable('"open') as string, "unclosed")
    assert.include(SqlIdentifier.parseTable("x".repeat(64)) as string, "63-byte")
    assert.deepStrictEqual(SqlIdentifier.defaultTable("Orders"), { schema: "public", name: "Orders" })
  })
})
