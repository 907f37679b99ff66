/**
 * The SQL databases the engine tests replicate into, behind one face: PGlite in memory (or in a folder) and a real
 * Postgres server (test/support/Postgres.ts, started for the suite and stopped after it). A sink per run over the
 * database, as a restart makes one; the test's own queries; and the database's own record of what it committed
 * (support/ChangeLog.ts).
 */
import type { PGlite } from "@electric-sql/pglite"
import { Layer } from "effect"
import pg from "pg"
import * as PgliteSink from "../../../adapters/sinks/PgliteSink.ts"
import * as PostgresSink from "../../../adapters/sinks/PostgresSink.ts"
import type { SqlOptions } from "../../../adapters/sinks/SqlOptions.ts"
import type { SinkFailure } from "../../../core/Errors.ts"
import { Sink } from "../../../core/Sink.ts"
import type { Rows, SinkTarget } from "../../contract/SinkContract.ts"
import * as Postgres from "../../support/Postgres.ts"

export interface SqlDatabase {
  readonly kind: "pglite" | "postgres"
  /** A query on the database (another connection than the sink's, for a server). */
  readonly sql: (text: string, params?: ReadonlyArray<unknown>) => Promise<Rows>
  /** Several statements, no parameters. */
  readonly exec: (text: string) => Promise<void>
  /** A new sink over the database (its own pool for a server). */
  readonly sink: (options: SqlOptions) => Layer.Layer<Sink, SinkFailure>
  /** A secret in the sink's connection URL, that no message may show (none for PGlite). */
  readonly secret?: string
  readonly close: () => Promise<void>
}

/** For SinkContract's `read`. */
export const target = (db: SqlDatabase): SinkTarget => ({
  fresh: () => "unused",
  layer: () => Layer.die("unused"),
  sql: db.sql
})

export const fromPglite = (database: PGlite, dataDir?: string): SqlDatabase => ({
  kind: "pglite",
  sql: async (text, params) =>
    (await database.query<Record<string, unknown>>(text, params === undefined ? [] : [...params])).rows,
  exec: async (text) => {
    await database.exec(text)
  },
  sink: (options) =>
    Layer.sync(
      Sink,
      () => PgliteSink.fromDatabase(database, { ...options, ...(dataDir === undefined ? {} : { dataDir }) })
    ),
  close: () => database.close().catch(() => undefined)
})

/** PGlite, in memory unless `dataDir` is given. */
export const pglite = async (dataDir?: string): Promise<SqlDatabase> =>
  fromPglite(await PgliteSink.openDatabase(dataDir), dataDir)

/** The password the sinks put in their URL: the test server trusts every local connection, so it is never checked. */
const SECRET = "pw-never-shown-4711"

/** A throwaway Postgres server, stopped (and its folder deleted) by `close`. */
export const postgres = async (): Promise<SqlDatabase> => {
  const server = await Postgres.start()
  const pool = new pg.Pool({ connectionString: server.url, max: 2 })
  pool.on("error", () => undefined)
  const url = new URL(server.url)
  url.password = SECRET
  return {
    kind: "postgres",
    sql: async (text, params) => (await pool.query(text, params === undefined ? [] : [...params])).rows,
    exec: async (text) => {
      await pool.query(text)
    },
    sink: (options) => PostgresSink.layer({ ...options, url: url.toString() }),
    secret: SECRET,
    close: async () => {
      await pool.end().catch(() => undefined)
      await server.stop()
    }
  }
}
