/**
 * The merge's invariants (DESIGN.md) as properties of whole engine runs into an at-least-once sink: JSON lines, with a
 * checkpoint file and a spool folder. Random histories, splits, export times, batch and page sizes and crashes (see
 * support/Histories.ts); the file is read back in order and checked run by run. `DEBUG_INVARIANTS=1` prints what each
 * history exercised (restarts, snapshot reads, events emitted again, records older than the margin).
 */
import { DeleteItemCommand, PutItemCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, type Option } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as FileCheckpointStore from "../../adapters/node/FileCheckpointStore.ts"
import * as FolderSpool from "../../adapters/node/FolderSpool.ts"
import * as JsonlSink from "../../adapters/sinks/JsonlSink.ts"
import type { ChangeEvent } from "../../core/ChangeEvent.ts"
import * as Checkpoint from "../../core/Checkpoint.ts"
import * as Engine from "../../core/Engine.ts"
import type { EmulatorConfig } from "../../emulator/EmulatorConfig.ts"
import * as EngineClock from "./support/EngineClock.ts"
import * as EngineHarness from "./support/EngineHarness.ts"
import * as FeedChecks from "./support/FeedChecks.ts"
import * as Histories from "./support/Histories.ts"
import * as Observed from "./support/Observed.ts"
import * as Restarts from "./support/Restarts.ts"
import * as StreamLog from "./support/StreamLog.ts"
import { converged, until } from "./support/Waits.ts"

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "backstream-invariants-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

const play = (s: Histories.Scenario) =>
  Effect.gen(function* () {
    const dir = yield* tempDir
    const output = path.join(dir, "out.jsonl")
    const checkpointFile = path.join(dir, "checkpoint.json")
    /** Where each run starts in the file, and the checkpoint it resumed from. */
    const starts: Array<{ line: number; loaded: Option.Option<Checkpoint.Checkpoint> }> = []
    const played = yield* Histories.play(s, () =>
      Effect.succeed({
        layer: Layer.mergeAll(
          JsonlSink.layer({ path: output }),
          Observed.checkpointLoads(
            FileCheckpointStore.layer({ file: checkpointFile }),
            (loaded) => starts.push({ line: FeedChecks.lineCount(output), loaded })
          ),
          FolderSpool.layer({ folder: path.join(dir, "spool") })
        ),
        replica: Effect.sync(() => EngineHarness.replay(FeedChecks.readJsonl(output))),
        backfillDone: Effect.sync(() => {
          if (!fs.existsSync(checkpointFile)) return false
          const saved = Checkpoint.decode(fs.readFileSync(checkpointFile, "utf8"))
          return saved._tag === "Right" && saved.right.backfill._tag === "Done"
        }),
        emitted: Effect.sync(() => FeedChecks.readJsonl(output))
      }))

    const feed = FeedChecks.readJsonl(output)
    assert.isAtMost(starts.length, s.crashes.length + 1)
    assert.deepStrictEqual(FeedChecks.orderAndDedup(FeedChecks.splitRuns(feed, starts), played.fileIndex), [])
    assert.deepStrictEqual(FeedChecks.lost(played.log.records(), played.exportTimeMs, feed), [])
    if (process.env.DEBUG_INVARIANTS) {
      const positions = feed.map(FeedChecks.positionOf)
      console.log(JSON.stringify({
        resumedFrom: starts.map((start) => start.loaded._tag === "Some" ? start.loaded.value.backfill._tag : "-"),
        events: feed.length,
        snapshot: feed.filter((e) => e.op === "r").length,
        repeated: positions.length - new Set(positions).size,
        records: played.log.records().length,
        skippable: played.log.records().filter((r) => r.timeMs < played.exportTimeMs - 120_000).length
      }))
    }
  })

describe("Engine invariants over random histories, splits, export times, batch sizes and crashes: JSON lines", () => {
  it.scopedLive.prop(
    "the replica converges; each run emits every item's versions in order, nothing twice and nothing its checkpoint "
      + "covers; a change emitted again after a restart is one the last checkpoint did not cover; nothing after the "
      + "export time is lost",
    [Histories.scenario],
    ([s]) => play(s),
    { timeout: 240_000, fastCheck: Histories.fastCheck(10) }
  )
})

const MINUTE = 60_000

/** Writes `writtenAt` = the emulator's time: puts, updates and a delete now and then, over a few items. */
const timedWrite = (harness: EngineHarness.Harness, i: number) =>
  Effect.promise((): Promise<unknown> => {
    const writtenAt = { N: String(harness.instance.clock.unsafeCurrentTimeMillis()) }
    const Key = { pk: { S: `item-${i % 7}` }, sk: { N: "0" } }
    const TableName = EngineHarness.TABLE
    return i % 5 === 4
      ? harness.sdk.dynamodb.send(new DeleteItemCommand({ TableName, Key }))
      : i % 3 === 2
      ? harness.sdk.dynamodb.send(
        new UpdateItemCommand({
          TableName,
          Key,
          UpdateExpression: "SET writtenAt = :at",
          ExpressionAttributeValues: { ":at": writtenAt }
        })
      )
      : harness.sdk.dynamodb.send(new PutItemCommand({ TableName, Item: { ...Key, writtenAt, n: { N: String(i) } } }))
  })

/** A harness on a virtual clock and an engine over a fresh folder, on the emulator's time. */
const virtualEngine = (config: Partial<EmulatorConfig>) =>
  Effect.gen(function* () {
    const harness = yield* EngineHarness.make({ clock: "virtual", ...config })
    yield* harness.setup()
    const dir = yield* tempDir
    const output = path.join(dir, "out.jsonl")
    const run = (options: Partial<Engine.Options>) =>
      Engine.run({
        table: EngineHarness.TABLE,
        export: { bucket: EngineHarness.BUCKET },
        ...EngineHarness.quick,
        ...options
      })
        .pipe(
          Effect.provide(Layer.mergeAll(
            harness.sources(),
            JsonlSink.layer({ path: output }),
            FileCheckpointStore.layer({ file: path.join(dir, "checkpoint.json") }),
            FolderSpool.layer({ folder: path.join(dir, "spool") })
          )),
          Effect.withClock(EngineClock.virtualTime(harness.instance.clock))
        )
    const exportTime = Effect.map(
      until(() => harness.instance.exports.snapshot().length > 0, "the export to be asked for"),
      () => harness.instance.exports.snapshot()[0]!.exportTimeMs
    )
    /** Virtual time goes on, 2 s every 25 ms, until the scope ends. */
    const ticking = Effect.forkScoped(Effect.forever(
      Effect.zipRight(Effect.orDie(harness.instance.clock.advance(2_000)), Effect.sleep("25 millis"))
    ))
    const streamArn = harness.instance.streams.current(EngineHarness.TABLE)!.arn
    return { harness, output, run, exportTime, ticking, log: StreamLog.make(harness.instance, streamArn) }
  })

describe("Engine: fuzzy exports and the margin", () => {
  it.scopedLive(
    "an export that also holds writes up to a minute after its time, with writes every 2 s from 90 s before it to "
      + "90 s after: the margin makes the replica converge, nothing lost",
    () =>
      Effect.gen(function* () {
        const { harness, output, run, exportTime, ticking, log } = yield* virtualEngine({
          exportDurationMs: 5 * MINUTE,
          exportFuzzMs: MINUTE
        })
        for (let i = 0; i < 45; i++) {
          yield* timedWrite(harness, i)
          yield* Effect.orDie(harness.instance.clock.advance(2_000))
        }
        const engine = yield* Effect.forkScoped(run({}))
        const exportTimeMs = yield* exportTime
        for (let i = 45; i < 90; i++) {
          yield* Effect.orDie(harness.instance.clock.advance(2_000))
          yield* timedWrite(harness, i)
        }
        yield* ticking
        const events = () => FeedChecks.readJsonl(output)
        yield* converged(harness, () => EngineHarness.replay(events()), () => {
          log.collect()
          return FeedChecks.lost(log.records(), exportTimeMs, events())
        })
        yield* Restarts.stillRunning(engine)
        const atOf = (event: ChangeEvent) => {
          const at = event.newImage?.get("writtenAt")
          return at?._tag === "N" ? Number(at.value) : undefined
        }
        assert.isTrue(
          events().some((event) => event.op === "r" && atOf(event)! > exportTimeMs),
          "the export holds writes made after its time"
        )
        assert.isTrue(
          events().some((event) => event.op !== "r" && event.timestampMs < exportTimeMs),
          "changes made shortly before the export time came from the stream too"
        )
      }),
    60_000
  )

  it.scopedLive(
    "the margin must exceed the records' one-second timestamps: with marginMs 0 a change made after the export time, "
      + "in the same second, is skipped and lost; with the default margin it is not",
    () =>
      Effect.gen(function* () {
        const replicate = (marginMs: number | undefined) =>
          Effect.gen(function* () {
            const { harness, output, run, exportTime, ticking, log } = yield* virtualEngine({
              exportDurationMs: 10_000
            })
            for (let i = 0; i < 7; i++) yield* timedWrite(harness, i * 3)
            const now = harness.instance.clock.unsafeCurrentTimeMillis()
            yield* Effect.orDie(harness.instance.clock.advance(1000 - (now % 1000) + 500))
            const engine = yield* Effect.forkScoped(
              run({ until: "caught-up", ...(marginMs === undefined ? {} : { marginMs }) })
            )
            const exportTimeMs = yield* exportTime
            assert.strictEqual(exportTimeMs % 1000, 500)
            yield* Effect.orDie(harness.instance.clock.advance(300))
            yield* timedWrite(harness, 3)
            yield* ticking
            const summary = yield* Fiber.join(engine).pipe(Effect.timeout("30 seconds"))
            const events = () => FeedChecks.readJsonl(output)
            log.collect()
            return {
              differences: EngineHarness.differences(yield* harness.tableItems, EngineHarness.replay(events())),
              lost: FeedChecks.lost(log.records(), exportTimeMs, events()),
              skipped: summary.skippedEvents,
              records: log.records().length
            }
          }).pipe(Effect.scoped)
        const exact = yield* replicate(0)
        assert.strictEqual(exact.lost.length, 1, "the change in the export's second is lost")
        assert.strictEqual(exact.skipped, exact.records, "every record was skipped, the late one too")
        assert.deepStrictEqual(exact.differences, ["differs S6:item-3|N0;"])
        const margin = yield* replicate(undefined)
        assert.deepStrictEqual(margin, { differences: [], lost: [], skipped: 0, records: exact.records })
      }),
    60_000
  )
})
