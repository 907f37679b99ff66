/**
 * A {@link SqlClient} around a real one that records, per transaction (and per query sent alone), the statements it
 * ran and whether it committed: to tell which way the SQL sink applied a batch. A backfill's direct path copies into the replica table
 * itself, with a column list (`COPY "public"."t" ("pk", …) FROM …`); the guarded path upserts
 * (`INSERT INTO "public"."t" AS target … ON CONFLICT … WHERE target._backstream_version < …`), its rows sent as one
 * JSON parameter or copied into `pg_temp._backstream_stage` first.
 */
import type { SqlClient } from "../../../adapters/sinks/internal/SqlClient.ts"

export interface Transaction {
  /** `transaction` (a body of queries and copies), `copyTransaction` (statements around one copy), `query` (alone). */
  readonly kind: "transaction" | "copyTransaction" | "query"
  readonly copies: Array<string>
  readonly queries: Array<string>
  outcome: "open" | "committed" | "rolled back"
}

export interface Recorder {
  readonly client: SqlClient
  readonly transactions: Array<Transaction>
}

export const record = (client: SqlClient): Recorder => {
  const transactions: Array<Transaction> = []
  const recorded = <A>(
    kind: Transaction["kind"],
    run: (entry: Transaction) => Promise<A>,
    queries: Array<string> = [],
    copies: Array<string> = []
  ): Promise<A> => {
    const entry: Transaction = { kind, copies, queries, outcome: "open" }
    transactions.push(entry)
    return run(entry).then(
      (result) => {
        entry.outcome = "committed"
        return result
      },
      (error: unknown) => {
        entry.outcome = "rolled back"
        throw error
      }
    )
  }
  return {
    transactions,
    client: {
      ...client,
      query: (text, params) => recorded("query", () => client.query(text, params), [text]),
      transaction: (body) =>
        recorded("transaction", (entry) =>
          client.transaction((tx) =>
            body({
              query: (text, params) => {
                entry.queries.push(text)
                return tx.query(text, params)
              },
              copyIn: (table, data) => {
                entry.copies.push(table)
                return tx.copyIn(table, data)
              }
            })
          )),
      copyTransaction: (transaction) =>
        recorded("copyTransaction", () => client.copyTransaction(transaction), [
          ...transaction.before,
          ...transaction.after
        ], [transaction.table])
    }
  }
}

/**
 * How a batch went: `direct` (the COPY into the replica table committed), `fallback` (that COPY rolled back, then the
 * guarded statements committed), `guarded` (guarded statements only, no COPY into the replica tried), `none` (nothing
 * committed that touched the replica), `both` (a direct COPY and guarded statements committed: never expected).
 */
export type Path = "direct" | "fallback" | "guarded" | "none" | "both"

export interface Observed {
  readonly path: Path
  /** A COPY into the replica table was sent (committed or not). */
  readonly directTried: boolean
  /** Queries asking whether the replica holds tombstones. */
  readonly tombstoneChecks: number
  /** Every COPY target, in order. */
  readonly copyTargets: ReadonlyArray<string>
}

/** What the transactions of one write did to `table` (quoted and qualified: `"public"."t"`). */
export const observe = (transactions: ReadonlyArray<Transaction>, table: string): Observed => {
  const direct = (t: Transaction) => t.copies.some((target) => target.startsWith(`${table} (`))
  const guarded = (t: Transaction) =>
    t.queries.some((text) =>
      text.startsWith(`INSERT INTO ${table} AS target`) || text.includes(`DELETE FROM ${table} AS target`)
    )
  const committed = transactions.filter((t) => t.outcome === "committed")
  const directCommitted = committed.some(direct)
  const guardedCommitted = committed.some(guarded)
  const directTried = transactions.some(direct)
  return {
    path: directCommitted
      ? (guardedCommitted ? "both" : "direct")
      : guardedCommitted
      ? (directTried ? "fallback" : "guarded")
      : "none",
    directTried,
    tombstoneChecks: transactions.flatMap((t) => t.queries)
      .filter((text) => text.includes("_backstream_tombstones") && text.includes("AS buried")).length,
    copyTargets: transactions.flatMap((t) => t.copies)
  }
}
