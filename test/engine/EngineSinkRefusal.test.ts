/**
 * A SQL sink that refuses a write part-way through a run, on PGlite and on a real Postgres server: a constraint the
 * user added to the replica table (a CHECK, a NOT NULL column), or a string holding U+0000 (Postgres cannot store it in
 * text or jsonb), arriving in the export or in the stream. The engine stops with a typed error that names the item and
 * says how to fix the table and resume, without the row's values; the batch it failed on left nothing behind (no
 * partial batch) and the checkpoint is the last good one; once the cause is fixed a rerun resumes from that checkpoint
 * and the replica equals the table. A column of a type the values do not fit (`integer` for a decimal) is no refusal:
 * the values go to `_backstream_other`, nothing is lost.
 */
import { PutItemCommand, type PutItemCommandInput } from "@aws-sdk/client-dynamodb"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Duration, Effect, Exit, Fiber, Layer, Option } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as FolderSpool from "../../adapters/node/FolderSpool.ts"
import * as SqlIdentifier from "../../adapters/sinks/internal/SqlIdentifier.ts"
import * as AV from "../../core/AttributeValue.ts"
import * as DynamoJson from "../../core/DynamoJson.ts"
import * as Engine from "../../core/Engine.ts"
import type { SinkFailure } from "../../core/Errors.ts"
import * as ItemKey from "../../core/ItemKey.ts"
import { keySchema, read } from "../contract/SinkContract.ts"
import { describeWithPostgres } from "../support/PostgresSuite.ts"
import * as ChangeLog from "./support/ChangeLog.ts"
import * as EngineHarness from "./support/EngineHarness.ts"
import * as RecordedRuns from "./support/RecordedRuns.ts"
import * as SqlDatabase from "./support/SqlDatabase.ts"
import { converged } from "./support/Waits.ts"

const ATTRIBUTES = ["note", "total"]

type Item = NonNullable<PutItemCommandInput["Item"]>

const good = (i: number): Item => ({
  pk: { S: `good-${i}` },
  sk: { N: String(i % 2) },
  note: { S: `note ${i}` },
  total: { N: String(i) }
})

const BAD_KEY = { pk: { S: "bad" }, sk: { N: "0" } }
/** The refused item's key as the messages should show it. */
const BAD_KEY_TEXT = JSON.stringify(DynamoJson.encodeItem(DynamoJson.decodeItemUnsafe(BAD_KEY)))
const BAD_ENCODED = ItemKey.encode(EngineHarness.KEY_SCHEMA, DynamoJson.decodeItemUnsafe(BAD_KEY))

let tables = 0

/** A history in one table: its harness, its runs' records, and what the replica and the database's logs hold. */
const story = (db: SqlDatabase.SqlDatabase) =>
  Effect.gen(function* () {
    const harness = yield* EngineHarness.make({ exportDurationMs: 300, shardsPerStream: 1 })
    yield* harness.setup()
    const dir = yield* Effect.acquireRelease(
      Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "backstream-refusal-"))),
      (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
    )
    const table = `refusal_${process.pid}_${tables++}`
    yield* ChangeLog.watch(db, table)
    const recorded = RecordedRuns.make()
    const layer = Layer.mergeAll(
      harness.sources(),
      RecordedRuns.sqlPorts(db, { table }, recorded),
      FolderSpool.layer({ folder: path.join(dir, "spool") })
    )
    const run = Engine.run({
      table: EngineHarness.TABLE,
      export: { bucket: EngineHarness.BUCKET },
      ...EngineHarness.quick,
      backfillBatch: 4,
      exportConcurrency: 1
    }).pipe(Effect.provide(layer))

    const put = (item: Item) =>
      Effect.promise(() =>
        harness.sdk.dynamodb.send(new PutItemCommand({ TableName: EngineHarness.TABLE, Item: item }))
      )
    const replica = Effect.promise(() => read(SqlDatabase.target(db), table, keySchema, ATTRIBUTES))
    const alter = (change: string) =>
      Effect.promise(() => db.exec(`ALTER TABLE ${SqlIdentifier.quote(table)} ${change}`))

    /** A run that must stop on a refused write: its failure. */
    const refused = Effect.gen(function* () {
      const exit = yield* run.pipe(Effect.timeout(Duration.seconds(60)), Effect.exit)
      if (Exit.isSuccess(exit)) return assert.fail("the run ended without a failure")
      const failure = Cause.failureOption(exit.cause)
      if (Option.isNone(failure) || failure.value._tag !== "SinkFailure") {
        return assert.fail(`expected a SinkFailure, got:\n${Cause.pretty(exit.cause)}`)
      }
      return failure.value as SinkFailure
    })

    /** A run followed until the replica equals the table (and `also` holds), then stopped. */
    const convergesWhen = (also: Effect.Effect<ReadonlyArray<string>>) =>
      Effect.gen(function* () {
        const fiber = yield* Effect.fork(run)
        yield* converged(
          harness,
          replica,
          Effect.suspend(() => {
            const exit = fiber.unsafePoll()
            return exit === null ? also : Effect.succeed([
              `the engine stopped: ${Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "it returned"}`
            ])
          })
        )
        yield* Fiber.interrupt(fiber)
      })
    const converges = convergesWhen(Effect.succeed([]))

    /**
     * After a refusal: the last batch handed over is the one refused, it holds the bad item and others, and the
     * database holds exactly the batches before it and their last checkpoint.
     */
    const refusedBatch = Effect.gen(function* () {
      const failing = recorded.batches.at(-1)!.batch
      const keys = failing.events.map((event) => ItemKey.encode(EngineHarness.KEY_SCHEMA, event.key!))
      assert.include(keys, BAD_ENCODED, "the refused batch holds the bad item")
      assert.isAbove(new Set(keys).size, 1, "the refused batch holds other items too")
      const before = recorded.batches.slice(0, -1)
      const lastGood = before.at(-1)!.batch.checkpoint
      assert.deepStrictEqual(
        (yield* ChangeLog.saved(db, table)).map(RecordedRuns.canonical),
        [RecordedRuns.canonical(lastGood)],
        "_backstream_checkpoints holds the last good checkpoint"
      )
      assert.strictEqual(
        RecordedRuns.canonical((yield* ChangeLog.checkpoints(db, table)).at(-1)!),
        RecordedRuns.canonical(lastGood),
        "no checkpoint was committed past the last good one"
      )
      assert.deepStrictEqual(
        EngineHarness.differences(EngineHarness.replay(before.flatMap(({ batch }) => batch.events)), yield* replica),
        [],
        "the replica holds the batches before the refused one, and nothing of it"
      )
      return lastGood
    })

    /** Every run resumed from the last checkpoint committed before it; the database committed each change once. */
    const consistent = Effect.gen(function* () {
      const { committed, problems } = RecordedRuns.committedBatches(recorded, yield* ChangeLog.checkpoints(db, table))
      assert.deepStrictEqual(problems, [])
      recorded.loads.forEach((loaded, run) => {
        const before = committed.filter((entry) => entry.run < run).at(-1)
        assert.strictEqual(
          Option.match(loaded, { onNone: () => "none", onSome: RecordedRuns.canonical }),
          before === undefined ? "none" : RecordedRuns.canonical(before.batch.checkpoint),
          `run ${run} resumed from the last checkpoint committed`
        )
      })
      const events = committed.flatMap(({ batch }) => batch.events)
      const changes = yield* ChangeLog.changes(db, table)
      assert.deepStrictEqual(ChangeLog.problems(changes, events), [])
      assert.deepStrictEqual(yield* ChangeLog.disagreements(db, table, changes), [])
      assert.isNotEmpty(changes)
    })

    /** Good items in the table, replicated by a run, which is then stopped: the stream phase comes next. */
    const streaming = (items: number) =>
      Effect.gen(function* () {
        for (let i = 0; i < items; i++) yield* put(good(i))
        // The replica holds every item once the last export batch is in; the checkpoint says Done a moment later.
        const backfillDone = Effect.map(
          ChangeLog.saved(db, table),
          (saved) => saved[0]?.backfill._tag === "Done" ? [] : [`the checkpoint's backfill: ${saved[0]?.backfill._tag}`]
        )
        yield* convergesWhen(backfillDone)
        const saved = yield* ChangeLog.saved(db, table)
        assert.strictEqual(saved[0]?.backfill._tag, "Done")
      })

    return {
      harness,
      table,
      recorded,
      run,
      put,
      alter,
      refused,
      converges,
      refusedBatch,
      consistent,
      streaming,
      replica
    }
  })

/** What every refusal's error holds: typed, final, the table named, no password. */
const typed = (db: SqlDatabase.SqlDatabase, table: string, failure: SinkFailure) => {
  assert.strictEqual(failure._tag, "SinkFailure")
  assert.isFalse(failure.retryable, "a refused write is not worth retrying as it is")
  assert.include(failure.message, `public.${table}`)
  if (db.secret !== undefined) {
    assert.notInclude(failure.message, db.secret)
    assert.notInclude(JSON.stringify(failure.reason), db.secret)
  }
}

/** The refusals seen, for the messages' checks that wait for the sink (see below). */
const seen = new Map<string, { readonly failure: SinkFailure; readonly table: string }>()

const refusals = (name: string, database: () => SqlDatabase.SqlDatabase) => {
  it.scopedLive(
    "a CHECK constraint refuses a value in the export: typed error, nothing of the batch written, the checkpoint "
      + "the last good one; once the constraint is dropped, a rerun resumes there and converges",
    () =>
      Effect.gen(function* () {
        const db = database()
        const s = yield* story(db)
        yield* s.alter("ADD COLUMN total numeric, ADD CONSTRAINT total_small CHECK (total < 1000)")
        for (let i = 0; i < 13; i++) yield* s.put(good(i))
        yield* s.put({ ...BAD_KEY, note: { S: "too much" }, total: { N: "5000.5" } })
        for (let i = 13; i < 21; i++) yield* s.put(good(i))

        const failure = yield* s.refused
        typed(db, s.table, failure)
        assert.include(failure.message, "total_small")
        seen.set(`${name} check`, { failure, table: s.table })
        assert.isTrue(s.recorded.batches.at(-1)!.batch.events.every((event) => event.op === "r"), "in the export")
        const lastGood = yield* s.refusedBatch

        yield* s.alter("DROP CONSTRAINT total_small")
        yield* s.converges
        assert.strictEqual(
          RecordedRuns.canonical(Option.getOrThrow(s.recorded.loads[1]!)),
          RecordedRuns.canonical(lastGood)
        )
        yield* s.consistent
      }),
    120_000
  )

  it.scopedLive(
    "a replica that holds items but has no checkpoint is refused for a backfill from scratch (SetupInvalid); once "
      + "emptied, a rerun replicates from scratch and converges",
    () =>
      Effect.gen(function* () {
        const db = database()
        const s = yield* story(db)
        yield* s.streaming(6)
        yield* Effect.promise(() => db.exec(`DELETE FROM _backstream_checkpoints`))
        const exit = yield* s.run.pipe(Effect.timeout(Duration.seconds(60)), Effect.exit)
        if (Exit.isSuccess(exit)) return assert.fail("a backfill from scratch into a full replica ran")
        const failure = Cause.failureOption(exit.cause)
        assert.isTrue(Option.isSome(failure) && failure.value._tag === "SetupInvalid", Cause.pretty(exit.cause))
        const message = Option.getOrThrow(failure).message
        assert.include(message, "already holds items")
        assert.include(message, "drop that table")
        assert.include(message, "restore the checkpoint")
        assert.strictEqual((yield* s.replica).size, 6, "the replica was left as it was")

        // Emptied rather than dropped, so that the replica reads (and the change log's triggers) go on meanwhile.
        yield* Effect.promise(() => db.exec(`DELETE FROM ${SqlIdentifier.quote(s.table)}`))
        yield* Effect.promise(() => db.exec(`DELETE FROM _backstream_tombstones`))
        yield* s.put(good(100))
        yield* s.converges
      }),
    120_000
  )

  it.scopedLive(
    "a NOT NULL column refuses an item in the stream: typed error, nothing of the batch written, the checkpoint the "
      + "last good one; once the column takes NULL, a rerun resumes there and converges",
    () =>
      Effect.gen(function* () {
        const db = database()
        const s = yield* story(db)
        yield* s.streaming(6)
        yield* s.alter("ALTER COLUMN note SET NOT NULL")
        for (let i = 6; i < 10; i++) yield* s.put(good(i))
        yield* s.put({ ...BAD_KEY, total: { N: "7" } })
        for (let i = 10; i < 13; i++) yield* s.put(good(i))

        const failure = yield* s.refused
        typed(db, s.table, failure)
        assert.include(failure.message, "note")
        assert.include(failure.message, "not-null")
        seen.set(`${name} not null`, { failure, table: s.table })
        assert.isTrue(s.recorded.batches.at(-1)!.batch.events.every((event) => event.op !== "r"), "in the stream")
        const lastGood = yield* s.refusedBatch

        yield* s.alter("ALTER COLUMN note DROP NOT NULL")
        yield* s.converges
        assert.strictEqual(
          RecordedRuns.canonical(Option.getOrThrow(s.recorded.loads.at(-1)!)),
          RecordedRuns.canonical(lastGood)
        )
        yield* s.consistent
      }),
    120_000
  )

  it.scopedLive(
    "U+0000 in a string of the export: typed error naming the item and the attribute, nothing of the batch "
      + "written; a rerun stops at the same checkpoint (only another sink gets past it)",
    () =>
      Effect.gen(function* () {
        const db = database()
        const s = yield* story(db)
        for (let i = 0; i < 9; i++) yield* s.put(good(i))
        yield* s.put({ ...BAD_KEY, note: { S: "nul \u0000 here" }, total: { N: "1" } })
        for (let i = 9; i < 15; i++) yield* s.put(good(i))

        const failure = yield* s.refused
        typed(db, s.table, failure)
        assert.include(failure.message, "U+0000")
        assert.include(failure.message, BAD_KEY_TEXT)
        assert.include(failure.message, `$."note"`)
        assert.include(failure.message, "JSON-lines sink")
        const lastGood = yield* s.refusedBatch

        const again = yield* s.refused
        assert.strictEqual(again.message, failure.message)
        assert.strictEqual(
          RecordedRuns.canonical(Option.getOrThrow(s.recorded.loads[1]!)),
          RecordedRuns.canonical(lastGood)
        )
        assert.deepStrictEqual(
          (yield* ChangeLog.saved(db, s.table)).map(RecordedRuns.canonical),
          [RecordedRuns.canonical(lastGood)]
        )
        yield* s.consistent
      }),
    120_000
  )

  it.scopedLive(
    "U+0000 in a string of the stream: typed error, nothing of the batch written; once the item is overwritten at "
      + "the source, a rerun resumes from the last good checkpoint and converges",
    () =>
      Effect.gen(function* () {
        const db = database()
        const s = yield* story(db)
        yield* s.streaming(5)
        for (let i = 5; i < 8; i++) yield* s.put(good(i))
        yield* s.put({ ...BAD_KEY, note: { S: "nul \u0000 here" }, total: { N: "1" } })
        for (let i = 8; i < 10; i++) yield* s.put(good(i))

        const failure = yield* s.refused
        typed(db, s.table, failure)
        assert.include(failure.message, "U+0000")
        assert.include(failure.message, BAD_KEY_TEXT)
        const lastGood = yield* s.refusedBatch

        // The bad record stays in the stream: the rerun reads it again, with the newer image in the same batch.
        yield* s.put({ ...BAD_KEY, note: { S: "fixed" }, total: { N: "1" } })
        yield* s.converges
        assert.strictEqual(
          RecordedRuns.canonical(Option.getOrThrow(s.recorded.loads.at(-1)!)),
          RecordedRuns.canonical(lastGood)
        )
        yield* s.consistent
      }),
    120_000
  )

  it.scopedLive(
    "a column of a type its values do not fit (integer, a decimal comes): no refusal, the values kept in "
      + "_backstream_other, the replica equals the table",
    () =>
      Effect.gen(function* () {
        const db = database()
        const s = yield* story(db)
        yield* s.alter("ADD COLUMN total integer")
        for (let i = 0; i < 5; i++) yield* s.put(good(i))
        yield* s.put({ ...BAD_KEY, note: { S: "decimal" }, total: { N: "1.5" } })
        yield* s.converges
        const row = yield* Effect.promise(() =>
          db.sql(`SELECT total, _backstream_other::text AS other FROM ${SqlIdentifier.quote(s.table)} WHERE pk = 'bad'`)
        )
        assert.strictEqual(row[0]?.total, null)
        assert.deepStrictEqual(JSON.parse(String(row[0]?.other)), { total: { N: "1.5" } })
        const replica = yield* s.replica
        assert.isTrue(
          AV.itemEquals(
            replica.get(BAD_ENCODED)!,
            DynamoJson.decodeItemUnsafe({ ...BAD_KEY, note: { S: "decimal" }, total: { N: "1.5" } })
          )
        )
        yield* s.consistent
      }),
    120_000
  )

  it(
    "a refused row's error names the item's key and the constraint or column, says how to fix the table and "
      + "resume, and shows no value of the row",
    (ctx) => {
      const check = seen.get(`${name} check`)
      const notNull = seen.get(`${name} not null`)
      if (check === undefined || notNull === undefined) return ctx.skip() // the runs above failed, and say why
      for (const { failure } of [check, notNull]) {
        assert.include(failure.message, `refuses the item ${BAD_KEY_TEXT}`)
        assert.include(failure.message, "Nothing of this batch was written")
        assert.include(failure.message, "the checkpoint stays at the last batch applied")
        assert.include(failure.message, "then run again: it resumes from there")
        assert.notInclude(failure.message, "detail")
        assert.notInclude(failure.message, "Failing row")
        assert.notInclude(failure.message, "too much")
        assert.notInclude(failure.message, "5000.5")
        assert.notInclude(failure.message, "good-")
      }
      assert.include(check.failure.message, "(constraint total_small)")
      assert.include(check.failure.message, `ALTER TABLE public.${check.table} DROP CONSTRAINT total_small`)
      assert.include(check.failure.message, "(SQLSTATE 23514)")
      assert.include(notNull.failure.message, "(column note)")
      assert.include(notNull.failure.message, `ALTER TABLE public.${notNull.table} ALTER COLUMN note DROP NOT NULL`)
      assert.include(notNull.failure.message, "(SQLSTATE 23502)")
    }
  )
}

describe("Engine: a PGlite sink that refuses a write", () => {
  refusals("pglite", ChangeLog.suiteDatabase(() => SqlDatabase.pglite()))
})

describeWithPostgres("Engine: a Postgres sink that refuses a write", () => {
  refusals("postgres", ChangeLog.suiteDatabase(SqlDatabase.postgres))
})
