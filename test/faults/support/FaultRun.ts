/**
 * One cell of the fault matrix, end to end: the emulator on a virtual clock over HTTP, the real AWS adapters, a
 * JSON-lines sink, a file checkpoint and a spool (a folder, or S3 objects so that S3 faults reach it). The engine runs
 * until it reaches the cell's phase; the fault is injected there; then either the engine goes on and the replica
 * converges, or it stops with a typed error, and after the fix a rerun on the same ports converges.
 */
import { Cause, Deferred, Effect, Exit, Fiber, Layer, Logger, LogLevel, Option } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as FileCheckpointStore from "../../../adapters/node/FileCheckpointStore.ts"
import * as FolderSpool from "../../../adapters/node/FolderSpool.ts"
import * as JsonlSink from "../../../adapters/sinks/JsonlSink.ts"
import type * as Capture from "../../../core/Capture.ts"
import * as Checkpoint from "../../../core/Checkpoint.ts"
import * as Engine from "../../../core/Engine.ts"
import * as ObjectStoreSpool from "../../../core/ObjectStoreSpool.ts"
import { Spool } from "../../../core/Spool.ts"
import type { RequestFault } from "../../../emulator/Faults.ts"
import * as EngineClock from "../../engine/support/EngineClock.ts"
import * as EngineHarness from "../../engine/support/EngineHarness.ts"
import * as FeedChecks from "../../engine/support/FeedChecks.ts"
import * as StreamLog from "../../engine/support/StreamLog.ts"
import { converged, until } from "../../engine/support/Waits.ts"
import * as Observed from "../../engine/support/Observed.ts"

export type Phase = "waiting" | "loading" | "draining" | "streaming"

export const phases: ReadonlyArray<Phase> = ["waiting", "loading", "draining", "streaming"]

/** What a cell's fault can do, from inside the engine's phase (a progress report or a sink write) or beside it. */
export interface Context {
  readonly harness: EngineHarness.Harness
  readonly streamArn: string
  /** Adds request fault rules; their ids. */
  readonly addRules: (rules: ReadonlyArray<RequestFault>) => ReadonlyArray<string>
  /** Waits until every record the stream has held so far is spooled or in the sink: capture has read it. */
  readonly captured: Effect.Effect<void>
  /** Waits until the replica equals the table. */
  readonly converged: Effect.Effect<void>
  /** The bytes of an object of the bucket, and a way to put them back. */
  readonly takeObject: (key: string) => Effect.Effect<() => Effect.Effect<void>>
  readonly bucketKeys: (prefix: string) => Effect.Effect<ReadonlyArray<string>>
  /** The data files of the exports in the bucket, with their item counts. */
  readonly exportFiles: Effect.Effect<ReadonlyArray<{ readonly key: string; readonly itemCount: number }>>
  /** Options for the rerun after the fix (a new export prefix, say). */
  readonly rerunWith: (options: Partial<Engine.Options>) => void
  /** Starts the rerun from no checkpoint (the fix discards it). */
  readonly discardCheckpoint: () => void
}

export type Outcome =
  | { readonly _tag: "Recovers" }
  | {
    readonly _tag: "Stops"
    /** The typed error's tag, and text its message must hold (what is wrong, what to do). */
    readonly error: string
    readonly message: ReadonlyArray<string>
    /** Text an error the engine logs before it stops must hold (advice the error alone cannot give). */
    readonly logged?: ReadonlyArray<string>
    /** Undoes the fault, as the user would: grant the permission, put the object back, export again. */
    readonly fix: (context: Context) => Effect.Effect<void>
  }

export interface Cell {
  readonly phase: Phase
  readonly spool: "folder" | "s3"
  /** Run at the phase's start: in the engine's fiber (waiting, loading, draining), or beside it (streaming). */
  readonly inject: (context: Context) => Effect.Effect<void>
  /** Run before the engine starts (export faults, which apply when the export is written). */
  readonly before?: (context: Context) => Effect.Effect<void>
  readonly outcome: Outcome
  /**
   * How long the export takes, in virtual ms (default 3 s; virtual time goes about 40 times faster than the wall
   * clock): a minute when the spool must hold something (the engine spools what it captured every second, by the wall
   * clock).
   */
  readonly exportMs?: number
}

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "backstream-faults-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

/** Settings in milliseconds; retries enough for a fault that applies a few times per action. */
const quick = {
  ...EngineHarness.quick,
  capture: { ...EngineHarness.quick.capture, retry: { base: "5 millis", max: "20 millis", retries: 20 } },
  batch: { maxEvents: 50, maxDelay: "10 millis" },
  backfillBatch: 7
} as const

/** Hears every spool append once it is durable. */
const spoolHook = <E, R>(
  spool: Layer.Layer<Spool, E, R>,
  onAppend: (elements: ReadonlyArray<Capture.Element>) => void
) =>
  Layer.effect(
    Spool,
    Effect.map(Spool, (real) =>
      Spool.of({
        ...real,
        append: (elements, state) =>
          Effect.tap(real.append(elements, state), () => Effect.sync(() => onAppend(elements)))
      }))
  ).pipe(Layer.provide(spool))

/** Plays a cell; dies with what went wrong. */
export const play = (cell: Cell) =>
  Effect.gen(function* () {
    const harness = yield* EngineHarness.make({
      clock: "virtual",
      exportDurationMs: cell.exportMs ?? 3_000,
      shardsPerStream: 2
    })
    yield* harness.setup()
    const streamArn = harness.instance.streams.current(EngineHarness.TABLE)!.arn
    const log = StreamLog.make(harness.instance, streamArn)
    const dir = yield* tempDir
    const output = path.join(dir, "out.jsonl")
    const checkpointFile = path.join(dir, "checkpoint.json")
    const spooled = new Set<string>()
    const events = () => FeedChecks.readJsonl(output)
    let rerunOptions: Partial<Engine.Options> = {}

    const context: Context = {
      harness,
      streamArn,
      addRules: (rules) => rules.map((rule) => harness.instance.faults.add(rule)),
      captured: until(
        () => {
          log.collect()
          const applied = new Set(events().flatMap((e) => StreamLog.eventRecordId(e) ?? []))
          return log.records().every((r) => {
            const id = StreamLog.recordId(r.shardId, r.sequenceNumber)
            return spooled.has(id) || applied.has(id)
          })
        },
        "capture to read every record written so far",
        10
      ),
      converged: Effect.asVoid(converged(harness, () => EngineHarness.replay(events()))),
      takeObject: (key) =>
        Effect.gen(function* () {
          const object = yield* Effect.orDie(harness.instance.s3.getObject(EngineHarness.BUCKET, key))
          yield* Effect.orDie(harness.instance.s3.deleteObject(EngineHarness.BUCKET, key))
          return () =>
            Effect.asVoid(
              Effect.orDie(harness.instance.s3.putObject(EngineHarness.BUCKET, key, object.bytes, object.contentType))
            )
        }),
      bucketKeys: (prefix) => Effect.orDie(harness.instance.s3.listKeys(EngineHarness.BUCKET, prefix)),
      exportFiles: FeedChecks.exportFiles(harness.instance, EngineHarness.BUCKET),
      rerunWith: (options) => void (rerunOptions = options),
      discardCheckpoint: () => fs.rmSync(checkpointFile, { force: true })
    }

    const reached = yield* Deferred.make<void>()
    let injected = false
    const injectOnce = (phase: Phase) =>
      Effect.suspend(() => {
        if (injected || phase !== cell.phase) return Effect.void
        injected = true
        return phase === "streaming"
          ? Effect.asVoid(Deferred.succeed(reached, undefined))
          : Effect.zipRight(cell.inject(context), Deferred.succeed(reached, undefined))
      })

    const spool = cell.spool === "folder"
      ? FolderSpool.layer({ folder: path.join(dir, "spool") })
      : ObjectStoreSpool.layer({ prefix: "spool" }).pipe(Layer.provide(harness.sources()), Layer.orDie)
    const layers = Layer.mergeAll(
      harness.sources(),
      Observed.sinkWrites(JsonlSink.layer({ path: output }), (batch) =>
        batch.checkpoint.backfill._tag === "Done" && batch.events.length === 0 ? injectOnce("draining") : Effect.void),
      FileCheckpointStore.layer({ file: checkpointFile }),
      spoolHook(spool, (elements) => {
        for (const element of elements) {
          if (element._tag !== "Batch") {
            continue
          }
          for (const event of element.events) {
            spooled.add(StreamLog.eventRecordId(event)!)
          }
        }
      })
    )
    const logged: Array<string> = []
    const run = (options: Partial<Engine.Options>) =>
      Engine.run({
        table: EngineHarness.TABLE,
        export: { bucket: EngineHarness.BUCKET, prefix: "backfill" },
        ...quick,
        ...options,
        onProgress: (progress) =>
          progress._tag === "ExportWaiting"
            // An export may be found complete at its first look: it was waited for all the same.
            ? Effect.zipRight(
              injectOnce("waiting"),
              progress.status === "COMPLETED" ? injectOnce("loading") : Effect.void
            )
            : progress._tag === "Streaming"
            ? injectOnce("streaming")
            : Effect.void
      }).pipe(
        Effect.provide(layers),
        Effect.withClock(EngineClock.virtualTime(harness.instance.clock)),
        Effect.provide(Logger.add(Logger.make(({ logLevel, message }) => {
          if (LogLevel.greaterThanEqual(logLevel, LogLevel.Error)) {
            logged.push((Array.isArray(message) ? message : [message]).map(String).join(" "))
          }
        })))
      )

    yield* harness.workload(16)
    if (cell.before !== undefined) {
      yield* cell.before(context)
    }
    // Virtual time goes on: exports complete, slow answers come.
    yield* Effect.forkScoped(Effect.forever(
      Effect.zipRight(Effect.orDie(harness.instance.clock.advance(400)), Effect.sleep("10 millis"))
    ))
    const first = yield* Effect.forkScoped(run({}))
    yield* Deferred.await(reached).pipe(
      Effect.raceFirst(Effect.flatMap(Fiber.await(first), (exit) =>
        Effect.dieMessage(`the engine ended before the ${cell.phase} phase: ${exitText(exit)}`))),
      Effect.timeoutFail({
        duration: "30 seconds",
        onTimeout: () =>
          `the ${cell.phase} phase never came`
      }),
      Effect.orDie
    )
    if (cell.phase === "streaming") {
      yield* cell.inject(context)
    }
    // Changes during and after the fault.
    yield* harness.workload(6)
    const exportTimeMs = () =>
      harness.instance.exports.snapshot().at(-1)!.exportTimeMs
    /** The replica converges with nothing lost; dies at once should the engine stop. */
    const complete = (fiber: Fiber.RuntimeFiber<unknown, unknown>) =>
      Effect.raceFirst(
        converged(harness, () =>
          EngineHarness.replay(events()), () => {
          log.collect()
          return FeedChecks.lost(log.records(), exportTimeMs(), events())
        }),
        Effect.flatMap(Fiber.await(fiber), (exit) =>
          Effect.dieMessage(`the engine stopped: ${exitText(exit)}`))
      )

    if (cell.outcome._tag === "Recovers") {
      yield* complete(first)
      yield* Fiber.interrupt(first)
      return { rules: harness.instance.faults.list(), error: undefined, logged }
    }

    const exit = yield* Fiber.await(first).pipe(
      Effect.timeoutFail({ duration: "30 seconds", onTimeout: () => "the engine did not stop" }),
      Effect.orDie
    )
    if (Exit.isSuccess(exit) || Cause.isInterruptedOnly(exit.cause)) {
      return yield* Effect.dieMessage(`the engine did not fail: ${exitText(exit)}`)
    }
    const failure = Cause.failureOption(exit.cause)
    if (Option.isNone(failure)) return yield* Effect.dieMessage(`the engine died: ${exitText(exit)}`)
    const error = failure.value as { readonly _tag: string; readonly message: string }
    // Nothing past the last checkpoint: every event the sink holds is covered by the checkpoint saved.
    const saved = Checkpoint.decode(fs.readFileSync(checkpointFile, "utf8"))
    if (saved._tag === "Left") return yield* Effect.dieMessage(`the checkpoint does not decode: ${saved.left}`)
    const fileIndex = yield* FeedChecks.exportFileOrder(harness.instance, EngineHarness.BUCKET)
    const beyond = events().filter((event) => !FeedChecks.covers(saved.right, event, fileIndex))
    if (beyond.length > 0) {
      return yield* Effect.dieMessage(
        `the sink holds ${beyond.length} events past the checkpoint: ${FeedChecks.positionOf(beyond[0]!)}`
      )
    }
    const rules = harness.instance.faults.list()
    yield* cell.outcome.fix(context)
    yield* harness.workload(6)
    const rerun = yield* Effect.forkScoped(run(rerunOptions))
    yield* complete(rerun)
    yield* Fiber.interrupt(rerun)
    return { rules, error, logged }
  })

const exitText = (exit: Exit.Exit<unknown, unknown>): string =>
  Exit.isSuccess(exit) ? "it returned" : Cause.pretty(exit.cause)
