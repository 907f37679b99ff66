/**
 * What the SQL sinks need of a Postgres client: parameterised queries and a transaction around a function. One
 * implementation over `pg` (a pool of connections to a server), one over PGlite (embedded).
 */

export type Row = Readonly<Record<string, unknown>>

export interface SqlQueryable {
  readonly query: (text: string, params?: ReadonlyArray<unknown>) => Promise<ReadonlyArray<Row>>
}

/** Why a statement failed, as a sink reports it. */
export interface SqlProblem {
  readonly reason: string
  /** Worth trying again: the connection was lost, the server is starting or shutting down, a serialization failure. */
  readonly retryable: boolean
}

/** A transaction: queries, and `COPY … FROM STDIN` of rows in COPY's text format into a table. */
export interface SqlTransaction extends SqlQueryable {
  /** `table` is quoted and qualified as needed; `data` is whole lines. */
  readonly copyIn: (table: string, data: string) => Promise<void>
}

/** See {@link SqlClient.copyTransaction}. */
export interface CopyTransaction {
  readonly before: ReadonlyArray<string>
  /** Quoted and qualified as needed, maybe with a column list. */
  readonly table: string
  /** Whole lines of `COPY`'s text format. */
  readonly data: string
  readonly after: ReadonlyArray<string>
}

export interface SqlClient extends SqlQueryable {
  /** Runs `body` in one transaction: committed when it resolves, rolled back when it rejects. */
  readonly transaction: <A>(body: (tx: SqlTransaction) => Promise<A>) => Promise<A>
  /**
   * One transaction of statements without parameters around a `COPY … FROM STDIN` of `data` into `table`, sent as one
   * message where the client can (one round trip); committed when all succeed, else rolled back and rejected.
   */
  readonly copyTransaction: (transaction: CopyTransaction) => Promise<void>
  /** Turns an error thrown by this client into a message without secrets, and says whether to retry. */
  readonly problem: (error: unknown) => SqlProblem
}

/** SQLSTATE classes and codes worth retrying: connection exceptions, shutdown, serialization failures, deadlocks. */
export const isRetryableSqlState = (code: string): boolean =>
  code.startsWith("08") || code === "57P01" || code === "57P02" || code === "57P03" || code === "40001"
  || code === "40P01" || code === "53300"

/** The SQLSTATE of a Postgres error (`pg` and PGlite both set `code`), if it has one. */
export const sqlState = (error: unknown): string | undefined => {
  const code = (error as { code?: unknown })?.code
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : undefined
}

/**
 * A Postgres error's message with its hint and SQLSTATE, as one line. Its `detail` is left out, whatever the error:
 * for a refused row it holds the row's values ("Failing row contains (…)", "Key (…)=(…) already exists"), and other
 * errors can carry data there too (a view's check option, a trigger's `RAISE … USING DETAIL`), which messages and logs
 * must not show.
 */
export const describeDatabaseError = (error: unknown): string => {
  const e = error as { message?: unknown; hint?: unknown }
  const parts = [typeof e?.message === "string" ? e.message : String(error)]
  if (typeof e?.hint === "string" && e.hint !== "") parts.push(`hint: ${e.hint}`)
  const code = sqlState(error)
  return code === undefined ? parts.join("; ") : `${parts.join("; ")} (SQLSTATE ${code})`
}

/**
 * A string as an SQL literal, right whatever `standard_conforming_strings` says (`E'…'`, backslashes and quotes
 * doubled). For statements sent without parameters; the string must not hold U+0000.
 */
export const literal = (text: string): string => `E'${text.replaceAll("\\", "\\\\").replaceAll("'", "''")}'`
