/**
 * A replica read back as items, without the test framework (the bench loads it too): the model — events folded with
 * the version rule, as a JSON-lines file's consumers do — and a SQL table read back from its columns.
 */
import * as SqlIdentifier from "../../adapters/sinks/internal/SqlIdentifier.ts"
import * as AV from "../../core/AttributeValue.ts"
import type { AttributeValue, Item } from "../../core/AttributeValue.ts"
import type { ChangeEvent } from "../../core/ChangeEvent.ts"
import * as DynamoJson from "../../core/DynamoJson.ts"
import * as Envelope from "../../core/Envelope.ts"
import * as ItemKey from "../../core/ItemKey.ts"
import type { KeySchema } from "../../core/ItemKey.ts"
import * as Version from "../../core/Version.ts"

export type Rows = ReadonlyArray<Record<string, unknown>>

/** Runs a query on a replica's database. */
export type Query = (text: string, params?: ReadonlyArray<unknown>) => Promise<Rows>

/** Where a replica is read from: a SQL database, or a JSON-lines destination's text. */
export interface ReplicaSource {
  readonly sql?: Query
  readonly text?: (destination: string) => Promise<string>
}

/** The model: events folded with the version rule. */
export const model = (schema: KeySchema, events: ReadonlyArray<ChangeEvent>): Map<string, Item> => {
  const held = new Map<string, { version: string; item: Item | undefined }>()
  for (const event of events) {
    const image = event.newImage ?? event.oldImage ?? event.key!
    const k = ItemKey.encode(schema, image)
    const version = Version.of(event)
    if (!Version.isNewer(version, held.get(k)?.version)) continue
    held.set(k, { version, item: event.op === "d" ? undefined : event.newImage })
  }
  const out = new Map<string, Item>()
  for (const [k, { item }] of held) if (item !== undefined) out.set(k, item)
  return out
}

const decodeLines = (text: string): ReadonlyArray<ChangeEvent> =>
  text.split("\n").filter((line) => line !== "").map((line) => {
    const decoded = Envelope.decode(line)
    if (decoded._tag === "Left") throw new Error(`bad line ${line}: ${decoded.left.message}`)
    return decoded.right
  })

/** The columns of a table with their types. */
export const columnsOf = async (target: ReplicaSource, table: string, schema = "public") =>
  (await target.sql!(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type FROM pg_attribute a
     JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    [schema, table]
  )).map((row) => ({ name: String(row.name), type: String(row.type) }))

/** The columns a replica table of key `pk` (S), `sk` (N) starts with, as {@link columnsOf} lists them. */
export const fixedColumns = (options: { readonly softDeletes?: boolean } = {}) => [
  { name: "pk", type: "text" },
  { name: "sk", type: "numeric" },
  { name: "_backstream_version", type: "numeric(40,0)" },
  { name: "_backstream_updated_at", type: "timestamp with time zone" },
  ...(options.softDeletes === true ? [{ name: "_backstream_deleted", type: "boolean" }] : []),
  { name: "_backstream_other", type: "jsonb" }
]

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

/**
 * The items a destination holds (a SQL table in schema `public`, or a JSON-lines file folded by {@link model}).
 * `attributes`: the attribute names written, to map columns back to names. Soft-deleted rows are left out.
 */
export const read = async (
  target: ReplicaSource,
  destination: string,
  schema: KeySchema,
  attributes: Iterable<string>
): Promise<Map<string, Item>> => {
  if (target.text !== undefined) return model(schema, decodeLines(await target.text(destination)))
  const names = new Map<string, string>()
  for (const name of [...attributes, ...ItemKey.names(schema)]) names.set(SqlIdentifier.column(name), name)
  const columns = await columnsOf(target, destination)
  const rows = await target.sql!(
    `SELECT ${columns.map((c, i) => `${SqlIdentifier.quote(c.name)}::text AS c${i}`).join(", ")} FROM ${
      SqlIdentifier.quote(destination)
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
        if (name === undefined) throw new Error(`column ${column.name} of no attribute in the names given`)
        item.set(name, fromColumn(column.type, String(text)))
      }
    })
    if (!deleted) out.set(ItemKey.encode(schema, item), item)
  }
  return out
}
