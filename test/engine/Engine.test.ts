import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Schedule } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as FileCheckpointStore from "../../adapters/node/FileCheckpointStore.ts"
import * as FolderSpool from "../../adapters/node/FolderSpool.ts"
import * as JsonlSink from "../../adapters/sinks/JsonlSink.ts"
import type { ChangeEvent } from "../../core/ChangeEvent.ts"
import * as Checkpoint from "../../core/Checkpoint.ts"
import * as Engine from "../../core/Engine.ts"
import * as Envelope from "../../core/Envelope.ts"
import * as EngineHarness from "./support/EngineHarness.ts"

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "backstream-engine-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

const readEvents = (file: string): ReadonlyArray<ChangeEvent> =>
  fs.existsSync(file)
    ? fs.readFileSync(file, "utf8").split("\n").filter((line) => line !== "").map((line) => {
      const decoded = Envelope.decode(line)
      if (decoded._tag === "Left") throw new Error(`${file}: ${decoded.left.message}`)
      return decoded.right
    })
    : []

/** Waits until the replica equals the table (the last differences in the failure). */
const converged = (
  harness: Effect.Effect.Success<ReturnType<typeof EngineHarness.make>>,
  replica: () => EngineHarness.Items
) =>
  Effect.gen(function* () {
    const expected = yield* harness.tableItems
    const diff = EngineHarness.differences(expected, replica())
    if (diff.length > 0) return yield* Effect.fail(diff)
    return expected.size
  }).pipe(
    Effect.retry(Schedule.spaced("50 millis").pipe(Schedule.upTo("20 seconds"))),
    Effect.mapError((diff) => new Error(`the replica does not converge: ${diff.slice(0, 10).join(", ")}`)),
    Effect.orDie
  )

describe("Engine: backfill, spool and stream into a JSON-lines sink", () => {
  it.scopedLive(
    "a replica equal to the table, across writes during the export and a restart, nothing repeated",
    () =>
      Effect.gen(function* () {
        const harness = yield* EngineHarness.make({ exportDurationMs: 600, shardsPerStream: 3 })
        yield* harness.setup()
        yield* harness.workload(120)
        const dir = yield* tempDir
        const output = path.join(dir, "out.jsonl")
        const layers = Layer.mergeAll(
          harness.sources(),
          JsonlSink.layer({ path: output }),
          FileCheckpointStore.layer({ file: path.join(dir, "checkpoint.json") }),
          FolderSpool.layer({ folder: path.join(dir, "spool") })
        )
        const options: Engine.Options = {
          table: EngineHarness.TABLE,
          export: { bucket: EngineHarness.BUCKET, prefix: "backfill" },
          ...EngineHarness.quick
        }
        const first = yield* Effect.forkScoped(Effect.provide(Engine.run(options), layers))
        // Writes while the export runs (they reach the replica through the spool) and after it.
        yield* harness.workload(80)
        yield* Effect.sleep("700 millis")
        yield* harness.workload(60)
        const size = yield* converged(harness, () => EngineHarness.replay(readEvents(output)))
        assert.isAbove(size, 20)
        yield* Fiber.interrupt(first)

        const afterFirst = readEvents(output)
        const snapshot = afterFirst.filter((event) => event.op === "r")
        assert.isAbove(snapshot.length, 0, "the backfill applied snapshot reads")
        const saved = Checkpoint.decode(fs.readFileSync(path.join(dir, "checkpoint.json"), "utf8"))
        assert.strictEqual(saved._tag, "Right")
        if (saved._tag === "Right") assert.strictEqual(saved.right.backfill._tag, "Done")

        // Restart: no second backfill, the stream resumes after the checkpoint.
        yield* harness.workload(60)
        const second = yield* Effect.forkScoped(Effect.provide(Engine.run(options), layers))
        yield* converged(harness, () => EngineHarness.replay(readEvents(output)))
        yield* Fiber.interrupt(second)
        const all = readEvents(output)
        assert.strictEqual(all.filter((event) => event.op === "r").length, snapshot.length, "no second backfill")
        const positions = all.flatMap((event) =>
          event.position._tag === "Stream" ? [`${event.position.shardId}/${event.position.sequenceNumber}`] : []
        )
        assert.strictEqual(new Set(positions).size, positions.length, "no stream record applied twice")
        assert.deepStrictEqual(
          harness.instance.emulator.requestLog.entries
            .map((entry) => entry.action)
            .filter((action) => /Scan|Query|PutItem|UpdateItem|DeleteItem|Transact/.test(action))
            .filter((action) => action !== "dynamodb:PutItem" && action !== "dynamodb:UpdateItem")
            .filter((action) => action !== "dynamodb:DeleteItem" && action !== "dynamodb:TransactWriteItems"),
          [],
          "the engine never scans or queries the table"
        )
      }),
    60_000
  )

  it.scopedLive(
    "until caught-up: stops once the stream is read up to the start, with a summary",
    () =>
      Effect.gen(function* () {
        const harness = yield* EngineHarness.make()
        yield* harness.setup()
        yield* harness.workload(50)
        const dir = yield* tempDir
        const output = path.join(dir, "out.jsonl")
        const summary = yield* Engine.run({
          table: EngineHarness.TABLE,
          export: { bucket: EngineHarness.BUCKET },
          until: "caught-up",
          ...EngineHarness.quick,
          onProgress: (p) => Effect.sync(() => process.env.DEBUG_ENGINE && console.log(JSON.stringify(p)))
        }).pipe(
          Effect.provide(Layer.mergeAll(
            harness.sources(),
            JsonlSink.layer({ path: output }),
            FileCheckpointStore.layer({ file: path.join(dir, "checkpoint.json") }),
            FolderSpool.layer({ folder: path.join(dir, "spool") })
          )),
          Effect.timeout("20 seconds")
        )
        assert.isDefined(summary.exportArn)
        assert.isAbove(summary.snapshotEvents, 0)
        assert.deepStrictEqual(
          EngineHarness.differences(yield* harness.tableItems, EngineHarness.replay(readEvents(output))),
          []
        )
        assert.isFalse(fs.existsSync(path.join(dir, "spool", "state.json")), "the spool is cleared")
      }),
    60_000
  )

  it.scopedLive("--backfill never: the stream alone", () =>
    Effect.gen(function* () {
      const harness = yield* EngineHarness.make()
      yield* harness.setup({ pitr: false, bucket: false })
      yield* harness.workload(30)
      const dir = yield* tempDir
      const output = path.join(dir, "out.jsonl")
      const summary = yield* Engine.run({
        table: EngineHarness.TABLE,
        backfill: "never",
        until: "caught-up",
        ...EngineHarness.quick
      }).pipe(
        Effect.provide(Layer.mergeAll(
          harness.sources(),
          JsonlSink.layer({ path: output }),
          FileCheckpointStore.layer({ file: path.join(dir, "checkpoint.json") }),
          FolderSpool.layer({ folder: path.join(dir, "spool") })
        )),
        Effect.timeout("20 seconds")
      )
      assert.strictEqual(summary.snapshotEvents, 0)
      assert.strictEqual(summary.streamEvents, 30)
      assert.deepStrictEqual(
        EngineHarness.differences(yield* harness.tableItems, EngineHarness.replay(readEvents(output))),
        []
      )
    }), 60_000)
})

describe("Engine: a setup that cannot work stops with an error that says what to fix", () => {
  const failure = (
    setup: Parameters<Effect.Effect.Success<ReturnType<typeof EngineHarness.make>>["setup"]>[0],
    options: Partial<Engine.Options> = {},
    prepare: (dir: string) => void = () => {}
  ) =>
    Effect.gen(function* () {
      const harness = yield* EngineHarness.make()
      yield* harness.setup(setup)
      const dir = yield* tempDir
      prepare(dir)
      return yield* Engine.run({
        table: EngineHarness.TABLE,
        export: { bucket: EngineHarness.BUCKET },
        until: "caught-up",
        ...EngineHarness.quick,
        ...options
      }).pipe(
        Effect.provide(Layer.mergeAll(
          harness.sources(),
          JsonlSink.layer({ path: path.join(dir, "out.jsonl") }),
          FileCheckpointStore.layer({ file: path.join(dir, "checkpoint.json") }),
          FolderSpool.layer({ folder: path.join(dir, "spool") })
        )),
        Effect.timeout("20 seconds"),
        Effect.flip
      )
    })

  it.scopedLive("no stream", () =>
    Effect.gen(function* () {
      const error = yield* failure({ stream: false })
      assert.strictEqual(error._tag, "SetupInvalid")
      assert.include(error.message, "has no stream")
      assert.include(error.message, "StreamViewType=NEW_AND_OLD_IMAGES")
    }), 30_000)

  it.scopedLive("a KEYS_ONLY stream", () =>
    Effect.gen(function* () {
      const error = yield* failure({ viewType: "KEYS_ONLY" })
      assert.strictEqual(error._tag, "SetupInvalid")
      assert.include(error.message, "KEYS_ONLY; NEW_IMAGE or NEW_AND_OLD_IMAGES is needed")
    }), 30_000)

  it.scopedLive("an OLD_IMAGE stream", () =>
    Effect.gen(function* () {
      const error = yield* failure({ viewType: "OLD_IMAGE" })
      assert.strictEqual(error._tag, "SetupInvalid")
      assert.include(error.message, "OLD_IMAGE; NEW_IMAGE or NEW_AND_OLD_IMAGES is needed")
    }), 30_000)

  it.scopedLive("PITR off when a backfill is wanted", () =>
    Effect.gen(function* () {
      const error = yield* failure({ pitr: false })
      assert.strictEqual(error._tag, "SetupInvalid")
      assert.include(error.message, "update-continuous-backups")
    }), 30_000)

  it.scopedLive("no export bucket given", () =>
    Effect.gen(function* () {
      const error = yield* failure({}, { export: { bucket: "" } })
      assert.strictEqual(error._tag, "SetupInvalid")
      assert.include(error.message, "--export-bucket")
    }), 30_000)

  it.scopedLive(
    "an export bucket that does not exist: the export fails with S3NoSuchBucket",
    () =>
      Effect.gen(function* () {
        const error = yield* failure({ bucket: false })
        assert.strictEqual(error._tag, "ExportFailed")
        assert.include(error.message, "S3NoSuchBucket")
        assert.include(error.message, "create the bucket")
      }),
    30_000
  )

  it.scopedLive("a checkpoint of another table or stream", () =>
    Effect.gen(function* () {
      const error = yield* failure({}, {}, (dir) =>
        fs.writeFileSync(
          path.join(dir, "checkpoint.json"),
          Checkpoint.encode(
            Checkpoint.initial(
              "arn:aws:dynamodb:us-east-1:000000000000:table/other",
              "arn:aws:dynamodb:us-east-1:000000000000:table/other/stream/2026-01-01T00:00:00.000"
            )
          )
        ))
      assert.strictEqual(error._tag, "CheckpointInvalid")
      assert.include(error.message, "table/other")
    }), 30_000)
})
