/**
 * The merge's invariants into a transactional sink, the checkpoint committed in the transaction of the data it covers
 * (SinkCheckpointStore), on PGlite in memory and on a real Postgres server: the same property, each history into a
 * table of its own. Triggers log every checkpoint and every change committed, inside that transaction
 * (support/ChangeLog.ts), so the checks read what the database holds, not what the engine meant to write. Random
 * histories, splits, export times, batch sizes and crashes (support/Histories.ts); and a crash in the middle of a
 * backfill into PGlite on disk, the database closed and opened again.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer, Option } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as FolderSpool from "../../adapters/node/FolderSpool.ts"
import type { ChangeEvent } from "../../core/ChangeEvent.ts"
import * as Engine from "../../core/Engine.ts"
import { keySchema, read } from "../contract/SinkContract.ts"
import { describeWithPostgres } from "../support/PostgresSuite.ts"
import * as ChangeLog from "./support/ChangeLog.ts"
import * as EngineHarness from "./support/EngineHarness.ts"
import * as FeedChecks from "./support/FeedChecks.ts"
import * as Histories from "./support/Histories.ts"
import * as RecordedRuns from "./support/RecordedRuns.ts"
import * as Restarts from "./support/Restarts.ts"
import * as SqlDatabase from "./support/SqlDatabase.ts"
import { converged } from "./support/Waits.ts"

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "backstream-exactly-once-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

/** The attributes the workloads write, besides the key. */
const ATTRIBUTES = ["v", "note", "hits", "tx", "total", "blob", "tags", "nums", "doc", "naïve ☃"]

const replicaOf = (db: SqlDatabase.SqlDatabase, table: string) =>
  Effect.promise(() => read(SqlDatabase.target(db), table, keySchema, ATTRIBUTES))

let tables = 0

/** The property, over the database a suite opened; each history replicates into a new table. */
const exactlyOnce = (database: () => SqlDatabase.SqlDatabase, numRuns: number) =>
  it.scopedLive.prop(
    "the table converges; committed checkpoints only move forward, and each run resumes from the last one; no "
      + "change is committed twice, none out of order, none after the export time is missing",
    [Histories.scenario],
    ([s]) =>
      Effect.gen(function* () {
        const db = database()
        const dir = yield* tempDir
        const table = `replica_${process.pid}_${tables++}`
        yield* ChangeLog.watch(db, table)
        const recorded = RecordedRuns.make()
        const emitted = () => recorded.batches.flatMap(({ batch }) => batch.events)
        const played = yield* Histories.play(s, () =>
          Effect.succeed({
            layer: Layer.merge(
              RecordedRuns.sqlPorts(db, { table }, recorded),
              FolderSpool.layer({ folder: path.join(dir, "spool") })
            ),
            replica: replicaOf(db, table),
            backfillDone: Effect.map(ChangeLog.checkpoints(db, table), (log) => log.at(-1)?.backfill._tag === "Done"),
            emitted: Effect.sync(emitted)
          }))

        const log = yield* ChangeLog.checkpoints(db, table)
        assert.deepStrictEqual(FeedChecks.regressions(log), [])
        const { committed, problems } = RecordedRuns.committedBatches(recorded, log)
        assert.deepStrictEqual(problems, [])
        // Each run resumed from the last checkpoint committed before it: nothing committed was forgotten.
        recorded.loads.forEach((loaded, run) => {
          const before = committed.filter((entry) => entry.run < run).at(-1)
          assert.strictEqual(
            Option.match(loaded, { onNone: () => "none", onSome: RecordedRuns.canonical }),
            before === undefined ? "none" : RecordedRuns.canonical(before.batch.checkpoint),
            `run ${run} resumed from the last checkpoint committed`
          )
        })
        const committedEvents = committed.flatMap(({ batch }) => batch.events)
        const positions = committedEvents.map(FeedChecks.positionOf)
        assert.deepStrictEqual(
          positions.filter((position, i) => positions.indexOf(position) !== i),
          [],
          "no change committed twice"
        )
        // The database's own log of rows written and tombstones raised: each change once, versions rising per item.
        const changes = yield* ChangeLog.changes(db, table)
        assert.deepStrictEqual(ChangeLog.problems(changes, committedEvents), [])
        assert.deepStrictEqual(yield* ChangeLog.disagreements(db, table, changes), [])
        const runs = recorded.loads.map((loaded, run) => ({
          loaded,
          events: recorded.batches.filter((entry) => entry.run === run).flatMap(({ batch }) => batch.events)
        }))
        assert.deepStrictEqual(FeedChecks.orderAndDedup(runs, played.fileIndex), [])
        assert.deepStrictEqual(FeedChecks.lost(played.log.records(), played.exportTimeMs, committedEvents), [])
      }),
    { timeout: 240_000, fastCheck: Histories.fastCheck(numRuns) }
  )

describe("Engine invariants into a transactional sink: PGlite in memory, checkpoints committed with the data", () => {
  exactlyOnce(ChangeLog.suiteDatabase(() => SqlDatabase.pglite()), 8)
})

describeWithPostgres(
  "Engine invariants into a transactional sink: a Postgres server, checkpoints committed with the data",
  () => {
    exactlyOnce(ChangeLog.suiteDatabase(SqlDatabase.postgres), 6)
  }
)

describe("Engine: a crash in the middle of a backfill into PGlite on disk", () => {
  it.scopedLive(
    "the restart resumes from Loading{filesDone, linesDone}: only the rows after it are read again, none applied twice",
    () =>
      Effect.gen(function* () {
        const harness = yield* EngineHarness.make({ exportDurationMs: 300 })
        yield* harness.setup()
        yield* harness.workload(220, 160)
        const dir = yield* tempDir
        const dataDir = path.join(dir, "pglite")
        const table = "replica"
        const recorded = RecordedRuns.make()
        const open = Effect.acquireRelease(
          Effect.promise(() => SqlDatabase.pglite(dataDir)),
          (db) => Effect.promise(() => db.close())
        )
        const run = (db: SqlDatabase.SqlDatabase, onProgress: Engine.Options["onProgress"]) =>
          Engine.run({
            table: EngineHarness.TABLE,
            export: { bucket: EngineHarness.BUCKET },
            ...EngineHarness.quick,
            backfillBatch: 9,
            exportConcurrency: 1,
            ...(onProgress === undefined ? {} : { onProgress })
          }).pipe(
            Effect.provide(Layer.mergeAll(
              harness.sources(),
              RecordedRuns.sqlPorts(db, { table }, recorded),
              FolderSpool.layer({ folder: path.join(dir, "spool") })
            ))
          )
        const snapshotReads = (run: number) =>
          recorded.batches.filter((entry) => entry.run === run)
            .reduce((n, { batch }) => n + batch.events.filter((event: ChangeEvent) => event.op === "r").length, 0)

        // The first run: interrupted once some of the export is applied.
        yield* Effect.scoped(Effect.gen(function* () {
          const db = yield* open
          const loading = yield* Deferred.make<void>()
          const first = yield* Effect.fork(run(db, (progress) =>
            progress._tag === "ExportLoading" && progress.items >= 40
              ? Effect.asVoid(Deferred.succeed(loading, undefined))
              : Effect.void))
          yield* Effect.raceFirst(Deferred.await(loading), Effect.asVoid(Fiber.await(first)))
          yield* Restarts.stillRunning(first)
          yield* Fiber.interrupt(first)
        }))

        // The second, on the database opened again from its folder.
        const db = yield* open
        const second = yield* Effect.forkScoped(run(db, undefined))
        yield* converged(harness, replicaOf(db, table))
        yield* Fiber.interrupt(second)

        const files = yield* FeedChecks.exportFiles(harness.instance, EngineHarness.BUCKET)
        const total = files.reduce((n, file) =>
          n + file.itemCount, 0)
        assert.strictEqual(recorded.loads.length, 2)
        const resumed = Option.getOrThrow(recorded.loads[1]!)
        assert.strictEqual(resumed.backfill._tag, "Loading")
        if (resumed.backfill._tag !== "Loading") return
        const done = files.slice(0, resumed.backfill.filesDone).reduce((n, file) => n + file.itemCount, 0)
          + resumed.backfill.linesDone
        assert.isAtLeast(done, 40, "the restart resumed from the rows the first run committed")
        assert.strictEqual(snapshotReads(0), done, "the first run committed every row it applied")
        assert.strictEqual(snapshotReads(1), total - done, "the second run read only the rows after the checkpoint")
        assert.isAbove(total, done)
      }),
    120_000
  )
})
