/**
 * The demo's check and summary: the replica read back from PGlite (document mode: the item in `_backstream_item`, as
 * DynamoDB JSON), compared with the table item by item, and what the run did, in a few lines.
 */
import type { PGlite } from "@electric-sql/pglite"
import { Effect } from "effect"
import * as AV from "../../core/AttributeValue.ts"
import * as DynamoJson from "../../core/DynamoJson.ts"
import * as ItemKey from "../../core/ItemKey.ts"
import * as DemoWorkload from "./DemoWorkload.ts"
import { DemoError } from "./DemoWorkload.ts"

/** Every item of the replica, by encoded key. */
export const readReplica = (db: PGlite) =>
  Effect.tryPromise({
    try: async () => {
      const rows = await db.query<{ item: string }>(
        `SELECT _backstream_item::text AS item FROM public.${DemoWorkload.TABLE}`
      )
      const items = new Map<string, AV.Item>()
      for (const row of rows.rows) {
        const item = DynamoJson.decodeItemUnsafe(JSON.parse(row.item))
        items.set(ItemKey.encode(DemoWorkload.KEY_SCHEMA, item), item)
      }
      return items
    },
    catch: (error) => new DemoError({ reason: `cannot read the replica: ${error}` })
  })

const displayKey = (item: AV.Item) =>
  ItemKey.names(DemoWorkload.KEY_SCHEMA).map((name) => {
    const value = item.get(name)
    return `${name}=${value?._tag === "S" || value?._tag === "N" ? value.value : "?"}`
  }).join(" ")

/** The keys at which the replica differs from the table: missing, extra, or with other attributes. */
export const differences = (
  table: ReadonlyMap<string, AV.Item>,
  replica: ReadonlyMap<string, AV.Item>
): ReadonlyArray<string> => {
  const out: Array<string> = []
  for (const [key, item] of table) {
    const held = replica.get(key)
    if (held === undefined) out.push(`missing ${displayKey(item)}`)
    else if (!AV.itemEquals(item, held)) out.push(`different ${displayKey(item)}`)
  }
  for (const [key, item] of replica) if (!table.has(key)) out.push(`extra ${displayKey(item)}`)
  return out
}

export const integer = (n: number) => Math.round(n).toLocaleString("en-US")
export const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`

export interface Report {
  readonly items: number
  readonly tableItems: number
  readonly differences: ReadonlyArray<string>
  readonly writes: DemoWorkload.Writes
  readonly writesMs: number
  readonly exportArn: string
  readonly applied: { readonly r: number; readonly c: number; readonly u: number; readonly d: number }
  readonly skipped: number
  readonly loadMs: number
  readonly streamMs: number
  readonly maxLagMs: number
  readonly catchUpMs: number
  readonly replica: string
  readonly tookMs: number
}

const perSecond = (count: number, ms: number) => ms > 0 ? `${integer((count * 1000) / ms)}` : "-"

/** The summary, for standard output. */
export const render = (report: Report): string => {
  const { writes, applied } = report
  const stream = applied.c + applied.u + applied.d
  return [
    "",
    report.differences.length === 0
      ? `The replica matches the table: ${integer(report.tableItems)} items, equal item by item.`
      : `The replica DIFFERS from the table at ${integer(report.differences.length)} of ${
        integer(report.tableItems)
      } items.`,
    "",
    `  source    table "${DemoWorkload.TABLE}" in the emulator: ${integer(report.items)} orders, then ${
      integer(DemoWorkload.total(writes))
    } writes in ${seconds(report.writesMs)}`,
    `            (${integer(writes.puts)} puts, ${integer(writes.updates)} updates, ${
      integer(writes.deletes)
    } deletes, `
    + `${integer(writes.transactions)} transactions, ${integer(writes.expiredPuts)} items with an expired TTL)`,
    `  backfill  export ${report.exportArn}`,
    `            ${integer(applied.r)} snapshot events (op r) loaded in ${seconds(report.loadMs)} `
    + `(${perSecond(applied.r, report.loadMs)} items/s)`,
    `  stream    ${integer(stream)} events applied (c ${integer(applied.c)}, u ${integer(applied.u)}, `
    + `d ${integer(applied.d)}), ${integer(report.skipped)} skipped as older than the export`,
    `            ${perSecond(stream, report.streamMs)} events/s over ${seconds(report.streamMs)}, lag at most `
    + `${seconds(report.maxLagMs)}; caught up ${seconds(report.catchUpMs)} after the writes stopped`,
    `  replica   ${report.replica} (PGlite, table public.${DemoWorkload.TABLE}, one row an item, the item in `
    + `_backstream_item)`,
    `  took      ${seconds(report.tookMs)} in all`,
    "",
    "Query the replica (PGlite is a Postgres in one process: run this once the demo has ended):",
    `  node --input-type=module -e 'import { PGlite } from "@electric-sql/pglite"; `
    + `const db = await PGlite.create("${report.replica}"); `
    + `console.table((await db.query("SELECT pk, sk, _backstream_item->$1->>$2 AS total FROM orders `
    + `ORDER BY pk, sk LIMIT 5", ["total", "N"])).rows); await db.close()'`,
    "  SQL: SELECT count(*) FROM orders;  SELECT _backstream_item FROM orders WHERE pk = 'customer#1';",
    ""
  ].join("\n")
}
