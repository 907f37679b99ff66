/**
 * The engine against the stream's 24-hour retention, on the emulator's virtual clock (the engine sleeps on the wall
 * clock while the test moves time an hour at a time): an export that takes 30 hours loses nothing, because the spool
 * holds what the stream trims meanwhile, even across a restart; a spool lost meanwhile, or a stop longer than the
 * retention, stops the engine with an error that says what to do, never with a silent gap.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Option } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as FileCheckpointStore from "../../adapters/node/FileCheckpointStore.ts"
import * as FolderSpool from "../../adapters/node/FolderSpool.ts"
import * as JsonlSink from "../../adapters/sinks/JsonlSink.ts"
import * as Engine from "../../core/Engine.ts"
import * as EngineClock from "./support/EngineClock.ts"
import * as EngineHarness from "./support/EngineHarness.ts"
import * as FeedChecks from "./support/FeedChecks.ts"
import * as Observed from "./support/Observed.ts"
import * as StreamLog from "./support/StreamLog.ts"
import { stillRunning } from "./support/Restarts.ts"
import { converged, until } from "./support/Waits.ts"

const HOUR = 3_600_000

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "backstream-retention-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

/** A harness on a virtual clock, its table set up, and the engine's ports over a fresh folder. */
const setup = (exportDurationMs: number) =>
  Effect.gen(function* () {
    const harness = yield* EngineHarness.make({ clock: "virtual", exportDurationMs })
    yield* harness.setup()
    const streamArn = harness.instance.streams.current(EngineHarness.TABLE)!.arn
    const dir = yield* tempDir
    const output = path.join(dir, "out.jsonl")
    const spoolFolder = path.join(dir, "spool")
    const spooled = new Set<string>()
    const layers = Layer.mergeAll(
      harness.sources(),
      JsonlSink.layer({ path: output }),
      FileCheckpointStore.layer({ file: path.join(dir, "checkpoint.json") }),
      Observed.spoolAppends(FolderSpool.layer({ folder: spoolFolder }), (elements) => {
        for (const element of elements) {
          if (element._tag !== "Batch") continue
          for (const event of element.events) spooled.add(StreamLog.eventRecordId(event)!)
        }
      })
    )
    const run = (options: Partial<Engine.Options> = {}) =>
      Engine.run({
        table: EngineHarness.TABLE,
        export: { bucket: EngineHarness.BUCKET },
        ...EngineHarness.quick,
        ...options
      })
        .pipe(Effect.provide(layers), Effect.withClock(EngineClock.virtualTime(harness.instance.clock)))
    return { harness, streamArn, log: StreamLog.make(harness.instance, streamArn), output, spoolFolder, spooled, run }
  })

/** Virtual time passes an hour, with some writes at its start; exports and TTL catch up. */
const hourOfWrites = (harness: EngineHarness.Harness, writes: number) =>
  Effect.gen(function* () {
    yield* harness.workload(writes)
    yield* Effect.orDie(harness.instance.clock.advance(HOUR))
    yield* harness.instance.tick
    yield* Effect.sleep("30 millis")
  })

type Context = Effect.Effect.Success<ReturnType<typeof setup>>

/**
 * `hours` hours of writes, an hour every few dozen milliseconds. Unless no `engine` is given, before each hour it waits
 * until what was written 6 hours before is spooled or applied (capture keeps up, long before the 24 hours end), and
 * dies if the engine stopped.
 */
const hoursOfWrites = <A, E>(context: Context, hours: number, engine?: Fiber.RuntimeFiber<A, E>) =>
  Effect.gen(function* () {
    const { harness, log, output, spooled } = context
    for (let hour = 0; hour < hours; hour++) {
      log.collect()
      const due = harness.instance.clock.unsafeCurrentTimeMillis() - 6 * HOUR
      if (engine !== undefined) {
        yield* until(
          () => {
            if (engine.unsafePoll() !== null) return true
            const emitted = new Set(FeedChecks.readJsonl(output).flatMap((e) => StreamLog.eventRecordId(e) ?? []))
            return log.records().every((r) => {
              const id = StreamLog.recordId(r.shardId, r.sequenceNumber)
              return r.timeMs > due || spooled.has(id) || emitted.has(id)
            })
          },
          "capture to keep up",
          120
        )
        yield* stillRunning(engine)
      }
      yield* hourOfWrites(harness, 6)
    }
    log.collect()
  })

/** Larger batches: the spool holds a day and more of small pages, applied a few dozen at a time. */
const drainFast = { batch: { maxEvents: 2000, maxDelay: "20 millis" } } as const

const exportOf = (harness: EngineHarness.Harness) =>
  Effect.gen(function* () {
    yield* until(() => harness.instance.exports.snapshot().length > 0, "the export to be asked for")
    return harness.instance.exports.snapshot()[0]!
  })

/** Waits until the replica equals the table and holds every record written after `exportTimeMs`; checks order. */
const replicaComplete = (context: Context, exportTimeMs: number) =>
  Effect.gen(function* () {
    const { harness, log, output, spoolFolder } = context
    const events = () => FeedChecks.readJsonl(output)
    const size = yield* converged(
      harness,
      () => EngineHarness.replay(events()),
      () => FeedChecks.lost(log.records(), exportTimeMs, events())
    )
    yield* until(() => !fs.existsSync(path.join(spoolFolder, "state.json")), "the spool to be cleared")
    assert.isAbove(size, 10)
    const held = log.heldNow()
    const trimmed = log.records().filter((r) =>
      r.timeMs > exportTimeMs && !held.has(StreamLog.recordId(r.shardId, r.sequenceNumber))
    )
    assert.isAbove(trimmed.length, 20, "the stream trimmed changes made after the export time before it completed")
    assert.deepStrictEqual(FeedChecks.lost(log.records(), exportTimeMs, events()), [])
  })

describe("Engine: an export slower than the stream's 24-hour retention", () => {
  it.scopedLive(
    "a 30-hour export while the stream is trimmed: the spool keeps everything, the replica converges, nothing lost",
    () =>
      Effect.gen(function* () {
        const context = yield* setup(30 * HOUR)
        yield* context.harness.workload(40)
        const engine = yield* Effect.forkScoped(context.run(drainFast))
        const job = yield* exportOf(context.harness)
        yield* hoursOfWrites(context, 32, engine)
        yield* replicaComplete(context, job.exportTimeMs)
        yield* Fiber.interrupt(engine)
        assert.deepStrictEqual(
          FeedChecks.orderAndDedup([{ loaded: Option.none(), events: FeedChecks.readJsonl(context.output) }], () => 0),
          []
        )
      }),
    120_000
  )

  it.scopedLive(
    "stopped 26 hours into a 30-hour export, restarted 2 hours later: it waits for the same export, resumes from the spool, loses nothing",
    () =>
      Effect.gen(function* () {
        const context = yield* setup(30 * HOUR)
        yield* context.harness.workload(40)
        const first = yield* Effect.forkScoped(context.run(drainFast))
        const job = yield* exportOf(context.harness)
        yield* hoursOfWrites(context, 26, first)
        yield* Fiber.interrupt(first)
        yield* hoursOfWrites(context, 2)
        const second = yield* Effect.forkScoped(context.run(drainFast))
        yield* hoursOfWrites(context, 6, second)
        yield* replicaComplete(context, job.exportTimeMs)
        yield* stillRunning(second)
        yield* Fiber.interrupt(second)
        assert.strictEqual(
          context.harness.instance.exports.snapshot().length,
          1,
          "the restart waited for the same export"
        )
      }),
    120_000
  )

  it.scopedLive(
    "the spool lost 26 hours into a 30-hour export: the restart stops with an error that says what to do",
    () =>
      Effect.gen(function* () {
        const context = yield* setup(30 * HOUR)
        yield* context.harness.workload(40)
        const first = yield* Effect.forkScoped(context.run(drainFast))
        yield* exportOf(context.harness)
        yield* hoursOfWrites(context, 26, first)
        yield* Fiber.interrupt(first)
        fs.rmSync(context.spoolFolder, { recursive: true, force: true })
        const second = yield* Effect.forkScoped(Effect.flip(context.run(drainFast)))
        yield* hoursOfWrites(context, 6)
        const error = yield* Fiber.join(second).pipe(Effect.timeout("30 seconds"))
        assert.strictEqual(error._tag, "SetupInvalid")
        assert.include(error.message, "spool")
        assert.include(error.message, "delete the checkpoint")
      }),
    120_000
  )
})

describe("Engine: a stop longer than the stream's 24-hour retention", () => {
  /** Runs the engine until it has read the stream up to now; returns its summary. */
  const caughtUp = (context: Context, options: Partial<Engine.Options> = {}) =>
    Effect.gen(function* () {
      // The export (if any) completes as virtual time passes.
      const ticking = yield* Effect.forkScoped(Effect.forever(
        Effect.zipRight(Effect.orDie(context.harness.instance.clock.advance(200)), Effect.sleep("20 millis"))
      ))
      const summary = yield* context.run({ until: "caught-up", ...options }).pipe(Effect.timeout("30 seconds"))
      yield* Fiber.interrupt(ticking)
      return summary
    })

  const gapAfter = (context: Context, options: Partial<Engine.Options>) =>
    Effect.gen(function* () {
      yield* caughtUp(context, options)
      yield* hoursOfWrites(context, 25)
      const error = yield* Effect.flip(caughtUp(context, options))
      assert.strictEqual(error._tag, "StreamGap", error.message)
      assert.include(error.message, "start again with a new backfill")
      assert.include(error.message, "discard this checkpoint")
    })

  it.scopedLive(
    "stream only: the restart 25 hours later fails with StreamGap, not silence",
    () =>
      Effect.gen(function* () {
        const context = yield* setup(1000)
        yield* context.harness.workload(30)
        yield* gapAfter(context, { backfill: "never" })
      }),
    60_000
  )

  it.scopedLive(
    "after a backfill of an empty table (no stream position saved yet): StreamGap too, not silence",
    () =>
      Effect.gen(function* () {
        const context = yield* setup(1000)
        yield* gapAfter(context, {})
      }),
    60_000
  )
})
