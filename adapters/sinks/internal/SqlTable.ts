/**
 * The sink's table in Postgres: creating it, checking that an existing one fits the source table, and reading its
 * columns. Layout: the key attributes' columns (S `text`, N `numeric`, B `bytea`) as the primary key, then
 * `_backstream_version numeric(40,0)` (the item's version, see core/Version.ts), `_backstream_updated_at timestamptz`
 * (when the change happened at the source), `_backstream_deleted boolean` with soft deletes, and either one column
 * per attribute plus `_backstream_other jsonb` (columns mode) or `_backstream_item jsonb` (document mode).
 *
 * Beside it, in the same schema: `_backstream_checkpoints` (the engine's checkpoint per source table and sink table)
 * and, with hard deletes, `_backstream_tombstones` (the version of each deleted item, so that an older image does not
 * bring it back).
 */
import type { KeySchema, KeyType } from "../../../core/ItemKey.ts"
import type { Deletes, Mode } from "../SqlOptions.ts"
import type { SqlQueryable } from "./SqlClient.ts"
import * as SqlIdentifier from "./SqlIdentifier.ts"
import type { TableName } from "./SqlIdentifier.ts"
import { type ColumnKind, kindOfType } from "./SqlValue.ts"

export const VERSION = "_backstream_version"
export const UPDATED_AT = "_backstream_updated_at"
export const DELETED = "_backstream_deleted"
export const OTHER = "_backstream_other"
export const ITEM = "_backstream_item"
export const CHECKPOINTS = "_backstream_checkpoints"
export const TOMBSTONES = "_backstream_tombstones"

const BOOKKEEPING = new Set([VERSION, UPDATED_AT, DELETED, OTHER, ITEM])

export interface KeyColumn {
  readonly attribute: string
  readonly column: string
  readonly type: "text" | "numeric" | "bytea"
}

export interface AttributeColumn {
  readonly column: string
  /** `format_type` of the column. */
  readonly type: string
  readonly kind: ColumnKind | undefined
}

export interface Layout {
  readonly table: TableName
  readonly mode: Mode
  readonly deletes: Deletes
  readonly keys: ReadonlyArray<KeyColumn>
  /** Columns mode: the attribute columns, in table order. */
  readonly columns: ReadonlyArray<AttributeColumn>
  /** The table has `_backstream_deleted` (always with soft deletes; maybe left from an earlier run with them). */
  readonly hasDeleted: boolean
}

/** The table does not fit: the reason says what differs and what to do. Not worth retrying. */
export class LayoutMismatch extends Error {}

const KEY_TYPES: Record<KeyType, KeyColumn["type"]> = { S: "text", N: "numeric", B: "bytea" }

/** The key columns of a key schema; fails when the schema lacks the key types. */
export const keyColumns = (schema: KeySchema): ReadonlyArray<KeyColumn> =>
  [schema.hash, ...(schema.range === undefined ? [] : [schema.range])].map((attribute) => {
    if (attribute.type === undefined) {
      throw new LayoutMismatch(
        `the key schema does not give the type of the key attribute ${JSON.stringify(attribute.name)} `
          + `(S, N or B, from DescribeTable's AttributeDefinitions); the SQL sink needs it for the key column`
      )
    }
    return { attribute: attribute.name, column: SqlIdentifier.column(attribute.name), type: KEY_TYPES[attribute.type] }
  })

interface CatalogColumn {
  readonly name: string
  readonly type: string
  readonly generated: boolean
  readonly primaryKeyPosition: number | null
}

const readCatalog = async (q: SqlQueryable, table: TableName): Promise<ReadonlyArray<CatalogColumn> | undefined> => {
  const rows = await q.query(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attgenerated <> '' AS generated,
       (SELECT array_position(i.indkey::int2[], a.attnum) FROM pg_index i
         WHERE i.indrelid = a.attrelid AND i.indisprimary) AS pk
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
     WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')
     ORDER BY a.attnum`,
    [table.schema, table.name]
  )
  if (rows.length === 0) return undefined
  return rows.map((row) => ({
    name: String(row.name),
    type: String(row.type),
    generated: row.generated === true,
    primaryKeyPosition: row.pk === null || row.pk === undefined ? null : Number(row.pk)
  }))
}

const createTable = (layout: Pick<Layout, "table" | "mode" | "deletes" | "keys">): string => {
  const q = SqlIdentifier.quote
  const columns = [
    ...layout.keys.map((key) => `${q(key.column)} ${key.type} NOT NULL`),
    `${q(VERSION)} numeric(40,0) NOT NULL`,
    `${q(UPDATED_AT)} timestamptz`,
    ...(layout.deletes === "soft" ? [`${q(DELETED)} boolean NOT NULL DEFAULT false`] : []),
    layout.mode === "document" ? `${q(ITEM)} jsonb` : `${q(OTHER)} jsonb`,
    `PRIMARY KEY (${layout.keys.map((key) => q(key.column)).join(", ")})`
  ]
  return `CREATE TABLE IF NOT EXISTS ${SqlIdentifier.qualified(layout.table)} (\n  ${columns.join(",\n  ")}\n)`
}

const auxiliary = (table: TableName, deletes: Deletes): ReadonlyArray<string> => {
  const at = (name: string) => SqlIdentifier.qualified({ schema: table.schema, name })
  return [
    `CREATE TABLE IF NOT EXISTS ${at(CHECKPOINTS)} (
  table_arn text NOT NULL,
  sink_table text NOT NULL,
  checkpoint jsonb NOT NULL,
  saved_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (table_arn, sink_table)
)`,
    ...(deletes === "hard"
      ? [`CREATE TABLE IF NOT EXISTS ${at(TOMBSTONES)} (
  sink_table text NOT NULL,
  item_key text NOT NULL,
  version numeric(40,0) NOT NULL,
  PRIMARY KEY (sink_table, item_key)
)`]
      : [])
  ]
}

const describeKey = (keys: ReadonlyArray<{ readonly column: string; readonly type: string }>) =>
  `(${keys.map((key) => `${SqlIdentifier.quote(key.column)} ${key.type}`).join(", ")})`

const check = (
  wanted: Pick<Layout, "table" | "mode" | "deletes" | "keys">,
  catalog: ReadonlyArray<CatalogColumn>
): void => {
  const name = SqlIdentifier.display(wanted.table)
  const pk = catalog.filter((c) => c.primaryKeyPosition !== null)
    .sort((a, b) => a.primaryKeyPosition! - b.primaryKeyPosition!)
    .map((c) => ({ column: c.name, type: c.type }))
  const sameKey = pk.length === wanted.keys.length
    && pk.every((c, i) => c.column === wanted.keys[i]!.column && c.type === wanted.keys[i]!.type)
  if (!sameKey) {
    throw new LayoutMismatch(
      `table ${name} exists with the primary key ${pk.length === 0 ? "(none)" : describeKey(pk)}, but the source `
        + `table's key needs ${describeKey(wanted.keys)}: replicate into another table (the \`table\` option) or drop `
        + `or rename this one`
    )
  }
  const byName = new Map(catalog.map((c) => [c.name, c]))
  const version = byName.get(VERSION)
  if (version === undefined || !version.type.startsWith("numeric")) {
    throw new LayoutMismatch(
      `table ${name} exists but was not made by backstream (it has no ${VERSION} numeric column): replicate into `
        + `another table (the \`table\` option) or drop or rename this one`
    )
  }
  const item = byName.get(ITEM)
  if (wanted.mode === "document" && item?.type !== "jsonb") {
    throw new LayoutMismatch(
      `table ${name} was made in columns mode (it has no ${ITEM} jsonb column) and cannot take documents: use the `
        + `columns mode, or another table`
    )
  }
  if (wanted.mode === "columns" && item !== undefined) {
    throw new LayoutMismatch(
      `table ${name} was made in document mode (it has a ${ITEM} column): use the document mode, or another table`
    )
  }
}

/**
 * Creates the table (and the schema, and the checkpoint and tombstone tables) when missing, checks an existing one,
 * adds the bookkeeping columns it lacks, and returns its layout. Throws {@link LayoutMismatch} when it does not fit.
 */
export const prepare = async (
  q: SqlQueryable,
  wanted: Pick<Layout, "table" | "mode" | "deletes" | "keys">
): Promise<Layout> => {
  const schemaExists = await q.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [wanted.table.schema])
  if (schemaExists.length === 0) {
    await q.query(`CREATE SCHEMA IF NOT EXISTS ${SqlIdentifier.quote(wanted.table.schema)}`)
  }
  let catalog = await readCatalog(q, wanted.table)
  if (catalog === undefined) {
    await q.query(createTable(wanted))
    catalog = (await readCatalog(q, wanted.table))!
  }
  check(wanted, catalog)
  const existing = catalog
  const target = SqlIdentifier.qualified(wanted.table)
  const missing = [
    [UPDATED_AT, "timestamptz"],
    ...(wanted.deletes === "soft" ? [[DELETED, "boolean NOT NULL DEFAULT false"]] : []),
    ...(wanted.mode === "columns" ? [[OTHER, "jsonb"]] : [])
  ].filter(([column]) => !existing.some((c) => c.name === column))
  for (const [column, type] of missing) {
    await q.query(`ALTER TABLE ${target} ADD COLUMN IF NOT EXISTS ${SqlIdentifier.quote(column!)} ${type}`)
  }
  for (const statement of auxiliary(wanted.table, wanted.deletes)) await q.query(statement)
  if (missing.length > 0) catalog = (await readCatalog(q, wanted.table))!
  return layoutOf(wanted, catalog)
}

const layoutOf = (
  wanted: Pick<Layout, "table" | "mode" | "deletes" | "keys">,
  catalog: ReadonlyArray<CatalogColumn>
): Layout => {
  const keyNames = new Set(wanted.keys.map((key) => key.column))
  return {
    ...wanted,
    columns: wanted.mode === "document" ? [] : catalog
      .filter((c) => !keyNames.has(c.name) && !BOOKKEEPING.has(c.name) && !c.generated)
      .map((c) => ({ column: c.name, type: c.type, kind: kindOfType(c.type) })),
    hasDeleted: catalog.some((c) => c.name === DELETED)
  }
}

/** The layout as the catalog has it now (after a failed batch, whose added columns were rolled back). */
export const reload = async (q: SqlQueryable, layout: Layout): Promise<Layout> => {
  const catalog = await readCatalog(q, layout.table)
  if (catalog === undefined) {
    throw new LayoutMismatch(`table ${SqlIdentifier.display(layout.table)} is gone: was it dropped while replicating?`)
  }
  check(layout, catalog)
  return layoutOf(layout, catalog)
}

/** Adds the columns of new attributes (one statement each; inside the batch's transaction). */
export const addColumns = async (
  q: SqlQueryable,
  table: TableName,
  columns: ReadonlyArray<AttributeColumn>
): Promise<void> => {
  for (const statement of addColumnsStatements(table, columns)) await q.query(statement)
}

/** Whether two layouts of the table have the same attribute columns, in the same order, of the same kinds. */
export const sameColumns = (a: Layout, b: Layout): boolean =>
  a.columns.length === b.columns.length
  && a.columns.every((c, i) => c.column === b.columns[i]!.column && c.kind === b.columns[i]!.kind)
  && a.hasDeleted === b.hasDeleted && a.mode === b.mode

/** The statements that add `columns` to the table (none when there are none). */
export const addColumnsStatements = (
  table: TableName,
  columns: ReadonlyArray<AttributeColumn>
): ReadonlyArray<string> =>
  columns.length === 0 ? [] : [
    `ALTER TABLE ${SqlIdentifier.qualified(table)} ${
      columns.map((c) => `ADD COLUMN IF NOT EXISTS ${SqlIdentifier.quote(c.column)} ${c.type}`).join(", ")
    }`
  ]
