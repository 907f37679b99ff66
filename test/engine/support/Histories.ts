/**
 * Random histories played against the engine end to end: the emulator on a virtual clock over HTTP, the real AWS
 * adapters, the sink, checkpoint store and spool a test gives. A history is writes over a few items (puts, updates,
 * deletes, transactions), time passing (past the margin, past iterator expiry, across shard roll-overs) and shard
 * splits, before the engine starts, while it starts (the export is asked for somewhere among them) and after; with
 * random batch and page sizes, a fuzzy or exact export, and crashes at random points of every phase, each followed by a
 * restart on the same ports. Played until the replica equals the table and holds every change after the export time.
 */
import { Cause, Effect, FastCheck as fc, Fiber, Layer } from "effect"
import type { ChangeEvent } from "../../../core/ChangeEvent.ts"
import type { CheckpointStore } from "../../../core/CheckpointStore.ts"
import * as Engine from "../../../core/Engine.ts"
import type { Sink } from "../../../core/Sink.ts"
import type { Spool } from "../../../core/Spool.ts"
import * as EngineClock from "./EngineClock.ts"
import * as EngineHarness from "./EngineHarness.ts"
import * as FeedChecks from "./FeedChecks.ts"
import * as Restarts from "./Restarts.ts"
import * as StreamLog from "./StreamLog.ts"
import { converged, until } from "./Waits.ts"
import * as Writes from "./Writes.ts"

const MINUTE = 60_000
const HOUR = 60 * MINUTE

export const scenario = fc.record({
  shards: fc.integer({ min: 1, max: 3 }),
  rolloverMs: fc.constantFrom(4 * HOUR, 10 * MINUTE),
  exportMs: fc.constantFrom(1_000, 20_000, 5 * MINUTE),
  fuzzMs: fc.constantFrom(0, 0, 30_000),
  before: fc.array(Writes.stepArbitrary, { maxLength: 14 }),
  around: fc.array(Writes.writeArbitrary, { maxLength: 6 }),
  after: fc.array(Writes.stepArbitrary, { maxLength: 20 }),
  crashes: fc.array(
    fc.record({ phase: fc.constantFrom(...Restarts.phases), delayMs: fc.integer({ min: 0, max: 40 }) }),
    { maxLength: 3 }
  ),
  maxEvents: fc.integer({ min: 1, max: 30 }),
  backfillBatch: fc.integer({ min: 1, max: 8 }),
  recordsPerCall: fc.integer({ min: 1, max: 20 })
})

export type Scenario = typeof scenario extends fc.Arbitrary<infer A> ? A : never

/** The ports of a history's runs, and how to read what they hold. */
export interface Ports {
  readonly layer: Layer.Layer<Sink | CheckpointStore | Spool, unknown>
  readonly replica: Effect.Effect<EngineHarness.Items>
  readonly backfillDone: Effect.Effect<boolean>
  /** Every event the sink was handed, in order. */
  readonly emitted: Effect.Effect<ReadonlyArray<ChangeEvent>>
}

/**
 * `NUM_RUNS=…` plays more (or fewer) histories; `SEED=… SEED_PATH=…` replays a reported run; `HISTORY='{…}'` plays a
 * reported counterexample first.
 */
export const fastCheck = (numRuns: number) => ({
  numRuns: Number(process.env.NUM_RUNS ?? numRuns),
  endOnFailure: true,
  ...(process.env.SEED === undefined ? {} : { seed: Number(process.env.SEED), path: process.env.SEED_PATH ?? "0" }),
  ...(process.env.HISTORY === undefined
    ? {}
    : { examples: [[JSON.parse(process.env.HISTORY) as Scenario] as [Scenario]] })
})

/** Plays a history until the replica converges with nothing lost; returns what the checks need. */
export const play = <R>(s: Scenario, portsOf: (harness: EngineHarness.Harness) => Effect.Effect<Ports, never, R>) =>
  Effect.gen(function* () {
    const harness = yield* EngineHarness.make({
      clock: "virtual",
      exportDurationMs: s.exportMs,
      exportFuzzMs: s.fuzzMs,
      shardsPerStream: s.shards,
      shardRolloverMs: s.rolloverMs
    })
    yield* harness.setup()
    const streamArn = harness.instance.streams.current(EngineHarness.TABLE)!.arn
    const log = StreamLog.make(harness.instance, streamArn)
    for (const step of s.before) yield* Writes.step(harness, streamArn, step)

    const ports = yield* portsOf(harness)
    const layer = Layer.merge(harness.sources(), ports.layer)
    const run: Restarts.Runner<unknown, never> = (onProgress) =>
      Engine.run({
        table: EngineHarness.TABLE,
        export: { bucket: EngineHarness.BUCKET, prefix: "backfill" },
        ...EngineHarness.quick,
        capture: { ...EngineHarness.quick.capture, recordsPerCall: s.recordsPerCall },
        batch: { maxEvents: s.maxEvents, maxDelay: "20 millis" },
        backfillBatch: s.backfillBatch,
        onProgress
      }).pipe(Effect.provide(layer), Effect.withClock(EngineClock.virtualTime(harness.instance.clock)))

    const runs = yield* Effect.forkScoped(Restarts.withCrashes(run, s.crashes))
    for (const write of s.around) {
      yield* Writes.write(harness, write)
      yield* Effect.sleep("3 millis")
    }
    yield* until(() => harness.instance.exports.snapshot().length > 0, "the export to be asked for")
    for (const step of s.after) {
      yield* Writes.step(harness, streamArn, step)
      yield* Effect.sleep("3 millis")
    }
    // Time goes on: the export completes, the engine catches up.
    yield* Effect.forkScoped(Effect.forever(
      Effect.zipRight(Effect.orDie(harness.instance.clock.advance(2_000)), Effect.sleep("25 millis"))
    ))
    const last = yield* Fiber.join(runs)

    const exportTimeMs = harness.instance.exports.snapshot()[0]!.exportTimeMs
    yield* converged(
      harness,
      ports.replica,
      Effect.gen(function* () {
        log.collect()
        const exit = last.unsafePoll()
        const stopped = exit === null
          ? []
          : [`the engine stopped: ${exit._tag === "Failure" ? Cause.pretty(exit.cause) : "it returned"}`]
        return [
          ...stopped,
          ...((yield* ports.backfillDone) ? [] : ["the backfill is not done"]),
          ...FeedChecks.lost(log.records(), exportTimeMs, yield* ports.emitted)
        ]
      }),
      60
    )
    yield* Restarts.stillRunning(last)
    yield* Fiber.interrupt(last)
    log.collect()
    const fileIndex = yield* FeedChecks.exportFileOrder(harness.instance, EngineHarness.BUCKET)
    return { harness, log, exportTimeMs, fileIndex }
  })
