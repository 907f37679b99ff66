/**
 * A replica read back as items, without vitest (see Cli.ts): a SQL table's rows in columns mode, or the items that a
 * JSON-lines file's events leave under the version rule. As test/contract/SinkContract.ts reads them.
 */
import * as SqlIdentifier from "../../../adapters/sinks/internal/SqlIdentifier.ts"
import * as AV from "../../../core/AttributeValue.ts"
import type { AttributeValue, Item } from "../../../core/AttributeValue.ts"
import type { ChangeEvent } from "../../../core/ChangeEvent.ts"
import * as DynamoJson from "../../../core/DynamoJson.ts"
import * as ItemKey from "../../../core/ItemKey.ts"
import * as Version from "../../../core/Version.ts"
import { KEY_SCHEMA } from "./Cli.ts"

export type Query = (text: string, params?: ReadonlyArray<unknown>) => Promise<ReadonlyArray<Record<string, unknown>>>

/** The items that events leave, each applied only above the version held. */
export const model = (events: ReadonlyArray<ChangeEvent>): Map<string, Item> => {
  const held = new Map<string, { version: string; item: Item | undefined }>()
  for (const event of events) {
    const k = ItemKey.encode(KEY_SCHEMA, event.newImage ?? event.oldImage ?? event.key!)
    const version = Version.of(event)
    if (!Version.isNewer(version, held.get(k)?.version)) continue
    held.set(k, { version, item: event.op === "d" ? undefined : event.newImage })
  }
  const out = new Map<string, Item>()
  for (const [k, { item }] of held) if (item !== undefined) out.set(k, item)
  return out
}

const BOOKKEEPING = new Set(["_backstream_version", "_backstream_updated_at"])

const fromHex = (text: string) => Uint8Array.from(text.slice(2).match(/../g) ?? [], (byte) => parseInt(byte, 16))

const fromColumn = (type: string, text: string): AttributeValue => {
  switch (type) {
    case "text":
      return AV.s(text)
    case "numeric":
      return AV.n(text)
    case "bytea":
      return AV.b(fromHex(text))
    case "boolean":
      return AV.bool(text === "true")
    case "jsonb":
      return DynamoJson.decodeValueUnsafe(JSON.parse(text))
    default:
      throw new Error(`unexpected column type ${type}`)
  }
}

/** The items of a SQL sink's table (schema `public`); `attributes` maps columns back to attribute names. */
export const readSql = async (
  query: Query,
  table: string,
  attributes: Iterable<string>
): Promise<Map<string, Item>> => {
  const names = new Map<string, string>()
  for (const name of [...attributes, ...ItemKey.names(KEY_SCHEMA)]) names.set(SqlIdentifier.column(name), name)
  const columns = (await query(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type FROM pg_attribute a
     JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relname = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    [table]
  )).map((row) => ({ name: String(row.name), type: String(row.type) }))
  const rows = await query(
    `SELECT ${columns.map((c, i) => `${SqlIdentifier.quote(c.name)}::text AS c${i}`).join(", ")} FROM ${
      SqlIdentifier.quote(table)
    }`
  )
  const out = new Map<string, Item>()
  for (const row of rows) {
    const item = new Map<string, AttributeValue>()
    let deleted = false
    columns.forEach((column, i) => {
      const text = row[`c${i}`]
      if (text === null || text === undefined) return
      if (column.name === "_backstream_deleted") deleted = text === "true"
      else if (column.name === "_backstream_item" || column.name === "_backstream_other") {
        for (const [name, value] of DynamoJson.decodeItemUnsafe(JSON.parse(String(text)))) item.set(name, value)
      } else if (!BOOKKEEPING.has(column.name)) {
        const name = names.get(column.name)
        if (name === undefined) throw new Error(`column ${column.name} of no attribute the workload writes`)
        item.set(name, fromColumn(column.type, String(text)))
      }
    })
    if (!deleted) out.set(ItemKey.encode(KEY_SCHEMA, item), item)
  }
  return out
}
