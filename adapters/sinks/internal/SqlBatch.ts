/**
 * One batch of change events as SQL. Events of the same item are collapsed to the one with the highest version (the
 * first of equals, as an event applies only when strictly newer): with the version guard on every statement, applying
 * that one alone leaves the table as applying them all in order would, and a multi-row upsert may touch each row once
 * only. With soft deletes, an item deleted after a change in the same batch gets that change first, so its row keeps
 * its last values as it would event by event. The rows of a small batch travel as one JSON parameter per statement
 * (`jsonb_to_recordset`: one round trip, no limit on parameters); those of a large one (a backfill's) by `COPY` into a
 * temporary staging table, read by the same statements.
 *
 * - upsert: `INSERT … ON CONFLICT (key) DO UPDATE … WHERE target._backstream_version < EXCLUDED._backstream_version`,
 *   every attribute column set (a new image replaces the item: attributes it lacks become NULL); with hard deletes,
 *   not inserted when a tombstone holds the same version or a newer one.
 * - hard delete: `DELETE … WHERE key AND _backstream_version < v`, and the tombstone raised to `v`.
 * - soft delete: an upsert of the key alone with `_backstream_deleted = true` under the same guard (the other columns
 *   keep their last values), so a deleted item's row also serves as its tombstone.
 */
import { Either } from "effect"
import type { AttributeValue, Item } from "../../../core/AttributeValue.ts"
import type { ChangeEvent } from "../../../core/ChangeEvent.ts"
import * as DynamoJson from "../../../core/DynamoJson.ts"
import * as DynamoJsonText from "../../../core/DynamoJsonText.ts"
import * as ItemKey from "../../../core/ItemKey.ts"
import type { KeySchema } from "../../../core/ItemKey.ts"
import * as Version from "../../../core/Version.ts"
import * as SqlIdentifier from "./SqlIdentifier.ts"
import { type AttributeColumn, DELETED, ITEM, type Layout, OTHER, TOMBSTONES, UPDATED_AT, VERSION } from "./SqlTable.ts"
import { type ColumnKind, hex, keyText, kindOf, nulPath, nulPathInItem } from "./SqlValue.ts"

/** An event the sink cannot apply (no key, no image, a string Postgres cannot store). Not worth retrying. */
export class BatchInvalid extends Error {}

/** A statement with its parameters, or rows for `COPY … FROM STDIN` into a table (in `COPY`'s text format). */
export type Statement =
  | { readonly _tag: "query"; readonly text: string; readonly params: ReadonlyArray<unknown> }
  | { readonly _tag: "copy"; readonly table: string; readonly data: string }

export interface Plan {
  /** The layout once the batch is committed (with the new attributes' columns). */
  readonly layout: Layout
  readonly newColumns: ReadonlyArray<AttributeColumn>
  readonly statements: ReadonlyArray<Statement>
}

const ROWS_PER_STATEMENT = 2000

/** Batches with at least this many rows to upsert (or to delete) send them with `COPY`. */
export const BULK_ROWS = 500

interface Winner {
  readonly event: ChangeEvent
  readonly key: Item
  readonly encodedKey: string
  readonly version: string
}

export const keyOf = (schema: KeySchema, event: ChangeEvent, index: number): Item => {
  const source = event.key ?? event.newImage ?? event.oldImage
  if (source === undefined) throw new BatchInvalid(`event ${index} (op ${event.op}) has neither a key nor an image`)
  const reason = ItemKey.problem(schema, source)
  if (reason !== undefined) throw new BatchInvalid(`event ${index} (op ${event.op}): ${reason}`)
  // An event's key is already one; an image (or a key in another order) is narrowed to the key's attributes in order.
  return source === event.key && source.size === (schema.range === undefined ? 1 : 2)
      && source.keys().next().value === schema.hash.name
    ? source
    : Either.getOrThrow(ItemKey.fromItem(schema, source))
}

interface Collapsed {
  /** Per item, the event that decides it (highest version, the first of equals), in order of first appearance. */
  readonly winners: ReadonlyArray<Winner>
  /** Per item whose winner is a delete, the highest-versioned change before it in the batch, if any. */
  readonly beforeDelete: ReadonlyArray<Winner>
}

export const collapse = (schema: KeySchema, events: ReadonlyArray<ChangeEvent>): Collapsed => {
  const winners = new Map<string, Winner>()
  const lastChange = new Map<string, Winner>()
  events.forEach((event, index) => {
    if (event.op !== "d" && event.newImage === undefined) {
      throw new BatchInvalid(`event ${index} (op ${event.op}) has no new image`)
    }
    const key = keyOf(schema, event, index)
    const encodedKey = ItemKey.encode(schema, key)
    const version = Version.of(event)
    const candidate = { event, key, encodedKey, version }
    const held = winners.get(encodedKey)
    if (held === undefined || Version.compare(version, held.version) > 0) winners.set(encodedKey, candidate)
    if (event.op !== "d") {
      const change = lastChange.get(encodedKey)
      if (change === undefined || Version.compare(version, change.version) > 0) lastChange.set(encodedKey, candidate)
    }
  })
  const beforeDelete: Array<Winner> = []
  for (const [encodedKey, winner] of winners) {
    const change = lastChange.get(encodedKey)
    if (winner.event.op === "d" && change !== undefined) beforeDelete.push(change)
  }
  return { winners: [...winners.values()], beforeDelete }
}

let lastMs = Number.NaN
let lastTimestamp: string | null = null
/** An event time as `timestamptz` text (a backfill's events share one: the export time). */
export const timestamp = (ms: number): string | null => {
  if (ms !== lastMs) {
    lastMs = ms
    lastTimestamp = Number.isFinite(ms) ? new Date(ms).toISOString() : null
  }
  return lastTimestamp
}

const describeKey = (key: Item) => JSON.stringify(DynamoJson.encodeItem(key))

export const nulFailure = (key: Item, where: string) =>
  new BatchInvalid(
    `the item ${describeKey(key)} holds the character U+0000 at ${where}, which Postgres cannot store in text or `
      + `jsonb; replicate such data with the JSON-lines sink`
  )

export const checkKey = (key: Item): void => {
  for (const [name, value] of key) {
    if (value._tag === "S" && value.value.includes("\0")) throw nulFailure(key, `its key attribute ${name}`)
  }
}

/** A value as the text of its column's kind (jsonb as its JSON text), or `undefined` when the column does not hold it. */
export const columnText = (kind: ColumnKind, value: AttributeValue): string | undefined => {
  switch (kind) {
    case "text":
      return value._tag === "S" ? value.value : undefined
    case "numeric":
      return value._tag === "N" ? value.value : undefined
    case "bytea":
      return value._tag === "B" ? hex(value.value) : undefined
    case "boolean":
      return value._tag === "BOOL" ? (value.value ? "t" : "f") : undefined
    case "jsonb":
      return value._tag === "M" || value._tag === "L" || value._tag === "SS" || value._tag === "NS"
          || value._tag === "BS"
        ? DynamoJsonText.ofValue(value)
        : undefined
  }
}

/** A row's fields, in the order of its {@link Field}s: text (jsonb as JSON text), or `null` for SQL NULL. */
type Row = Array<string | null>

/** An item as the column of `document` mode: its DynamoDB JSON. Throws naming the item when it holds U+0000. */
export const documentText = (key: Item, image: Item): string => {
  const path = nulPathInItem(image)
  if (path !== undefined) throw nulFailure(key, `the attribute path $${path}`)
  return DynamoJsonText.ofItem(image)
}

/**
 * An item's attributes (but its key's and NULLs) written to `row` as their columns' fields: `fieldOf` gives an
 * attribute's field (-1 when its column takes no values; `row` grows to it with `null`), `kindAt` a field's kind.
 * Returns the JSON of `_backstream_other`, the values no column takes, if any. Throws naming the item when it holds
 * U+0000.
 */
export const attributeFields = (
  key: Item,
  image: Item,
  keyNames: ReadonlySet<string>,
  fieldOf: (name: string, value: AttributeValue) => number,
  kindAt: (field: number) => ColumnKind,
  row: Row
): string | undefined => {
  let other: string | undefined
  for (const [name, value] of image) {
    if (value._tag === "NULL" || keyNames.has(name)) continue
    const path = nulPath(value)
    if (path !== undefined) throw nulFailure(key, `the attribute path $.${JSON.stringify(name)}${path}`)
    const f = fieldOf(name, value)
    const text = f < 0 ? undefined : columnText(kindAt(f), value)
    if (text !== undefined) {
      while (row.length < f) row.push(null)
      row[f] = text
    } else {
      if (name.includes("\0")) throw nulFailure(key, `the name of the attribute ${JSON.stringify(name)}`)
      other = (other === undefined ? "{" : `${other},`) + JSON.stringify(name) + ":" + DynamoJsonText.ofValue(value)
    }
  }
  return other === undefined ? undefined : `${other}}`
}

/**
 * The rows travel in one of two ways, with the same fields and the same statements around them: as one JSON
 * parameter (`jsonb_to_recordset`, one round trip: small batches), or by `COPY` into a temporary staging table dropped
 * at commit (large batches: a backfill). jsonb fields travel as text and are cast where they are read.
 */
interface Field {
  readonly name: string
  readonly type: string
  readonly json: boolean
  /** For an attribute column's field: the column's place in the layout and the kind of value it holds. */
  readonly column?: { readonly index: number; readonly kind: ColumnKind }
}

const keyFieldsOf = (layout: Layout): Array<Field> => [
  ...layout.keys.map((k, i) => ({ name: `k${i}`, type: k.type, json: false })),
  { name: "v", type: "numeric", json: false },
  { name: "t", type: "timestamptz", json: false },
  ...(layout.deletes === "hard" ? [{ name: "k", type: "text", json: false }] : [])
]

const upsertFieldsOf = (layout: Layout): Array<Field> => {
  const fields = keyFieldsOf(layout)
  if (layout.mode === "document") {
    fields.push({ name: "d", type: "jsonb", json: true })
    return fields
  }
  layout.columns.forEach((c, i) => {
    if (c.kind !== undefined) {
      fields.push({ name: `c${i}`, type: c.kind, json: c.kind === "jsonb", column: { index: i, kind: c.kind } })
    }
  })
  fields.push({ name: "o", type: "jsonb", json: true })
  return fields
}

/** Where a statement reads its rows from: `x`. */
type Source = { readonly _tag: "json" } | { readonly _tag: "copy"; readonly table: string }

const STAGE = "pg_temp._backstream_stage"

const sourceSql = (source: Source, fields: ReadonlyArray<Field>) =>
  source._tag === "copy"
    ? `${source.table} AS x`
    : `jsonb_to_recordset($1::jsonb) AS x(${fields.map((f) => `${f.name} ${f.json ? "text" : f.type}`).join(", ")})`

const read = (field: Field) => field.json ? `x.${field.name}::jsonb` : `x.${field.name}`

/** The statements that carry `rows` for a statement reading `x`, and that statement's parameters. */
const carry = (
  rows: ReadonlyArray<Row>,
  fields: ReadonlyArray<Field>,
  source: Source,
  text: string,
  extra: ReadonlyArray<unknown>
): Array<Statement> => {
  if (source._tag === "copy") {
    return [
      {
        _tag: "query",
        text: `CREATE TEMPORARY TABLE ${source.table} (${
          fields.map((f) => `${f.name} ${f.json ? "text" : f.type}`).join(", ")
        }) ON COMMIT DROP`,
        params: []
      },
      { _tag: "copy", table: source.table, data: copyText(rows) },
      { _tag: "query", text, params: extra },
      { _tag: "query", text: `DROP TABLE ${source.table}`, params: [] }
    ]
  }
  const statements: Array<Statement> = []
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
    const records = rows.slice(i, i + ROWS_PER_STATEMENT).map((row) => {
      const record: Record<string, string> = {}
      for (let f = 0; f < fields.length; f++) if (row[f] !== null) record[fields[f]!.name] = row[f]!
      return record
    })
    statements.push({ _tag: "query", text, params: [JSON.stringify(records), ...extra] })
  }
  return statements
}

const COPY_SPECIAL = /[\\\t\n\r]/
const COPY_ESCAPES = /[\\\t\n\r]/g
const copyEscape = (char: string) => char === "\\" ? "\\\\" : char === "\t" ? "\\t" : char === "\n" ? "\\n" : "\\r"

/** A field's text as `COPY`'s text format writes it (backslash escapes). */
export const copyField = (text: string): string =>
  COPY_SPECIAL.test(text) ? text.replace(COPY_ESCAPES, copyEscape) : text

/** Rows in `COPY`'s text format: tab-separated fields, `\N` for NULL, backslash escapes. */
const copyText = (rows: ReadonlyArray<Row>): string => {
  let out = ""
  for (const row of rows) {
    for (let f = 0; f < row.length; f++) {
      const field = row[f]!
      const text = field === null ? "\\N" : copyField(field)
      out += f === 0 ? text : "\t" + text
    }
    out += "\n"
  }
  return out
}

/** The attribute columns that new images need beyond a layout's (columns mode), and where each column is. */
export interface Extension {
  readonly newColumns: ReadonlyArray<AttributeColumn>
  /** A column's place in the layout once extended. */
  readonly index: ReadonlyMap<string, number>
  /** An attribute's column name (memoised). */
  readonly columnOf: (attribute: string) => string
}

/** Finds the attributes of `images` that have no column yet, each with the kind of its first value (none for NULL). */
export const extend = (layout: Layout, images: Iterable<Item>): Extension => {
  const index = new Map(layout.columns.map((c, i) => [c.column, i]))
  const newColumns: Array<AttributeColumn> = []
  const columnName = new Map<string, string>()
  const columnOf = (attribute: string) => {
    let name = columnName.get(attribute)
    if (name === undefined) {
      name = SqlIdentifier.column(attribute)
      columnName.set(attribute, name)
    }
    return name
  }
  if (layout.mode === "columns") {
    const keyNames = new Set(layout.keys.map((k) => k.attribute))
    for (const image of images) {
      for (const [name, value] of image) {
        if (keyNames.has(name)) continue
        const column = columnOf(name)
        if (index.has(column)) continue
        const kind = kindOf(value)
        if (kind === undefined) continue
        index.set(column, layout.columns.length + newColumns.length)
        newColumns.push({ column, type: kind, kind })
      }
    }
  }
  return { newColumns, index, columnOf }
}

/** Builds the statements of a batch for a layout (plus the columns to add first). */
export const plan = (
  layout: Layout,
  schema: KeySchema,
  events: ReadonlyArray<ChangeEvent>,
  sinkTable: string,
  bulkRows: number = BULK_ROWS
): Plan => {
  const { beforeDelete, winners } = collapse(schema, events)
  for (const winner of winners) checkKey(winner.key)
  const upserts = winners.filter((w) => w.event.op !== "d")
  if (layout.deletes === "soft") upserts.push(...beforeDelete)
  const deletes = winners.filter((w) => w.event.op === "d")
  const keyNames = new Set(layout.keys.map((k) => k.attribute))
  const { columnOf, index, newColumns } = extend(layout, upserts.map((w) => w.event.newImage!))
  const columns = [...layout.columns, ...newColumns]
  const next: Layout = { ...layout, columns }
  const upsertFields = upsertFieldsOf(next)
  const keyWidth = keyFieldsOf(next).length
  // A column's field: its place in the row (columns of a type that holds nothing have none).
  const fieldOfColumn: Array<number> = []
  upsertFields.forEach((f, i) => {
    if (f.column !== undefined) fieldOfColumn[f.column.index] = i
  })
  const attributeField = new Map<string, number>()

  const keyRow = (winner: Winner, width: number): Row => {
    const row: Row = new Array(width).fill(null)
    layout.keys.forEach((k, i) => (row[i] = keyText(winner.key.get(k.attribute)!)))
    const at = layout.keys.length
    row[at] = winner.version
    row[at + 1] = timestamp(winner.event.timestampMs)
    if (layout.deletes === "hard") row[at + 2] = winner.encodedKey
    return row
  }

  const fieldOf = (name: string): number => {
    let f = attributeField.get(name)
    if (f === undefined) {
      const i = index.get(columnOf(name))!
      f = columns[i]!.kind === undefined ? -1 : fieldOfColumn[i]!
      attributeField.set(name, f)
    }
    return f
  }
  const kindAt = (f: number): ColumnKind => upsertFields[f]!.column!.kind

  const upsertRow = (winner: Winner): Row => {
    const row = keyRow(winner, upsertFields.length)
    const image = winner.event.newImage!
    if (layout.mode === "document") {
      row[keyWidth] = documentText(winner.key, image)
      return row
    }
    const other = attributeFields(winner.key, image, keyNames, fieldOf, kindAt, row)
    if (other !== undefined) row[upsertFields.length - 1] = other
    return row
  }

  const statements: Array<Statement> = []
  const hard = layout.deletes === "hard"
  const extra = hard ? [sinkTable] : []
  const sourceOf = (rows: number): Source => rows >= bulkRows ? { _tag: "copy", table: STAGE } : { _tag: "json" }
  if (upserts.length > 0) {
    const source = sourceOf(upserts.length)
    statements.push(
      ...carry(upserts.map(upsertRow), upsertFields, source, upsertText(next, source, upsertFields), extra)
    )
  }
  if (deletes.length > 0) {
    const source = sourceOf(deletes.length)
    const fields = keyFieldsOf(next)
    const text = hard ? hardDeleteText(next, source, fields) : softDeleteText(next, source, fields)
    statements.push(...carry(deletes.map((w) => keyRow(w, fields.length)), fields, source, text, extra))
  }
  return { layout: next, newColumns, statements }
}

const q = SqlIdentifier.quote

const keyList = (layout: Layout) => layout.keys.map((k) => q(k.column)).join(", ")

const guard = `WHERE target.${q(VERSION)} < EXCLUDED.${q(VERSION)}`

/** The parameter holding the sink table's name: after the rows' JSON, when they travel as one. */
const sinkTableParameter = (source: Source) => source._tag === "json" ? "$2" : "$1"

const tombstoneCheck = (layout: Layout, source: Source) =>
  layout.deletes === "hard"
    ? `\nWHERE NOT EXISTS (SELECT 1 FROM ${
      SqlIdentifier.qualified({ schema: layout.table.schema, name: TOMBSTONES })
    } d WHERE d.sink_table = ${sinkTableParameter(source)} AND d.item_key = x.k AND d.version >= x.v)`
    : ""

const upsertText = (layout: Layout, source: Source, fields: ReadonlyArray<Field>): string => {
  const byName = new Map(fields.map((f) => [f.name, f]))
  const target: Array<string> = layout.keys.map((k) => q(k.column))
  const values: Array<string> = layout.keys.map((_, i) => `x.k${i}`)
  const set: Array<string> = []
  if (layout.mode === "document") {
    target.push(q(ITEM))
    values.push(read(byName.get("d")!))
    set.push(`${q(ITEM)} = EXCLUDED.${q(ITEM)}`)
  } else {
    layout.columns.forEach((c, i) => {
      if (c.kind === undefined) {
        set.push(`${q(c.column)} = NULL`)
        return
      }
      target.push(q(c.column))
      values.push(read(byName.get(`c${i}`)!))
      set.push(`${q(c.column)} = EXCLUDED.${q(c.column)}`)
    })
    target.push(q(OTHER))
    values.push(read(byName.get("o")!))
    set.push(`${q(OTHER)} = EXCLUDED.${q(OTHER)}`)
  }
  target.push(q(VERSION), q(UPDATED_AT))
  values.push("x.v", "x.t")
  set.push(`${q(VERSION)} = EXCLUDED.${q(VERSION)}`, `${q(UPDATED_AT)} = EXCLUDED.${q(UPDATED_AT)}`)
  if (layout.hasDeleted) {
    target.push(q(DELETED))
    values.push("false")
    set.push(`${q(DELETED)} = false`)
  }
  return `INSERT INTO ${SqlIdentifier.qualified(layout.table)} AS target (${target.join(", ")})
SELECT ${values.join(", ")} FROM ${sourceSql(source, fields)}${tombstoneCheck(layout, source)}
ON CONFLICT (${keyList(layout)}) DO UPDATE SET ${set.join(", ")}
${guard}`
}

const hardDeleteText = (layout: Layout, source: Source, fields: ReadonlyArray<Field>): string => {
  const match = layout.keys.map((k, i) => `target.${q(k.column)} = x.k${i}`).join(" AND ")
  const tombstones = SqlIdentifier.qualified({ schema: layout.table.schema, name: TOMBSTONES })
  return `WITH x AS (SELECT * FROM ${sourceSql(source, fields)}),
removed AS (DELETE FROM ${SqlIdentifier.qualified(layout.table)} AS target USING x
  WHERE ${match} AND target.${q(VERSION)} < x.v)
INSERT INTO ${tombstones} AS d (sink_table, item_key, version) SELECT ${sinkTableParameter(source)}, x.k, x.v FROM x
ON CONFLICT (sink_table, item_key) DO UPDATE SET version = EXCLUDED.version WHERE d.version < EXCLUDED.version`
}

const softDeleteText = (layout: Layout, source: Source, fields: ReadonlyArray<Field>): string =>
  `INSERT INTO ${SqlIdentifier.qualified(layout.table)} AS target (${keyList(layout)}, ${q(VERSION)}, ${
    q(UPDATED_AT)
  }, ${q(DELETED)})
SELECT ${layout.keys.map((_, i) => `x.k${i}`).join(", ")}, x.v, x.t, true FROM ${sourceSql(source, fields)}
ON CONFLICT (${keyList(layout)}) DO UPDATE SET ${q(VERSION)} = EXCLUDED.${q(VERSION)}, ${q(UPDATED_AT)} = EXCLUDED.${
    q(UPDATED_AT)
  }, ${q(DELETED)} = true
${guard}`
