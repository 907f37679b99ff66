/**
 * The `Sink` port over any {@link SqlClient}: the table prepared on `open`, each batch applied in one transaction
 * together with the checkpoint that covers it (exactly-once), and the checkpoint read back by `loadCheckpoint`.
 */
import { Effect, Option } from "effect"
import * as Checkpoint from "../../../core/Checkpoint.ts"
import { SinkFailure } from "../../../core/Errors.ts"
import type { Batch, Sink, SourceTable } from "../../../core/Sink.ts"
import type { SqlOptions } from "../SqlOptions.ts"
import { BatchInvalid, plan } from "./SqlBatch.ts"
import type { SqlClient } from "./SqlClient.ts"
import * as SqlIdentifier from "./SqlIdentifier.ts"
import * as SqlRefusal from "./SqlRefusal.ts"
import * as SqlTable from "./SqlTable.ts"

export interface SqlSinkConfig {
  readonly client: SqlClient
  /** `postgres` or `pglite`. */
  readonly kind: string
  /** Where, without secrets: a redacted URL, a data folder, `memory`. */
  readonly location: string
  readonly options: SqlOptions
}

interface Opened {
  readonly source: SourceTable
  readonly sinkTable: string
  layout: SqlTable.Layout
  /** A batch failed: the layout in memory may hold columns that were rolled back. */
  stale: boolean
}

const checkpointsOf = (layout: SqlTable.Layout) =>
  SqlIdentifier.qualified({ schema: layout.table.schema, name: SqlTable.CHECKPOINTS })

export const make = (config: SqlSinkConfig): Sink["Type"] => {
  const { client, options } = config
  const mode = options.mode ?? "columns"
  const deletes = options.deletes ?? "hard"
  const configured = options.table === undefined ? undefined : SqlIdentifier.parseTable(options.table)
  let opened: Opened | undefined

  const tableLabel = () =>
    opened !== undefined
      ? opened.sinkTable
      : configured !== undefined && typeof configured !== "string"
      ? SqlIdentifier.display(configured)
      : "(named after the source table)"
  const description = () => `${config.kind} table ${tableLabel()} at ${config.location}`

  const fail = (reason: string, retryable: boolean, cause?: unknown) =>
    new SinkFailure({ sink: description(), reason, retryable, ...(cause === undefined ? {} : { cause }) })

  const failure = (what: string) => (error: unknown): SinkFailure => {
    if (error instanceof SqlTable.LayoutMismatch || error instanceof BatchInvalid) {
      return fail(error.message, false, error)
    }
    const problem = client.problem(error)
    return fail(`${what}: ${problem.reason}`, problem.retryable, error)
  }

  const open = (source: SourceTable): Effect.Effect<void, SinkFailure> =>
    Effect.gen(function* () {
      if (typeof configured === "string") return yield* fail(`the table option: ${configured}`, false)
      const table = configured ?? SqlIdentifier.defaultTable(source.name)
      const keys = yield* Effect.try({ try: () => SqlTable.keyColumns(source.keySchema), catch: failure("open") })
      const layout = yield* Effect.tryPromise({
        try: () => client.transaction((tx) => SqlTable.prepare(tx, { table, mode, deletes, keys })),
        catch: failure("cannot prepare the table")
      })
      opened = { source, sinkTable: SqlIdentifier.display(table), layout, stale: false }
    })

  const requireOpen = Effect.suspend(() =>
    opened === undefined ? Effect.fail(fail("the sink was used before `open`", false)) : Effect.succeed(opened)
  )

  /**
   * A batch refused for its data names the item refused (found in a transaction rolled back) and what to do; another
   * failure says what went wrong with the batch.
   */
  const refusal = (state: Opened, batch: Batch, error: unknown): Effect.Effect<SinkFailure> => {
    if (!SqlRefusal.isDataError(error)) {
      return Effect.succeed(failure(`cannot apply a batch of ${batch.events.length} events`)(error))
    }
    return Effect.promise(() =>
      SqlRefusal.find(client, {
        layout: state.layout,
        keySchema: state.source.keySchema,
        events: batch.events,
        sinkTable: state.sinkTable,
        bulkRows: options.bulkRows
      })
    ).pipe(Effect.map((refused) => {
      const source = refused?.error ?? error
      const reason = SqlRefusal.reason({
        table: state.layout.table,
        events: batch.events.length,
        error: source,
        described: client.problem(source).reason,
        key: refused?.key
      })
      return fail(reason, false, source)
    }))
  }

  const write = (batch: Batch): Effect.Effect<void, SinkFailure> =>
    Effect.gen(function* () {
      const state = yield* requireOpen
      if (state.stale) {
        state.layout = yield* Effect.tryPromise({
          try: () => client.transaction((tx) => SqlTable.reload(tx, state.layout)),
          catch: failure("cannot read the table's columns")
        })
        state.stale = false
      }
      const planned = yield* Effect.try({
        try: () => plan(state.layout, state.source.keySchema, batch.events, state.sinkTable, options.bulkRows),
        catch: failure("cannot apply the batch")
      })
      const checkpoint = Checkpoint.encode(batch.checkpoint)
      yield* Effect.tryPromise({
        try: () =>
          client.transaction(async (tx) => {
            await SqlTable.addColumns(tx, state.layout.table, planned.newColumns)
            for (const statement of planned.statements) {
              if (statement._tag === "copy") await tx.copyIn(statement.table, statement.data)
              else await tx.query(statement.text, statement.params)
            }
            await tx.query(
              `INSERT INTO ${checkpointsOf(state.layout)} AS c (table_arn, sink_table, checkpoint, saved_at)
VALUES ($1, $2, $3::jsonb, now())
ON CONFLICT (table_arn, sink_table) DO UPDATE SET checkpoint = EXCLUDED.checkpoint, saved_at = EXCLUDED.saved_at`,
              [state.source.arn, state.sinkTable, checkpoint]
            )
          }),
        catch: (error) => error
      }).pipe(Effect.catchAll((error) => {
        state.stale = true
        return Effect.flatMap(refusal(state, batch, error), Effect.fail)
      }))
      state.layout = planned.layout
    })

  const loadCheckpoint = Effect.gen(function* () {
    const state = yield* requireOpen
    const rows = yield* Effect.tryPromise({
      try: () =>
        client.query(
          `SELECT checkpoint::text AS checkpoint FROM ${checkpointsOf(state.layout)}
WHERE table_arn = $1 AND sink_table = $2`,
          [state.source.arn, state.sinkTable]
        ),
      catch: failure("cannot read the checkpoint")
    })
    const text = rows[0]?.checkpoint
    if (typeof text !== "string") return Option.none()
    const decoded = Checkpoint.decode(text)
    if (decoded._tag === "Left") {
      return yield* fail(
        `the checkpoint saved in ${
          SqlIdentifier.display({ schema: state.layout.table.schema, name: SqlTable.CHECKPOINTS })
        } `
          + `for ${state.source.arn} is damaged (${decoded.left.message}); restore it, or delete that row to `
          + `replicate from the start again`,
        false
      )
    }
    return Option.some(decoded.right)
  })

  const holdsItems = Effect.gen(function* () {
    const state = yield* requireOpen
    const tombstones = SqlIdentifier.qualified({ schema: state.layout.table.schema, name: SqlTable.TOMBSTONES })
    const rows = yield* Effect.tryPromise({
      try: () =>
        client.query(
          `SELECT EXISTS (SELECT 1 FROM ${SqlIdentifier.qualified(state.layout.table)}) AS held${
            state.layout.deletes === "hard"
              ? `, EXISTS (SELECT 1 FROM ${tombstones} WHERE sink_table = $1) AS buried`
              : ""
          }`,
          state.layout.deletes === "hard" ? [state.sinkTable] : []
        ),
      catch: failure("cannot tell whether the table holds rows")
    })
    return rows[0]?.held === true || rows[0]?.buried === true
  })

  return {
    get description() {
      return description()
    },
    transactional: true,
    open,
    write,
    loadCheckpoint,
    holdsItems
  } satisfies Sink["Type"]
}
