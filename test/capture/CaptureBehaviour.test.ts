import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Fiber, Metric, Stream } from "effect"
import * as AttributeValue from "../../core/AttributeValue.ts"
import * as Capture from "../../core/Capture.ts"
import * as CaptureState from "../../core/CaptureState.ts"
import { Throttled } from "../../core/Errors.ts"
import type { StreamRecord } from "../../core/StreamSource.ts"
import * as Harness from "./support/CaptureHarness.ts"

const metric = (counter: Metric.Metric.Counter<number>) => Effect.map(Metric.value(counter), (state) => state.count)

const versions = (elements: ReadonlyArray<Capture.Element>) =>
  elements.flatMap((e) =>
    e._tag === "Batch" ? e.events.map((event) => Harness.text(event.newImage?.get("v")) ?? "-") : []
  )

describe("Capture: change events", () => {
  it("INSERT, MODIFY and REMOVE become c, u and d, with keys, images, time and position", () => {
    const keys = AttributeValue.item({ pk: AttributeValue.s("a") })
    const image = AttributeValue.item({ pk: AttributeValue.s("a"), v: AttributeValue.n("1") })
    const record = (eventName: StreamRecord["eventName"], extra: Partial<StreamRecord> = {}): StreamRecord => ({
      eventId: "e",
      eventName,
      approximateCreationTimeMs: 1_768_385_930_000,
      sequenceNumber: "100000000000000000042",
      sizeBytes: 10,
      keys,
      ...extra
    })
    const insert = Capture.toChangeEvent("arn", "shard", record("INSERT", { newImage: image }))
    assert.deepStrictEqual(insert, {
      op: "c",
      key: keys,
      newImage: image,
      timestampMs: 1_768_385_930_000,
      position: {
        _tag: "Stream",
        streamArn: "arn",
        shardId: "shard",
        sequenceNumber: "100000000000000000042",
        approximateCreationTimeMs: 1_768_385_930_000,
        ttl: false
      }
    })
    assert.strictEqual(Capture.toChangeEvent("arn", "shard", record("MODIFY")).op, "u")
    const ttl = Capture.toChangeEvent(
      "arn",
      "shard",
      record("REMOVE", { oldImage: image, userIdentity: { type: "Service", principalId: "dynamodb.amazonaws.com" } })
    )
    assert.strictEqual(ttl.op, "d")
    assert.deepStrictEqual(ttl.oldImage, image)
    assert.isTrue(ttl.position._tag === "Stream" && ttl.position.ttl)
  })

  it.scopedLive("a TTL delete read over HTTP is marked; KEYS_ONLY records carry no images", () =>
    Effect.gen(function* () {
      const h = yield* Harness.make({ shardsPerStream: 1 })
      const streamArn = yield* h.createTable("KEYS_ONLY")
      const item = { pk: { S: "a" }, v: { N: "1" } }
      h.instance.streams.append(Harness.TABLE, { keys: { pk: item.pk }, newImage: item, routingKey: "a" })
      h.instance.streams.append(Harness.TABLE, { keys: { pk: item.pk }, oldImage: item, routingKey: "a", ttl: true })
      yield* h.disableStream
      const events = (yield* Harness.collect(h, { streamArn })).flatMap((e) => e._tag === "Batch" ? e.events : [])
      assert.deepStrictEqual(events.map((e) => [e.op, e.position._tag === "Stream" && e.position.ttl]), [
        ["c", false],
        ["d", true]
      ])
      assert.isTrue(events.every((e) => e.newImage === undefined && e.oldImage === undefined))
      assert.deepStrictEqual(events[0]!.key, new Map([["pk", { _tag: "S", value: "a" }]]))
    }))
})

describe("Capture: faults", () => {
  it.scopedLive("throttling that does not stop fails the stream with Throttled once the retries are spent", () =>
    Effect.gen(function* () {
      const h = yield* Harness.make({ shardsPerStream: 1 })
      const streamArn = yield* h.createTable()
      yield* h.write("a", "put")
      yield* h.fault({ kind: "throttle", action: "GetRecords" })
      const errors = Capture.getRecordsCallsOf(streamArn, "error")
      const before = yield* metric(errors)
      const error = yield* Effect.flip(Harness.collect(h, { streamArn, retry: { ...Harness.quick.retry, retries: 4 } }))
      assert.instanceOf(error, Throttled)
      assert.strictEqual((yield* metric(errors)) - before, 5, "the first call and 4 retries")
    }))

  it.scopedLive("throttling and 5xx answers that pass lose and repeat nothing", () =>
    Effect.gen(function* () {
      const h = yield* Harness.make({ shardsPerStream: 2 })
      const streamArn = yield* h.createTable()
      for (const key of ["a", "b", "c"]) yield* h.write(key, "put")
      yield* h.fault({ kind: "throttle", action: "DescribeStream", times: 2 })
      yield* h.fault({ kind: "error500", action: "GetShardIterator", times: 2 })
      yield* h.fault({ kind: "error503", action: "GetRecords", times: 3 })
      yield* h.disableStream
      const elements = yield* Harness.collect(h, { streamArn })
      assert.deepStrictEqual(versions(elements).sort(), ["1", "2", "3"])
      assert.isTrue(h.instance.faults.list().every((rule) => rule.applied === rule.times))
    }))

  it.scopedLive("an expired iterator is replaced after the last record read: nothing lost, nothing repeated", () =>
    Effect.gen(function* () {
      const h = yield* Harness.make({ shardsPerStream: 1 })
      const streamArn = yield* h.createTable()
      const seen: Array<Capture.Element> = []
      const capture = yield* Effect.fork(
        Capture.stream({ streamArn, ...Harness.quick }).pipe(
          Stream.runForEach((element) => Effect.sync(() => seen.push(element))),
          Effect.provide(h.source)
        )
      )
      yield* h.write("a", "put")
      yield* Harness.eventually(() => versions(seen).length === 1, "the first record")
      h.instance.streams.expireIterators()
      yield* h.write("a", "update")
      yield* h.advance(20 * Harness.MINUTE)
      yield* h.write("a", "update")
      yield* h.disableStream
      yield* Fiber.join(capture)
      assert.deepStrictEqual(versions(seen), ["1", "2", "3"])
    }))
})

describe("Capture: caught up", () => {
  it.scopedLive("says when every record written before a time was emitted", () =>
    Effect.gen(function* () {
      const h = yield* Harness.make({ shardsPerStream: 3 })
      const streamArn = yield* h.createTable()
      for (const key of ["a", "b", "c", "d", "e", "f"]) yield* h.write(key, "put")
      const written = yield* Clock.currentTimeMillis
      const elements = yield* Capture.stream({ streamArn, ...Harness.quick }).pipe(
        Stream.takeUntil((e) => e._tag === "CaughtUp" && e.readToMs >= written),
        Stream.runCollect,
        Effect.provide(h.source)
      )
      assert.deepStrictEqual(versions([...elements]).sort(), ["1", "2", "3", "4", "5", "6"])
      const caughtUp = [...elements].filter((e) => e._tag === "CaughtUp").map((e) => e.readToMs)
      assert.deepStrictEqual(caughtUp, [...caughtUp].sort((x, y) => x - y), "it only moves forward")
      assert.isTrue(CaptureState.equals(
        [...elements].reduce(CaptureState.apply, CaptureState.empty),
        [...elements].filter((e) => e._tag !== "CaughtUp").reduce(CaptureState.apply, CaptureState.empty)
      ))
    }))
})

describe("Capture: shards", () => {
  it.scopedLive("never more GetRecords in flight than maxPollers, whatever the number of shards", () =>
    Effect.gen(function* () {
      const h = yield* Harness.make({ shardsPerStream: 8 })
      const streamArn = yield* h.createTable()
      for (let i = 0; i < 40; i++) yield* h.write(`k${i}`, "put")
      yield* h.disableStream
      const counted = h.counted()
      const elements = yield* Capture.stream({ streamArn, ...Harness.quick, maxPollers: 2, recordsPerCall: 2 }).pipe(
        Stream.runCollect,
        Effect.provide(counted.layer)
      )
      assert.strictEqual(versions([...elements]).length, 40)
      assert.isAtMost(counted.mostGetRecordsInFlight(), 2)
      assert.strictEqual(h.shards(streamArn).length, 8)
    }))

  it.scopedLive("a fresh capture of a day-old stream starts at the trim horizon, without a gap", () =>
    Effect.gen(function* () {
      const h = yield* Harness.make({ shardsPerStream: 2 })
      const streamArn = yield* h.createTable()
      yield* h.write("old", "put")
      yield* h.advance(30 * Harness.HOUR)
      yield* h.write("new", "put")
      yield* h.disableStream
      const elements = yield* Harness.collect(h, { streamArn })
      assert.deepStrictEqual(versions(elements), ["2"])
      const state = elements.reduce(CaptureState.apply, CaptureState.empty)
      assert.deepStrictEqual([...state.finished].sort(), h.shards(streamArn).map((s) => s.shardId).sort())
    }))

  it.scopedLive("forgets finished shards once they leave the stream", () =>
    Effect.gen(function* () {
      const h = yield* Harness.make({ shardsPerStream: 1 })
      const streamArn = yield* h.createTable()
      yield* h.write("a", "put")
      const seen: Array<Capture.Element> = []
      const capture = yield* Effect.fork(
        Capture.stream({ streamArn, ...Harness.quick }).pipe(
          Stream.runForEach((element) => Effect.sync(() => seen.push(element))),
          Effect.provide(h.source)
        )
      )
      yield* Harness.eventually(() => versions(seen).length === 1, "the first record")
      // Roll-overs close the first shard; a day after, it is gone from the stream.
      for (let hour = 0; hour < 30; hour++) {
        yield* h.advance(Harness.HOUR)
        yield* Harness.eventually(
          () => seen.filter((e) => e._tag === "ShardFinished").length >= Math.floor((hour + 1) / 4),
          "the closed shards finished"
        )
      }
      yield* Harness.eventually(() => seen.some((e) => e._tag === "ShardsGone"), "a shard gone")
      yield* h.disableStream
      yield* Fiber.join(capture)
      const state = seen.reduce(CaptureState.apply, CaptureState.empty)
      const listed = new Set(h.shards(streamArn).map((s) => s.shardId))
      assert.deepStrictEqual([...state.finished].sort(), [...listed].sort())
      assert.isTrue(CaptureState.equals(CaptureState.prune(state, listed), state))
    }))
})
