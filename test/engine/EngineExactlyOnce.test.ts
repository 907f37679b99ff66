/**
 * The merge's invariants into a transactional sink: PGlite, the checkpoint committed in the transaction of the data it
 * covers (SinkCheckpointStore). A trigger logs every checkpoint committed, inside that transaction, so the log is what
 * the database holds, not what the engine meant to write. Random histories, splits, export times, batch sizes and
 * crashes (support/Histories.ts) in memory; a crash in the middle of a backfill on disk, the database closed and
 * opened again.
 */
import type { PGlite } from "@electric-sql/pglite"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer, Option } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as FolderSpool from "../../adapters/node/FolderSpool.ts"
import * as PgliteSink from "../../adapters/sinks/PgliteSink.ts"
import type { ChangeEvent } from "../../core/ChangeEvent.ts"
import * as Checkpoint from "../../core/Checkpoint.ts"
import * as Engine from "../../core/Engine.ts"
import { type Batch, Sink } from "../../core/Sink.ts"
import * as SinkCheckpointStore from "../../core/SinkCheckpointStore.ts"
import { keySchema, read, type SinkTarget } from "../contract/SinkContract.ts"
import * as EngineHarness from "./support/EngineHarness.ts"
import * as FeedChecks from "./support/FeedChecks.ts"
import * as Histories from "./support/Histories.ts"
import * as Observed from "./support/Observed.ts"
import * as Restarts from "./support/Restarts.ts"
import { converged } from "./support/Waits.ts"

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "backstream-exactly-once-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

/** The attributes the workloads write, besides the key. */
const ATTRIBUTES = ["v", "note", "hits", "tx", "total", "blob", "tags", "nums", "doc", "naïve ☃"]

const LOG_TRIGGER = `
CREATE TABLE IF NOT EXISTS checkpoint_log (id bigserial PRIMARY KEY, sink_table text NOT NULL, checkpoint text NOT NULL);
CREATE OR REPLACE FUNCTION log_checkpoint() RETURNS trigger AS $$
BEGIN
  INSERT INTO checkpoint_log (sink_table, checkpoint) VALUES (NEW.sink_table, NEW.checkpoint::text);
  RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE OR REPLACE TRIGGER log_checkpoint AFTER INSERT OR UPDATE ON _backstream_checkpoints
  FOR EACH ROW EXECUTE FUNCTION log_checkpoint();`

/** Makes the database log every checkpoint committed (the engine's tables are created by a first sink). */
const logCheckpoints = (db: PGlite) =>
  Effect.gen(function* () {
    const sink = PgliteSink.fromDatabase(db, { table: "log_setup" })
    yield* Effect.orDie(sink.open({
      name: "setup",
      arn: "arn:aws:dynamodb:us-east-1:000000000000:table/setup",
      keySchema
    }))
    yield* Effect.promise(() => db.exec(LOG_TRIGGER))
  })

const decode = (text: string): Checkpoint.Checkpoint => {
  const decoded = Checkpoint.decode(text)
  if (decoded._tag === "Left") throw new Error(`a logged checkpoint does not decode: ${decoded.left.message}`)
  const { version: _, ...checkpoint } = decoded.right
  return checkpoint
}

const logged = (db: PGlite, table: string) =>
  Effect.promise(async () =>
    (await db.query<{ checkpoint: string }>(
      "SELECT checkpoint FROM checkpoint_log WHERE sink_table = $1 ORDER BY id",
      [`public.${table}`]
    )).rows.map((row) => decode(row.checkpoint))
  )

const target = (db: PGlite): SinkTarget => ({
  fresh: () => "unused",
  layer: () => Layer.die("unused"),
  sql: async (text, params) =>
    (await db.query<Record<string, unknown>>(text, params === undefined ? [] : [...params])).rows
})

/** What the runs did: the checkpoint each resumed from, the batches each handed the sink. */
interface Recorded {
  readonly loads: Array<Option.Option<Checkpoint.Checkpoint>>
  readonly batches: Array<{ readonly run: number; readonly batch: Batch }>
}

/** The sink over `db` (a new one per run, as a restart makes), its checkpoint store, both watched. */
const sqlPorts = (db: PGlite, table: string, recorded: Recorded, dataDir?: string) => {
  const sink = Observed.sinkWrites(
    Layer.sync(Sink, () => PgliteSink.fromDatabase(db, { table, ...(dataDir === undefined ? {} : { dataDir }) })),
    (batch) => recorded.batches.push({ run: recorded.loads.length - 1, batch })
  )
  return Observed.checkpointLoads(SinkCheckpointStore.layer, (loaded) => recorded.loads.push(loaded)).pipe(
    Layer.provideMerge(sink)
  )
}

/**
 * The batches whose checkpoint the database committed: the log matched, in order, against the batches handed to the
 * sink (a batch handed over and never committed, by a crash, is skipped).
 */
const committedBatches = (recorded: Recorded, log: ReadonlyArray<Checkpoint.Checkpoint>) => {
  const out: Array<{ readonly run: number; readonly batch: Batch }> = []
  const problems: Array<string> = []
  let next = 0
  for (const checkpoint of log) {
    const text = FeedChecks.canonical(checkpoint)
    while (next < recorded.batches.length && FeedChecks.canonical(recorded.batches[next]!.batch.checkpoint) !== text) {
      next++
    }
    if (next === recorded.batches.length) problems.push(`committed checkpoint ${text} was in no batch`)
    else out.push(recorded.batches[next++]!)
  }
  return { committed: out, problems }
}

let tables = 0
let memory: PGlite

describe("Engine invariants into a transactional sink: PGlite in memory, checkpoints committed with the data", () => {
  beforeAll(async () => {
    memory = await PgliteSink.openDatabase()
    await Effect.runPromise(logCheckpoints(memory))
  }, 120_000)
  afterAll(async () => {
    await memory?.close()
  })

  it.scopedLive.prop(
    "the table converges; committed checkpoints only move forward, and each run resumes from the last one; no "
      + "change is committed twice, none after the export time is missing",
    [Histories.scenario],
    ([s]) =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const table = `replica_${tables++}`
        const recorded: Recorded = { loads: [], batches: [] }
        const emitted = () => recorded.batches.flatMap(({ batch }) => batch.events)
        const played = yield* Histories.play(s, () =>
          Effect.succeed({
            layer: Layer.merge(
              sqlPorts(memory, table, recorded),
              FolderSpool.layer({ folder: path.join(dir, "spool") })
            ),
            replica: Effect.promise(() => read(target(memory), table, keySchema, ATTRIBUTES)),
            backfillDone: Effect.map(logged(memory, table), (log) => log.at(-1)?.backfill._tag === "Done"),
            emitted: Effect.sync(emitted)
          }))

        const log = yield* logged(memory, table)
        assert.deepStrictEqual(FeedChecks.regressions(log), [])
        const { committed, problems } = committedBatches(recorded, log)
        assert.deepStrictEqual(problems, [])
        // Each run resumed from the last checkpoint committed before it: nothing committed was forgotten.
        recorded.loads.forEach((loaded, run) => {
          const before = committed.filter((entry) => entry.run < run).at(-1)
          assert.strictEqual(
            Option.match(loaded, { onNone: () => "none", onSome: FeedChecks.canonical }),
            before === undefined ? "none" : FeedChecks.canonical(before.batch.checkpoint),
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
        const runs = recorded.loads.map((loaded, run) => ({
          loaded,
          events: recorded.batches.filter((entry) => entry.run === run).flatMap(({ batch }) => batch.events)
        }))
        assert.deepStrictEqual(FeedChecks.orderAndDedup(runs, played.fileIndex), [])
        assert.deepStrictEqual(FeedChecks.lost(played.log.records(), played.exportTimeMs, committedEvents), [])
      }),
    { timeout: 240_000, fastCheck: Histories.fastCheck(8) }
  )
})

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
        const recorded: Recorded = { loads: [], batches: [] }
        const open = Effect.acquireRelease(
          Effect.promise(() => PgliteSink.openDatabase(dataDir)),
          (db) => Effect.promise(() => db.close().catch(() => undefined))
        )
        const run = (db: PGlite, onProgress: Engine.Options["onProgress"]) =>
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
              sqlPorts(db, table, recorded, dataDir),
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
        yield* converged(
          harness,
          Effect.promise(() =>
            read(target(db), table, keySchema, ATTRIBUTES)
          )
        )
        yield* Fiber.interrupt(second)

        const files = yield* FeedChecks.exportFiles(harness.instance, EngineHarness.BUCKET)
        const total = files.reduce((n, file) => n + file.itemCount, 0)
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
