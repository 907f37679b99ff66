import { assert, describe, it } from "@effect/vitest"
import { Effect, FastCheck as fc, Fiber, Metric } from "effect"
import type { Item } from "../../core/AttributeValue.ts"
import * as Capture from "../../core/Capture.ts"
import * as CaptureState from "../../core/CaptureState.ts"
import * as Harness from "./support/CaptureHarness.ts"

const KEYS = ["a", "b", "c", "d"]

type Command =
  | { readonly _tag: "write"; readonly key: number; readonly kind: "put" | "update" | "delete" }
  | { readonly _tag: "advance"; readonly ms: number }
  | { readonly _tag: "split" }
  | { readonly _tag: "expire" }
  | { readonly _tag: "fault"; readonly kind: "throttle" | "error503"; readonly action: string; readonly times: number }

const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.record({
      _tag: fc.constant("write"),
      key: fc.nat(KEYS.length - 1),
      kind: fc.constantFrom("put", "update", "delete")
    })
  },
  {
    weight: 2,
    arbitrary: fc.record({ _tag: fc.constant("advance"), ms: fc.integer({ min: 1, max: 2 * Harness.HOUR }) })
  },
  { weight: 1, arbitrary: fc.record({ _tag: fc.constant("split") }) },
  { weight: 1, arbitrary: fc.record({ _tag: fc.constant("expire") }) },
  {
    weight: 1,
    arbitrary: fc.record({
      _tag: fc.constant("fault"),
      kind: fc.constantFrom("throttle", "error503"),
      action: fc.constantFrom("GetRecords", "GetRecords", "GetShardIterator", "DescribeStream"),
      times: fc.integer({ min: 1, max: 3 })
    })
  }
) as fc.Arbitrary<Command>

const scenario = fc.record({
  shardsPerStream: fc.integer({ min: 1, max: 3 }),
  recordsPerCall: fc.integer({ min: 1, max: 5 }),
  maxPollers: fc.integer({ min: 1, max: 3 }),
  bufferedElements: fc.integer({ min: 1, max: 4 }),
  shardsPerListing: fc.integer({ min: 1, max: 4 }),
  commands: fc.array(command, { maxLength: 40 }),
  /** Capture starts after this share of the commands: from a backlog, or following along. */
  startAt: fc.double({ min: 0, max: 1, noNaN: true }),
  cut: fc.double({ min: 0, max: 1, noNaN: true })
})

type Scenario = typeof scenario extends fc.Arbitrary<infer A> ? A : never

const batches = (elements: ReadonlyArray<Capture.Element>) =>
  elements.filter((e): e is Capture.Batch => e._tag === "Batch")

/** Sequence numbers read per shard, in output order. */
const readPerShard = (elements: ReadonlyArray<Capture.Element>) => {
  const read = new Map<string, Array<string>>()
  for (const batch of batches(elements)) {
    for (const event of batch.events) {
      assert.strictEqual(event.position._tag, "Stream")
      if (event.position._tag !== "Stream") continue
      assert.strictEqual(event.position.shardId, batch.shardId)
      const list = read.get(batch.shardId) ?? []
      list.push(event.position.sequenceNumber)
      read.set(batch.shardId, list)
    }
  }
  return read
}

const version = (image: Item | undefined) => Harness.text(image?.get("v")) ?? "-"

const run = (s: Scenario) =>
  Effect.gen(function* () {
    const h = yield* Harness.make({
      shardsPerStream: s.shardsPerStream,
      shardRolloverMs: Harness.HOUR,
      retentionMs: 30 * 24 * Harness.HOUR
    })
    const streamArn = yield* h.createTable()
    const options = {
      streamArn,
      recordsPerCall: s.recordsPerCall,
      maxPollers: s.maxPollers,
      bufferedElements: s.bufferedElements,
      shardsPerListing: s.shardsPerListing
    }
    const recordsBefore = yield* Metric.value(Capture.recordsReadOf(streamArn))

    const startAt = Math.floor(s.startAt * (s.commands.length + 1))
    let capture: Fiber.RuntimeFiber<ReadonlyArray<Capture.Element>, Capture.CaptureError> | undefined
    for (const [index, c] of s.commands.entries()) {
      if (index === startAt) capture = yield* Effect.fork(Harness.collect(h, options))
      if (c._tag === "write") yield* h.write(KEYS[c.key]!, c.kind)
      else if (c._tag === "advance") yield* h.advance(c.ms)
      else if (c._tag === "split") yield* h.split(streamArn)
      else if (c._tag === "expire") h.instance.streams.expireIterators()
      else yield* h.fault({ kind: c.kind, action: c.action, times: c.times })
    }
    capture ??= yield* Effect.fork(Harness.collect(h, options))
    yield* h.disableStream
    const elements = yield* Fiber.join(capture).pipe(
      Effect.timeoutFail({ duration: "30 seconds", onTimeout: () => new Error("capture did not end") })
    )

    const shards = h.shards(streamArn)
    const read = readPerShard(elements)
    // No loss, no duplicate, each shard in order.
    for (const shard of shards) {
      assert.deepStrictEqual(read.get(shard.shardId) ?? [], shard.sequenceNumbers, `shard ${shard.shardId}`)
    }
    assert.deepStrictEqual([...read.keys()].filter((id) => !shards.some((s) => s.shardId === id)), [])

    // Every shard finished once; a shard's batches before its end; a parent's end before its children's batches.
    const finishedAt = new Map<string, number>()
    elements.forEach((element, index) => {
      if (element._tag !== "ShardFinished") return
      assert.isFalse(finishedAt.has(element.shardId), `${element.shardId} finished twice`)
      finishedAt.set(element.shardId, index)
    })
    assert.deepStrictEqual([...finishedAt.keys()].sort(), shards.map((shard) => shard.shardId).sort())
    elements.forEach((element, index) => {
      if (element._tag !== "Batch") return
      assert.isBelow(index, finishedAt.get(element.shardId)!)
      const parent = shards.find((shard) => shard.shardId === element.shardId)?.parentShardId
      if (parent !== undefined) assert.isAbove(index, finishedAt.get(parent)!, "a parent before its children")
    })

    // Per item: the changes in the order the table made them.
    const perItem = (changes: ReadonlyArray<{ key: string; change: string }>) => {
      const byKey = new Map<string, Array<string>>()
      for (const { key, change } of changes) byKey.set(key, [...(byKey.get(key) ?? []), change])
      return Object.fromEntries([...byKey].sort(([a], [b]) => a < b ? -1 : 1))
    }
    const captured = batches(elements).flatMap((batch) =>
      batch.events.map((event) => {
        const expectedOp = event.oldImage === undefined ? "c" : event.newImage === undefined ? "d" : "u"
        assert.strictEqual(event.op, expectedOp)
        assert.deepStrictEqual(event.key, new Map([["pk", event.key!.get("pk")!]]))
        return {
          key: Harness.text(event.key!.get("pk"))!,
          change: `${version(event.oldImage)}>${version(event.newImage)}`
        }
      })
    )
    assert.deepStrictEqual(perItem(captured), perItem(h.history()))

    // The state at the end: every shard finished, no position left.
    const end = elements.reduce(CaptureState.apply, CaptureState.empty)
    assert.strictEqual(end.positions.size, 0)
    assert.deepStrictEqual([...end.finished].sort(), shards.map((shard) => shard.shardId).sort())

    // Restart from a checkpoint between two elements: the rest, exactly.
    const cut = Math.floor(s.cut * (elements.length + 1))
    const checkpoint = elements.slice(0, cut).reduce(CaptureState.apply, CaptureState.empty)
    const resumed = yield* Harness.collect(h, { ...options, state: checkpoint })
    const before = readPerShard(elements.slice(0, cut)), after = readPerShard(resumed)
    for (const shard of shards) {
      assert.deepStrictEqual(
        [...(before.get(shard.shardId) ?? []), ...(after.get(shard.shardId) ?? [])],
        shard.sequenceNumbers,
        `shard ${shard.shardId} resumed from element ${cut} of ${elements.length}`
      )
    }
    const resumedEnd = resumed.reduce(CaptureState.apply, checkpoint)
    assert.strictEqual(resumedEnd.positions.size, 0)
    assert.deepStrictEqual([...resumedEnd.finished].sort(), shards.map((shard) => shard.shardId).sort())

    const recordsAfter = yield* Metric.value(Capture.recordsReadOf(streamArn))
    const total = shards.reduce((sum, shard) => sum + shard.sequenceNumbers.length, 0)
    const reread = [...after.values()].reduce((sum, list) => sum + list.length, 0)
    assert.strictEqual(recordsAfter.count - recordsBefore.count, total + reread)
  }).pipe(Effect.scoped)

describe("Capture: property, against the emulator over HTTP", () => {
  it.live.prop(
    "every record once, each shard in order, parents first, each item in order; a restart reads exactly the rest",
    [scenario],
    ([s]) => run(s),
    { fastCheck: { numRuns: 20 }, timeout: 120_000 }
  )
})
