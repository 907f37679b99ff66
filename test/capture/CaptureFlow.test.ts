import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Metric, Option, Stream, TestClock } from "effect"
import * as Capture from "../../core/Capture.ts"
import * as Harness from "./support/CaptureHarness.ts"

const metric = (counter: Metric.Metric.Counter<number>) => Effect.map(Metric.value(counter), (state) => state.count)

describe("Capture: back-pressure", () => {
  it.scopedLive("a consumer that stops pulling stops the polling; memory holds a few pages", () =>
    Effect.gen(function* () {
      const h = yield* Harness.make({ shardsPerStream: 1 })
      const streamArn = yield* h.createTable("NEW_IMAGE")
      const total = 2000
      for (let i = 0; i < total; i++) {
        const item = { pk: { S: `k${i}` }, n: { N: String(i) } }
        h.instance.streams.append(Harness.TABLE, { keys: { pk: item.pk }, newImage: item, routingKey: `k${i}` })
      }
      const counted = h.counted()
      const calls = Capture.getRecordsCallsOf(streamArn, "records")
      const before = yield* metric(calls)
      const options = { recordsPerCall: 10, bufferedElements: 2, maxPollers: 1 }
      const pull = yield* Capture.stream({ streamArn, ...Harness.quick, discoveryInterval: "1 hour", ...options }).pipe(
        Stream.provideLayer(counted.layer),
        Stream.toPull
      )
      let pulled = 0
      const events: Array<string> = []
      const take = Effect.map(pull, (chunk) => {
        for (const element of chunk) {
          pulled++
          if (element._tag === "Batch") {
            for (const event of element.events) events.push(Harness.text(event.newImage?.get("n"))!)
          }
        }
      }).pipe(Effect.mapError(Option.getOrThrow))
      for (let i = 0; i < 3; i++) yield* take
      const quiet = () => counted.inFlight() === 0
      yield* Harness.settle(quiet)
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 100)))
      yield* Harness.settle(quiet)
      const held = (yield* metric(calls)) - before
      // Pulled, waiting in the buffer, and one page per poller waiting to be handed over.
      assert.isAtMost(held, pulled + options.bufferedElements + options.maxPollers + 1)
      assert.isBelow(held, total / options.recordsPerCall / 10)

      while (events.length < total) yield* take
      assert.deepStrictEqual(events, Array.from({ length: total }, (_, i) => String(i)))
    }))
})

describe("Capture: idle polling", () => {
  it.scoped("backs off to one GetRecords per shard every 5 s of (test) time when nothing is written", () =>
    Effect.gen(function* () {
      const shards = 2
      const h = yield* Harness.make({ shardsPerStream: shards })
      const streamArn = yield* h.createTable()
      const counted = h.counted()
      const empty = Capture.getRecordsCallsOf(streamArn, "empty")
      const capture = yield* Effect.fork(
        Capture.stream({ streamArn, discoveryInterval: "1 minute" }).pipe(
          Stream.runDrain,
          Effect.provide(counted.layer)
        )
      )
      const quiet = () => counted.inFlight() === 0
      yield* Harness.runFor(Harness.MINUTE, quiet)
      const before = yield* metric(empty)
      const minutes = 5
      yield* Harness.runFor(minutes * Harness.MINUTE, quiet)
      const perShardPerMinute = ((yield* metric(empty)) - before) / shards / minutes
      assert.isAtLeast(perShardPerMinute, 11.5)
      assert.isAtMost(perShardPerMinute, 12.5)
      assert.isTrue(Option.isNone(yield* Fiber.poll(capture)), "capture still follows the stream")
    }))

  it.scoped("polls again at the shortest delay once records come", () =>
    Effect.gen(function* () {
      const h = yield* Harness.make({ shardsPerStream: 1 })
      const streamArn = yield* h.createTable()
      const counted = h.counted()
      const seen: Array<Capture.Batch> = []
      yield* Effect.fork(
        Capture.stream({ streamArn, discoveryInterval: "1 hour" }).pipe(
          Stream.runForEach((element) => Effect.sync(() => element._tag === "Batch" && seen.push(element))),
          Effect.provide(counted.layer)
        )
      )
      const quiet = () => counted.inFlight() === 0
      yield* Harness.runFor(Harness.MINUTE, quiet)
      yield* h.write("a", "put")
      // Backed off to 5 s: the record is read within 5 s, and the next poll comes 250 ms after.
      for (let step = 0; step < 20 && seen.length === 0; step++) {
        yield* TestClock.adjust("250 millis")
        yield* Harness.settle(quiet)
      }
      assert.strictEqual(seen.length, 1)
      const calls = counted.calls()
      yield* TestClock.adjust("250 millis")
      yield* Harness.settle(quiet)
      assert.strictEqual(counted.calls(), calls + 1)
    }))
})
