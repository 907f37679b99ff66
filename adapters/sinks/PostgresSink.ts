/**
 * The `Sink` port over a Postgres server (`pg`): a pool of connections, each batch in one transaction with its
 * checkpoint. Messages name the server by its URL without the password.
 */
import { Effect, Layer, type Scope } from "effect"
import pg from "pg"
import { SinkFailure } from "../../core/Errors.ts"
import { Sink } from "../../core/Sink.ts"
import {
  describeDatabaseError,
  isRetryableSqlState,
  type SqlClient,
  type SqlProblem,
  sqlState
} from "./internal/SqlClient.ts"
import { copyIn } from "./internal/PgCopyIn.ts"
import * as SqlSink from "./internal/SqlSink.ts"
import type { SqlOptions } from "./SqlOptions.ts"

export interface PostgresOptions extends SqlOptions {
  /** `postgres://user:password@host:port/database` (`postgresql://` too; libpq query parameters such as `sslmode`). */
  readonly url: string
  /** Connections kept open; default 2 (batches are applied one at a time). */
  readonly poolSize?: number
  /** How long to wait for a connection, in ms; default 15000. */
  readonly connectTimeoutMs?: number
}

/** The URL without its password (nor any `password` query parameter), for messages. */
export const redact = (url: string): string => {
  try {
    const parsed = new URL(url)
    parsed.password = ""
    for (const name of [...parsed.searchParams.keys()]) {
      if (/pass/i.test(name)) parsed.searchParams.delete(name)
    }
    return parsed.toString()
  } catch {
    return "(an unparsable URL)"
  }
}

const secretsOf = (url: string): ReadonlyArray<string> => {
  try {
    const parsed = new URL(url)
    const secrets = [decodeURIComponent(parsed.password), parsed.password]
    for (const [name, value] of parsed.searchParams) if (/pass/i.test(name)) secrets.push(value)
    return secrets.filter((secret) => secret.length >= 3)
  } catch {
    return []
  }
}

const checkUrl = (url: string): string | undefined => {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return "the Postgres URL is not a URL: expected postgres://user:password@host:port/database"
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    return `the Postgres URL has the scheme ${
      parsed.protocol.slice(0, -1)
    }: expected postgres://user:password@host:port/database`
  }
  if (parsed.hostname === "" && !parsed.searchParams.has("host")) {
    return "the Postgres URL names no host: expected postgres://user:password@host:port/database"
  }
  return undefined
}

const NETWORK: Record<string, string> = {
  ECONNREFUSED: "connection refused: is Postgres running and listening there?",
  ENOTFOUND: "host not found: check the host name",
  EAI_AGAIN: "host name lookup failed (temporarily)",
  ETIMEDOUT: "the connection timed out",
  ECONNRESET: "the connection was reset",
  EPIPE: "the connection was closed",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable"
}

const classify = (error: unknown, where: string, user: string): SqlProblem => {
  const code = (error as { code?: unknown })?.code
  const message = (error as Error)?.message ?? String(error)
  if (typeof code === "string" && NETWORK[code] !== undefined) {
    return { reason: `cannot reach ${where}: ${NETWORK[code]}`, retryable: code !== "ENOTFOUND" }
  }
  const state = sqlState(error)
  if (state === "28P01" || state === "28000") {
    return {
      reason: `authentication failed at ${where} for the user ${JSON.stringify(user)}: check the user and the `
        + `password in the URL (${describeDatabaseError(error)})`,
      retryable: false
    }
  }
  if (state === "3D000") {
    return { reason: `${describeDatabaseError(error)} at ${where}: create it first`, retryable: false }
  }
  if (state !== undefined) return { reason: describeDatabaseError(error), retryable: isRetryableSqlState(state) }
  if (/connection terminated|connection timeout|timeout exceeded|not queryable|ended unexpectedly/i.test(message)) {
    return { reason: `the connection to ${where} was lost: ${message}`, retryable: true }
  }
  if (/self[- ]signed|certificate|SSL|TLS/i.test(message)) {
    return { reason: `TLS with ${where} failed: ${message}`, retryable: false }
  }
  return { reason: message, retryable: false }
}

/** A {@link SqlClient} over a `pg` pool. */
export const client = (pool: pg.Pool, url: string): SqlClient => {
  const where = redact(url)
  const secrets = secretsOf(url)
  let user = "postgres"
  try {
    user = decodeURIComponent(new URL(url).username) || user
  } catch {
    // a URL checked by `make`
  }
  const guarded = new WeakSet<pg.PoolClient>()
  const scrub = (text: string) => secrets.reduce((out, secret) => out.replaceAll(secret, "***"), text)
  const run = async (queryable: pg.Pool | pg.PoolClient, text: string, params?: ReadonlyArray<unknown>) =>
    (await queryable.query({ text, values: params === undefined ? [] : [...params] })).rows
  const checkOut = async () => {
    const connection = await pool.connect()
    // A connection that breaks while checked out also emits "error" (the failed query reports it): without a
    // listener that would crash the process.
    if (!guarded.has(connection)) {
      guarded.add(connection)
      connection.on("error", () => undefined)
    }
    return connection
  }
  // After a failure: a connection that cannot even roll back is not given back to the pool.
  const rollBack = async (connection: pg.PoolClient) => {
    const rolledBack = await connection.query("ROLLBACK").then(() => true, () => false)
    connection.release(!rolledBack)
  }
  return {
    query: (text, params) => run(pool, text, params),
    transaction: async (body) => {
      const connection = await checkOut()
      try {
        // Not awaited: the body's statements queue behind it, one round trip fewer (a failure shows in them too).
        const begun = connection.query("BEGIN").then(() => undefined, (error: unknown) => ({ error }))
        const result = await body({
          query: (text, params) => run(connection, text, params),
          copyIn: (table, data) => copyIn(connection, `COPY ${table} FROM STDIN`, data)
        })
        const failed = await begun
        if (failed !== undefined) throw failed.error
        await connection.query("COMMIT")
        connection.release()
        return result
      } catch (error) {
        await rollBack(connection)
        throw error
      }
    },
    copyTransaction: async ({ after, before, data, table }) => {
      const connection = await checkOut()
      try {
        const text = ["BEGIN", ...before, `COPY ${table} FROM STDIN`, ...after, "COMMIT"].join(";\n")
        await copyIn(connection, text, data)
        connection.release()
      } catch (error) {
        await rollBack(connection)
        throw error
      }
    },
    problem: (error) => {
      const problem = classify(error, where, user)
      return { ...problem, reason: scrub(problem.reason) }
    }
  }
}

/** The sink; the pool is closed when the scope ends. Fails only on a malformed URL: the server is reached on `open`. */
export const make = (options: PostgresOptions): Effect.Effect<Sink["Type"], SinkFailure, Scope.Scope> =>
  Effect.gen(function* () {
    const problem = checkUrl(options.url)
    if (problem !== undefined) {
      return yield* new SinkFailure({ sink: `postgres at ${redact(options.url)}`, reason: problem, retryable: false })
    }
    const pool = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const pool = new pg.Pool({
          connectionString: options.url,
          max: options.poolSize ?? 2,
          connectionTimeoutMillis: options.connectTimeoutMs ?? 15_000
        })
        // An idle connection that breaks is dropped by the pool; the next query reports the problem.
        pool.on("error", () => undefined)
        return pool
      }),
      (pool) => Effect.promise(() => pool.end().catch(() => undefined))
    )
    return SqlSink.make({ client: client(pool, options.url), kind: "postgres", location: redact(options.url), options })
  })

export const layer = (options: PostgresOptions): Layer.Layer<Sink, SinkFailure> => Layer.scoped(Sink, make(options))
