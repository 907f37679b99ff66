import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Scope, TestClock } from "effect"
import { Writable } from "node:stream"
import * as Progress from "../../adapters/cli/Progress.ts"
import type * as Engine from "../../core/Engine.ts"

const ARN = "arn:aws:dynamodb:us-east-1:000000000000:table/orders/export/01768388186000-4a2fc3ff"

/** A stream that keeps what is written to it. */
const collector = () => {
  let text = ""
  const out = new Writable({
    write(chunk, _encoding, done) {
      text += String(chunk)
      done()
    }
  })
  return { out, text: () => text, lines: () => text.split("\n").filter((line) => line !== "") }
}

const waiting = (status: string): Engine.Progress => ({ _tag: "ExportWaiting", exportArn: ARN, status, reused: false })
const loading = (items: number, filesDone: number): Engine.Progress => ({
  _tag: "ExportLoading",
  exportArn: ARN,
  filesDone,
  filesTotal: 4,
  items,
  itemsTotal: 10_000
})
const streaming = (events: number, lagMs: number): Engine.Progress => ({ _tag: "Streaming", events, lagMs })

/** A run of the engine's progress, a second apart, with log lines between. */
const scenario = (reporter: Progress.Reporter) =>
  Effect.gen(function* () {
    yield* reporter.onProgress(waiting("IN_PROGRESS"))
    yield* TestClock.adjust("1 second")
    yield* reporter.onProgress(waiting("IN_PROGRESS"))
    yield* TestClock.adjust("1 second")
    yield* reporter.onProgress(waiting("COMPLETED"))
    for (let i = 0; i < 5; i++) {
      yield* reporter.onProgress(loading(i * 1000, Math.floor(i / 2)))
      yield* TestClock.adjust("1 second")
    }
    yield* reporter.onProgress(loading(10_000, 4))
    yield* reporter.log("info", "export loaded", { items: 10_000, file: "a b.json" })
    yield* reporter.onProgress({ _tag: "SpoolDraining", events: 250 })
    yield* TestClock.adjust("1 second")
    for (let i = 1; i <= 12; i++) {
      yield* reporter.onProgress(streaming(i * 100, 400))
      yield* TestClock.adjust("500 millis")
    }
    yield* reporter.log("warn", "shard throttled", { shard: "shardId-1" })
    yield* reporter.onProgress(streaming(1300, 1200))
  })

const run = (options: Omit<Progress.Options, "out">) =>
  Effect.gen(function* () {
    const sink = collector()
    const scope = yield* Scope.make()
    const reporter = yield* Scope.extend(Progress.make({ ...options, out: sink.out }), scope)
    yield* scenario(reporter)
    const beforeClose = sink.lines().length
    yield* reporter.log("error", "the sink failed", { retryable: false })
    yield* Scope.close(scope, Exit.void)
    return { ...sink, beforeClose }
  })

describe("Progress without a terminal", () => {
  it.effect("a line when a phase starts or the export's status changes, then one every few seconds while it moves", () =>
    Effect.gen(function* () {
      const { lines } = yield* run({ quiet: false, logFormat: "text", tty: false, every: "5 seconds" })
      assert.deepStrictEqual(lines(), [
        "waiting for export 01768388186000-4a2fc3ff: IN_PROGRESS (0.0s)",
        "waiting for export 01768388186000-4a2fc3ff: COMPLETED (2.0s)",
        "loading export 01768388186000-4a2fc3ff: 0% (files 0/4, items 0/10,000)",
        "loading export 01768388186000-4a2fc3ff: 20% (files 1/4, items 2,000/10,000, 667 items/s, ETA 0:12)",
        "loading export 01768388186000-4a2fc3ff: 100% (files 4/4, items 10,000/10,000, 2,000 items/s)",
        'export loaded items=10000 file="a b.json"',
        "applying changes captured during the backfill: 250 events",
        "streaming: 100 events, lag 0.4s",
        "streaming: 400 events, 150 events/s, lag 0.4s",
        "warning: shard throttled shard=shardId-1",
        "error: the sink failed retryable=false",
        "streaming: 1,300 events, 200 events/s, lag 1.2s"
      ])
      assert.notInclude(lines().join("\n"), "\x1b", "no terminal control codes")
    }))

  it.effect("--log-format json: one JSON object a line, progress with its phase and fields", () =>
    Effect.gen(function* () {
      const { lines } = yield* run({ quiet: false, logFormat: "json", tty: true, every: "5 seconds" })
      const objects = lines().map((line) => JSON.parse(line))
      assert.deepStrictEqual(objects.map((o) => [o.message, o.phase ?? o.level]), [
        ["progress", "ExportWaiting"],
        ["progress", "ExportWaiting"],
        ["progress", "ExportLoading"],
        ["progress", "ExportLoading"],
        ["progress", "ExportLoading"],
        ["export loaded", "info"],
        ["progress", "SpoolDraining"],
        ["progress", "Streaming"],
        ["progress", "Streaming"],
        ["shard throttled", "warn"],
        ["the sink failed", "error"],
        ["progress", "Streaming"]
      ])
      assert.deepStrictEqual(objects[0], {
        time: "1970-01-01T00:00:00.000Z",
        level: "info",
        message: "progress",
        phase: "ExportWaiting",
        exportArn: ARN,
        status: "IN_PROGRESS",
        reused: false,
        elapsedSeconds: 0
      })
      assert.deepStrictEqual(objects[3], {
        time: "1970-01-01T00:00:05.000Z",
        level: "info",
        message: "progress",
        phase: "ExportLoading",
        exportArn: ARN,
        filesDone: 1,
        filesTotal: 4,
        items: 2000,
        itemsTotal: 10_000,
        elapsedSeconds: 3,
        perSecond: 666.7,
        etaSeconds: 12
      })
      assert.deepStrictEqual(objects[5], {
        time: "1970-01-01T00:00:07.000Z",
        level: "info",
        message: "export loaded",
        items: 10_000,
        file: "a b.json"
      })
      assert.strictEqual(objects[10].retryable, false)
      assert.notInclude(lines().join("\n"), "\x1b", "JSON even on a terminal")
    }))

  it.effect("--quiet: nothing but errors", () =>
    Effect.gen(function* () {
      const text = yield* run({ quiet: true, logFormat: "text", tty: true })
      assert.deepStrictEqual(text.lines(), ["error: the sink failed retryable=false"])
      const json = yield* run({ quiet: true, logFormat: "json", tty: false })
      assert.deepStrictEqual(json.lines().map((line) => JSON.parse(line).message), ["the sink failed"])
    }))
})

describe("Progress on a terminal", () => {
  it.effect("redraws a live line in place at most ten times a second; a finished phase stays on screen", () =>
    Effect.gen(function* () {
      const sink = collector()
      const scope = yield* Scope.make()
      const reporter = yield* Scope.extend(
        Progress.make({ quiet: false, logFormat: "text", tty: true, out: sink.out, columns: 200 }),
        scope
      )
      for (let i = 0; i <= 50; i++) yield* reporter.onProgress(loading(i * 200, Math.floor(i / 13)))
      const draws = () => sink.text().split("\r\x1b[2K").length - 1
      assert.strictEqual(draws(), 1, "fifty updates at one instant: drawn once")
      yield* TestClock.adjust("1 second")
      assert.isAtMost(draws(), 11)
      yield* reporter.log("info", "hello")
      yield* reporter.onProgress(streaming(10, 50))
      yield* TestClock.adjust("200 millis")
      yield* Scope.close(scope, Exit.void)
      const screen = sink.text().split("\n").map((line) => line.slice(line.lastIndexOf("\r\x1b[2K") + 5))
      assert.match(screen[0]!, /^hello$/)
      assert.match(screen[1]!, /^load {6}\[█{24}\] 100% {2}files 3\/4 {2}items 10,000\/10,000$/)
      assert.match(screen[2]!, /^streaming 10 events {2}lag 0\.1s {2}0:00$/)
      assert.strictEqual(screen[3], "")
    }))
})
