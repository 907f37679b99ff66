/**
 * One batch of change events as SQL. Events of the same item are collapsed to the one with the highest version (the
 * first of equals, as an event applies only when strictly newer): with the version guard on every statement, applying
 * that one alone leaves the table as applying them all in order would, and a multi-row upsert may touch each row once
 * only. With soft deletes, an item deleted after a change in the same batch gets that change first, so its row keeps
 * its last values as it would event by event. The rows travel as one JSON
 * parameter per statement (`jsonb_to_recordset`): no limit on parameters, and one form for `pg` and PGlite.
 *
 * - upsert: `INSERT … ON CONFLICT (key) DO UPDATE … WHERE target._backstream_version < EXCLUDED._backstream_version`,
 *   every attribute column set (a new image replaces the item: attributes it lacks become NULL); with hard deletes,
 *   not inserted when a tombstone holds the same version or a newer one.
 * - hard delete: `DELETE … WHERE key AND _backstream_version < v`, and the tombstone raised to `v`.
 * - soft delete: an upsert of the key alone with `_backstream_deleted = true` under the same guard (the other columns
 *   keep their last values), so a deleted item's row also serves as its tombstone.
 */
import type { AttributeValue, Item } from "../../../core/AttributeValue.ts"
import type { ChangeEvent } from "../../../core/ChangeEvent.ts"
import * as DynamoJson from "../../../core/DynamoJson.ts"
import * as ItemKey from "../../../core/ItemKey.ts"
import type { KeySchema } from "../../../core/ItemKey.ts"
import * as Version from "../../../core/Version.ts"
import * as SqlIdentifier from "./SqlIdentifier.ts"
import { type AttributeColumn, DELETED, ITEM, type Layout, OTHER, TOMBSTONES, UPDATED_AT, VERSION } from "./SqlTable.ts"
import { keyToColumn, kindOf, nulPath, nulPathInItem, toColumn } from "./SqlValue.ts"

/** An event the sink cannot apply (no key, no image, a string Postgres cannot store). Not worth retrying. */
export class BatchInvalid extends Error {}

export interface Statement {
  readonly text: string
  readonly params: ReadonlyArray<unknown>
}

export interface Plan {
  /** The layout once the batch is committed (with the new attributes' columns). */
  readonly layout: Layout
  readonly newColumns: ReadonlyArray<AttributeColumn>
  readonly statements: ReadonlyArray<Statement>
}

const ROWS_PER_STATEMENT = 2000

interface Winner {
  readonly event: ChangeEvent
  readonly key: Item
  readonly encodedKey: string
  readonly version: string
}

const keyOf = (schema: KeySchema, event: ChangeEvent, index: number): Item => {
  const source = event.key ?? event.newImage ?? event.oldImage
  if (source === undefined) throw new BatchInvalid(`event ${index} (op ${event.op}) has neither a key nor an image`)
  const key = ItemKey.fromItem(schema, source)
  if (key._tag === "Left") throw new BatchInvalid(`event ${index} (op ${event.op}): ${key.left.reason}`)
  return key.right
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
const timestamp = (ms: number): string | null => {
  if (ms !== lastMs) {
    lastMs = ms
    lastTimestamp = Number.isFinite(ms) ? new Date(ms).toISOString() : null
  }
  return lastTimestamp
}

const FIELDS: Array<string> = []
const field = (i: number) => (FIELDS[i] ??= `c${i}`)

const describeKey = (key: Item) => JSON.stringify(DynamoJson.encodeItem(key))

const nulFailure = (key: Item, where: string) =>
  new BatchInvalid(
    `the item ${describeKey(key)} holds the character U+0000 at ${where}, which Postgres cannot store in text or `
      + `jsonb; replicate such data with the JSON-lines sink`
  )

const checkKey = (winner: Winner) => {
  for (const [name, value] of winner.key) {
    if (value._tag === "S" && value.value.includes("\0")) throw nulFailure(winner.key, `its key attribute ${name}`)
  }
}

/** Builds the statements of a batch for a layout (plus the columns to add first). */
export const plan = (
  layout: Layout,
  schema: KeySchema,
  events: ReadonlyArray<ChangeEvent>,
  sinkTable: string
): Plan => {
  const { beforeDelete, winners } = collapse(schema, events)
  for (const winner of winners) checkKey(winner)
  const upserts = winners.filter((w) => w.event.op !== "d")
  if (layout.deletes === "soft") upserts.push(...beforeDelete)
  const deletes = winners.filter((w) => w.event.op === "d")
  const keyNames = new Set(layout.keys.map((k) => k.attribute))

  let columns = layout.columns
  const newColumns: Array<AttributeColumn> = []
  const index = new Map(columns.map((c, i) => [c.column, i]))
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
    for (const winner of upserts) {
      for (const [name, value] of winner.event.newImage!) {
        if (keyNames.has(name)) continue
        const column = columnOf(name)
        if (index.has(column)) continue
        const kind = kindOf(value)
        if (kind === undefined) continue
        index.set(column, columns.length + newColumns.length)
        newColumns.push({ column, type: kind, kind })
      }
    }
    columns = [...columns, ...newColumns]
  }
  const next: Layout = { ...layout, columns }
  const attributeIndex = new Map<string, number>()

  const keyFields = (winner: Winner, row: Record<string, unknown>) => {
    layout.keys.forEach((k, i) => (row[`k${i}`] = keyToColumn(winner.key.get(k.attribute)!)))
    row.v = winner.version
    row.t = timestamp(winner.event.timestampMs)
    if (layout.deletes === "hard") row.k = winner.encodedKey
    return row
  }

  const upsertRow = (winner: Winner): Record<string, unknown> => {
    const row = keyFields(winner, {})
    const image = winner.event.newImage!
    if (layout.mode === "document") {
      const path = nulPathInItem(image)
      if (path !== undefined) throw nulFailure(winner.key, `the attribute path $${path}`)
      row.d = DynamoJson.encodeItem(image)
      return row
    }
    let other: Record<string, unknown> | undefined
    for (const [name, value] of image) {
      if (keyNames.has(name) || value._tag === "NULL") continue
      const path = nulPath(value)
      if (path !== undefined) throw nulFailure(winner.key, `the attribute path $.${JSON.stringify(name)}${path}`)
      let i = attributeIndex.get(name)
      if (i === undefined) attributeIndex.set(name, i = index.get(columnOf(name))!)
      const json = toColumn(columns[i]!.kind, value)
      if (json !== undefined) row[field(i)] = json
      else {
        if (name.includes("\0")) throw nulFailure(winner.key, `the name of the attribute ${JSON.stringify(name)}`)
        other ??= Object.create(null) as Record<string, unknown>
        other[name] = DynamoJson.encodeValue(value as AttributeValue)
      }
    }
    if (other !== undefined) row.o = other
    return row
  }

  const statements: Array<Statement> = []
  const hard = layout.deletes === "hard"
  const chunks = <A>(rows: ReadonlyArray<A>) => {
    const out: Array<ReadonlyArray<A>> = []
    for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) out.push(rows.slice(i, i + ROWS_PER_STATEMENT))
    return out
  }
  if (upserts.length > 0) {
    const text = upsertText(next)
    for (const chunk of chunks(upserts)) {
      const payload = JSON.stringify(chunk.map(upsertRow))
      statements.push({ text, params: hard ? [payload, sinkTable] : [payload] })
    }
  }
  if (deletes.length > 0) {
    const text = hard ? hardDeleteText(next) : softDeleteText(next)
    for (const chunk of chunks(deletes)) {
      const payload = JSON.stringify(chunk.map((winner) => keyFields(winner, {})))
      statements.push({ text, params: hard ? [payload, sinkTable] : [payload] })
    }
  }
  return { layout: next, newColumns, statements }
}

const q = SqlIdentifier.quote

const recordOf = (layout: Layout, extra: ReadonlyArray<string>) =>
  [
    ...layout.keys.map((k, i) => `k${i} ${k.type}`),
    "v numeric",
    "t timestamptz",
    ...(layout.deletes === "hard" ? ["k text"] : []),
    ...extra
  ].join(", ")

const keyList = (layout: Layout) => layout.keys.map((k) => q(k.column)).join(", ")

const guard = `WHERE target.${q(VERSION)} < EXCLUDED.${q(VERSION)}`

const tombstoneCheck = (layout: Layout) =>
  layout.deletes === "hard"
    ? `\nWHERE NOT EXISTS (SELECT 1 FROM ${
      SqlIdentifier.qualified({ schema: layout.table.schema, name: TOMBSTONES })
    } d WHERE d.sink_table = $2 AND d.item_key = x.k AND d.version >= x.v)`
    : ""

const upsertText = (layout: Layout): string => {
  const target: Array<string> = layout.keys.map((k) => q(k.column))
  const source: Array<string> = layout.keys.map((_, i) => `x.k${i}`)
  const record: Array<string> = []
  const set: Array<string> = []
  if (layout.mode === "document") {
    target.push(q(ITEM))
    source.push("x.d")
    record.push("d jsonb")
    set.push(`${q(ITEM)} = EXCLUDED.${q(ITEM)}`)
  } else {
    layout.columns.forEach((c, i) => {
      if (c.kind === undefined) {
        set.push(`${q(c.column)} = NULL`)
        return
      }
      target.push(q(c.column))
      source.push(`x.c${i}`)
      record.push(`c${i} ${c.kind}`)
      set.push(`${q(c.column)} = EXCLUDED.${q(c.column)}`)
    })
    target.push(q(OTHER))
    source.push("x.o")
    record.push("o jsonb")
    set.push(`${q(OTHER)} = EXCLUDED.${q(OTHER)}`)
  }
  target.push(q(VERSION), q(UPDATED_AT))
  source.push("x.v", "x.t")
  set.push(`${q(VERSION)} = EXCLUDED.${q(VERSION)}`, `${q(UPDATED_AT)} = EXCLUDED.${q(UPDATED_AT)}`)
  if (layout.hasDeleted) {
    target.push(q(DELETED))
    source.push("false")
    set.push(`${q(DELETED)} = false`)
  }
  return `INSERT INTO ${SqlIdentifier.qualified(layout.table)} AS target (${target.join(", ")})
SELECT ${source.join(", ")} FROM jsonb_to_recordset($1::jsonb) AS x(${recordOf(layout, record)})${
    tombstoneCheck(layout)
  }
ON CONFLICT (${keyList(layout)}) DO UPDATE SET ${set.join(", ")}
${guard}`
}

const hardDeleteText = (layout: Layout): string => {
  const match = layout.keys.map((k, i) => `target.${q(k.column)} = x.k${i}`).join(" AND ")
  const tombstones = SqlIdentifier.qualified({ schema: layout.table.schema, name: TOMBSTONES })
  return `WITH x AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(${recordOf(layout, [])})),
removed AS (DELETE FROM ${SqlIdentifier.qualified(layout.table)} AS target USING x
  WHERE ${match} AND target.${q(VERSION)} < x.v)
INSERT INTO ${tombstones} AS d (sink_table, item_key, version) SELECT $2, x.k, x.v FROM x
ON CONFLICT (sink_table, item_key) DO UPDATE SET version = EXCLUDED.version WHERE d.version < EXCLUDED.version`
}

const softDeleteText = (layout: Layout): string =>
  `INSERT INTO ${SqlIdentifier.qualified(layout.table)} AS target (${keyList(layout)}, ${q(VERSION)}, ${
    q(UPDATED_AT)
  }, ${q(DELETED)})
SELECT ${layout.keys.map((_, i) => `x.k${i}`).join(", ")}, x.v, x.t, true FROM jsonb_to_recordset($1::jsonb) AS x(${
    recordOf(layout, [])
  })
ON CONFLICT (${keyList(layout)}) DO UPDATE SET ${q(VERSION)} = EXCLUDED.${q(VERSION)}, ${q(UPDATED_AT)} = EXCLUDED.${
    q(UPDATED_AT)
  }, ${q(DELETED)} = true
${guard}`
