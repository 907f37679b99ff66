/**
 * Options of the SQL sinks (Postgres and PGlite).
 */

/** How an item is laid out: a column per top-level attribute, or the whole item in one `jsonb` column. */
export type Mode = "columns" | "document"

/** What a delete does: remove the row (`hard`), or keep it marked `_backstream_deleted = true` (`soft`). */
export type Deletes = "hard" | "soft"

export interface SqlOptions {
  /**
   * The table: `name` or `schema.name` (either part may be double-quoted; names are kept as written, case included).
   * Default: the source table's name in the `public` schema.
   */
  readonly table?: string
  /** Default `columns`. */
  readonly mode?: Mode
  /** Default `hard`. */
  readonly deletes?: Deletes
  /**
   * Rows of a batch to upsert (or delete) from which they go by `COPY` through a staging table rather than as one
   * JSON parameter: faster for a backfill's large batches, one more round trip for small ones. Default 500.
   */
  readonly bulkRows?: number
}

export const modes: ReadonlyArray<Mode> = ["columns", "document"]
export const deleteModes: ReadonlyArray<Deletes> = ["hard", "soft"]
