/**
 * The `Sink` port over PGlite, Postgres compiled to WebAssembly and run in-process: the embedded default, with its
 * data in a folder on disk (or in memory, for tests). The same SQL as the Postgres sink, each batch in one
 * transaction with its checkpoint.
 */
import { PGlite } from "@electric-sql/pglite"
import { Effect, Layer, type Scope } from "effect"
import { SinkFailure } from "../../core/Errors.ts"
import { Sink } from "../../core/Sink.ts"
import { describeDatabaseError, isRetryableSqlState, type SqlClient, sqlState } from "./internal/SqlClient.ts"
import * as SqlSink from "./internal/SqlSink.ts"
import type { SqlOptions } from "./SqlOptions.ts"

export interface PgliteOptions extends SqlOptions {
  /** The database's folder (created when missing); absent: in memory, gone when the scope ends. */
  readonly dataDir?: string
}

const NUMERIC = 1700

/** Opens (or creates) a database; numbers come back as their decimal text. */
export const openDatabase = (dataDir?: string): Promise<PGlite> =>
  PGlite.create({
    ...(dataDir === undefined ? {} : { dataDir }),
    parsers: { [NUMERIC]: (text: string) => text }
  })

/** A {@link SqlClient} over a PGlite database. */
export const client = (db: PGlite): SqlClient => ({
  query: async (text, params) =>
    (await db.query<Record<string, unknown>>(text, params === undefined ? [] : [...params])).rows,
  transaction: (body) =>
    db.transaction((tx) =>
      body({
        query: async (text, params) =>
          (await tx.query<Record<string, unknown>>(text, params === undefined ? [] : [...params])).rows,
        copyIn: async (table, data) => {
          await tx.query(`COPY ${table} FROM '/dev/blob'`, [], { blob: new Blob([data]) })
        }
      })
    ),
  copyTransaction: ({ after, before, data, table }) =>
    db.transaction(async (tx) => {
      for (const statement of before) await tx.query(statement)
      await tx.query(`COPY ${table} FROM '/dev/blob'`, [], { blob: new Blob([data]) })
      for (const statement of after) await tx.query(statement)
    }),
  problem: (error) => {
    const state = sqlState(error)
    if (state !== undefined) return { reason: describeDatabaseError(error), retryable: isRetryableSqlState(state) }
    if (db.closed) return { reason: "the PGlite database is closed", retryable: false }
    return { reason: (error as Error)?.message ?? String(error), retryable: false }
  }
})

const locationOf = (dataDir: string | undefined) => dataDir === undefined ? "memory" : dataDir

/** The sink over a database the caller opened (and closes). */
export const fromDatabase = (db: PGlite, options: PgliteOptions = {}): Sink["Type"] =>
  SqlSink.make({ client: client(db), kind: "pglite", location: locationOf(options.dataDir), options })

/** Opens the database in `dataDir` (or in memory) and closes it when the scope ends. */
export const make = (options: PgliteOptions = {}): Effect.Effect<Sink["Type"], SinkFailure, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: () => openDatabase(options.dataDir),
      catch: (cause) =>
        new SinkFailure({
          sink: `pglite at ${locationOf(options.dataDir)}`,
          reason: `cannot open the database: ${(cause as Error)?.message ?? String(cause)}${
            options.dataDir === undefined ? "" : " (is the folder writable, and not a database of another program?)"
          }`,
          retryable: false,
          cause
        })
    }),
    (db) => Effect.promise(() => db.close().catch(() => undefined))
  ).pipe(Effect.map((db) => fromDatabase(db, options)))

export const layer = (options: PgliteOptions = {}): Layer.Layer<Sink, SinkFailure> => Layer.scoped(Sink, make(options))
