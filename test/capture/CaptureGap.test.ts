import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import * as Capture from "../../core/Capture.ts"
import * as CaptureState from "../../core/CaptureState.ts"
import { StreamGap } from "../../core/Errors.ts"
import * as Harness from "./support/CaptureHarness.ts"

/** A capture that has read one record of a one-shard stream, and where it stopped. */
const readFirst = Effect.gen(function* () {
  const h = yield* Harness.make({ shardsPerStream: 1 })
  const streamArn = yield* h.createTable()
  yield* h.write("a", "put")
  const elements = yield* Capture.stream({ streamArn, ...Harness.quick }).pipe(
    Stream.takeUntil((element) => element._tag === "Batch"),
    Stream.runCollect,
    Effect.provide(h.source)
  )
  const state = [...elements].reduce(CaptureState.apply, CaptureState.empty)
  const [shardId, position] = [...state.positions][0]!
  return { h, streamArn, state, shardId, position }
})

const assertGap = (error: unknown, expected: Partial<StreamGap>) => {
  assert.instanceOf(error, StreamGap)
  const gap = error as StreamGap
  for (const [field, value] of Object.entries(expected)) assert.deepStrictEqual(gap[field as keyof StreamGap], value)
  assert.match(gap.message, /new backfill/)
  return gap
}

describe("Capture: gaps are typed errors, never silence", () => {
  it.scopedLive("resuming a day later, when the records after the checkpoint were trimmed", () =>
    Effect.gen(function* () {
      const { h, streamArn, state, shardId, position } = yield* readFirst
      yield* h.write("a", "update")
      yield* h.advance(25 * Harness.HOUR)
      const error = yield* Effect.flip(Harness.collect(h, { streamArn, state }))
      const gap = assertGap(error, {
        streamArn,
        shardId,
        cause: "trimmed",
        lostFromMs: position.approximateCreationTimeMs
      })
      assert.include(gap.message, new Date(position.approximateCreationTimeMs).toISOString())
    }))

  it.scopedLive("resuming when the shard it was reading is gone from the stream", () =>
    Effect.gen(function* () {
      const { h, streamArn, state, shardId, position } = yield* readFirst
      yield* h.advance(30 * Harness.HOUR)
      const error = yield* Effect.flip(Harness.collect(h, { streamArn, state }))
      assertGap(error, { streamArn, shardId, cause: "shardGone", lostFromMs: position.approximateCreationTimeMs })
    }))

  it.scopedLive("resuming a day later loses nothing when nothing was written after the checkpoint", () =>
    Effect.gen(function* () {
      const { h, streamArn, state, shardId } = yield* readFirst
      yield* h.advance(25 * Harness.HOUR)
      yield* h.disableStream
      const elements = yield* Harness.collect(h, { streamArn, state })
      assert.deepStrictEqual(elements.filter((e) => e._tag === "Batch"), [])
      assert.isTrue(elements.some((e) => e._tag === "ShardFinished" && e.shardId === shardId))
    }))

  it.scopedLive("a running capture held back for 25 hours of virtual time fails with the gap", () =>
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
      yield* Harness.eventually(() => seen.some((e) => e._tag === "Batch"), "the first record")
      const first = seen.find((e): e is Capture.Batch => e._tag === "Batch")!
      // The next GetRecords waits on the emulator's clock: the day passes while it is in flight.
      yield* h.fault({ kind: "delay", action: "GetRecords", delayMs: 1000, times: 1 })
      yield* Harness.eventually(() => h.instance.faults.list()[0]!.applied === 1, "a delayed GetRecords")
      yield* h.write("a", "update")
      yield* h.advance(25 * Harness.HOUR)
      const error = yield* Effect.flip(Fiber.join(capture))
      assertGap(error, {
        streamArn,
        shardId: first.shardId,
        cause: "trimmed",
        lostFromMs: first.position.approximateCreationTimeMs
      })
      assert.strictEqual(seen.filter((e) => e._tag === "Batch").length, 1)
    }))
})
