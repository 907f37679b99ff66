/**
 * The `Sink` port over any {@link SqlClient}: the table prepared on `open`, each batch applied in one transaction
 * together with the checkpoint that covers it (exactly-once), and the checkpoint read back by `loadCheckpoint`.
 *
 * A batch of snapshot reads (a backfill's) into a replica without tombstones goes straight into the table by one
 * `COPY`, sent with its checkpoint as one message (SqlSnapshotLoad); should the table already hold one of its items,
 * that transaction fails on the key and the batch is applied guarded instead (SqlBatch), as every other batch is; so
 * is a batch refused for its data, so that the guarded way, which keeps one event per item, decides and names the item.
 */
import { Effect, Option } from "effect"
import * as Checkpoint from "../../../core/Checkpoint.ts"
import { SinkFailure } from "../../../core/Errors.ts"
import type { ChangeEvent } from "../../../core/ChangeEvent.ts"
import type { Batch, Sink, SourceTable } from "../../../core/Sink.ts"
import type { SqlOptions } from "../SqlOptions.ts"
import { BatchInvalid, plan } from "./SqlBatch.ts"
import { literal, type SqlClient, type SqlTransaction } from "./SqlClient.ts"
import * as SqlIdentifier from "./SqlIdentifier.ts"
import * as SqlRefusal from "./SqlRefusal.ts"
import * as SqlSnapshotLoad from "./SqlSnapshotLoad.ts"
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
  /** Known to hold no tombstone (see `tombstoneFree`); unknown again once a delete is written. */
  tombstoneFree: boolean | undefined
  /** The layout the last batch prepared ahead leaves, if any. */
  planned: SqlTable.Layout | undefined
}

/** A batch's direct load planned ahead by `prepare`, over `base`. */
class Prepared {
  constructor(
    readonly events: ReadonlyArray<ChangeEvent>,
    readonly base: SqlTable.Layout,
    readonly load: SqlSnapshotLoad.Load
  ) {}
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
      opened = {
        source,
        sinkTable: SqlIdentifier.display(table),
        layout,
        stale: false,
        tombstoneFree: undefined,
        planned: undefined
      }
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

  const transaction = <A>(body: (tx: SqlTransaction) => Promise<A>): Effect.Effect<A, unknown> =>
    Effect.tryPromise({ try: () => client.transaction(body), catch: (error) => error })

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
      // The direct load planned ahead, if it was planned over the columns the table has now; else planned here.
      const ahead = batch.prepared instanceof Prepared && batch.prepared.events === batch.events
          && SqlTable.sameColumns(batch.prepared.base, state.layout)
        ? batch.prepared.load
        : undefined
      const load = ahead ?? (state.tombstoneFree !== false ? planLoad(state.layout, batch.events) : undefined)
      if (batch.events.some((event) => event.op === "d")) state.tombstoneFree = undefined
      const checkpoint = Checkpoint.encode(batch.checkpoint)
      const loaded = load === undefined ? Effect.succeed(false) : Effect.flatMap(
        tombstoneFree(state),
        (free) =>
          !free ? Effect.succeed(false) : Effect.tryPromise({
            try: () =>
              client.copyTransaction({
                before: SqlTable.addColumnsStatements(state.layout.table, load.newColumns),
                table: load.target,
                data: load.data,
                after: [saveCheckpointStatement(state, checkpoint)]
              }).then(() => true),
            catch: (error) => error
          }).pipe(
            // An item already there (a unique violation), or a refused value, maybe in an event the guarded way
            // collapses away (a later copy of an item): that way decides, and names the item it refuses.
            Effect.catchIf(SqlRefusal.isDataError, () => Effect.succeed(false))
          )
      )
      const guarded = transaction(async (tx) => {
        const planned = plan(state.layout, state.source.keySchema, batch.events, state.sinkTable, options.bulkRows)
        await SqlTable.addColumns(tx, state.layout.table, planned.newColumns)
        for (const statement of planned.statements) {
          if (statement._tag === "copy") await tx.copyIn(statement.table, statement.data)
          else await tx.query(statement.text, statement.params)
        }
        await saveCheckpoint(tx, state, checkpoint)
        return planned.layout
      })
      state.layout = yield* Effect.flatMap(loaded, (done) => done ? Effect.succeed(load!.layout) : guarded)
        .pipe(Effect.catchAll((error) => {
          state.stale = true
          state.planned = undefined
          return Effect.flatMap(refusal(state, batch, error), Effect.fail)
        }))
    })

  /** The direct load of a batch of snapshot reads over `layout`; none for other batches, or when planning fails. */
  const planLoad = (layout: SqlTable.Layout, events: ReadonlyArray<ChangeEvent>) => {
    if (!SqlSnapshotLoad.isSnapshot(events) || opened === undefined) return undefined
    try {
      return SqlSnapshotLoad.plan(layout, opened.source.keySchema, events)
    } catch {
      return undefined
    }
  }

  /**
   * Plans a backfill's batch while the one before is written, over the layout that one leaves (with its new columns);
   * `write` uses it if the table's columns are then as planned.
   */
  const prepare = (events: ReadonlyArray<ChangeEvent>): unknown => {
    const state = opened
    if (state === undefined || state.stale || state.tombstoneFree === false) return undefined
    const base = state.planned ?? state.layout
    const load = planLoad(base, events)
    state.planned = load?.layout
    return load === undefined ? undefined : new Prepared(events, base, load)
  }

  /**
   * Whether the replica holds no tombstone, so that snapshot reads can be copied straight in (with soft deletes a
   * deleted item is a row: nothing to check). Asked once, and again after a delete is written.
   */
  const tombstoneFree = (state: Opened): Effect.Effect<boolean, unknown> => {
    if (state.layout.deletes === "soft") return Effect.succeed(true)
    if (state.tombstoneFree !== undefined) return Effect.succeed(state.tombstoneFree)
    return Effect.tryPromise({
      try: () =>
        client.query(
          `SELECT EXISTS (SELECT 1 FROM ${
            SqlIdentifier.qualified({ schema: state.layout.table.schema, name: SqlTable.TOMBSTONES })
          } WHERE sink_table = $1) AS buried`,
          [state.sinkTable]
        ),
      catch: (error) => error
    }).pipe(Effect.map((rows) => (state.tombstoneFree = rows[0]?.buried !== true)))
  }

  /** The statement that saves the checkpoint, given its three values (the table, the sink table, the checkpoint). */
  const checkpointUpsert = (state: Opened, [arn, sinkTable, checkpoint]: ReadonlyArray<string>) =>
    `INSERT INTO ${checkpointsOf(state.layout)} AS c (table_arn, sink_table, checkpoint, saved_at)
VALUES (${arn}, ${sinkTable}, ${checkpoint}::jsonb, now())
ON CONFLICT (table_arn, sink_table) DO UPDATE SET checkpoint = EXCLUDED.checkpoint, saved_at = EXCLUDED.saved_at`

  /** The checkpoint's statement, its values written in (to go in one message with the data). */
  const saveCheckpointStatement = (state: Opened, checkpoint: string) =>
    checkpointUpsert(state, [state.source.arn, state.sinkTable, checkpoint].map(literal))

  const saveCheckpoint = (tx: SqlTransaction, state: Opened, checkpoint: string) =>
    tx.query(checkpointUpsert(state, ["$1", "$2", "$3"]), [state.source.arn, state.sinkTable, checkpoint])

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
    prepare,
    loadCheckpoint,
    holdsItems
  } satisfies Sink["Type"]
}
