import { assert, describe, it } from "@effect/vitest"
import { Either, Schema } from "effect"
import type * as Capture from "../../core/Capture.ts"
import * as CaptureState from "../../core/CaptureState.ts"

const at = (sequenceNumber: string, approximateCreationTimeMs = 1_768_385_930_000) => ({
  sequenceNumber,
  approximateCreationTimeMs
})
const batch = (shardId: string, sequenceNumber: string): Capture.Element => ({
  _tag: "Batch",
  shardId,
  events: [],
  position: at(sequenceNumber)
})

describe("CaptureState", () => {
  it("follows batches, finished shards and gone shards", () => {
    const elements: ReadonlyArray<Capture.Element> = [
      batch("a", "100000000000000000010"),
      batch("b", "100000000000000000011"),
      batch("a", "100000000000000000020"),
      { _tag: "ShardFinished", shardId: "a" },
      batch("c", "100000000000000000030"),
      { _tag: "ShardsGone", shardIds: ["a", "b"] }
    ]
    const state = elements.reduce(CaptureState.apply, CaptureState.empty)
    assert.deepStrictEqual([...state.positions], [
      ["b", at("100000000000000000011")],
      ["c", at("100000000000000000030")]
    ])
    assert.deepStrictEqual([...state.finished], [], "a is forgotten; b is not finished, so it keeps its place")
  })

  it("never moves a position back, comparing sequence numbers as big integers", () => {
    const state = CaptureState.advance(CaptureState.empty, "a", at("1000000000000000000010"))
    assert.strictEqual(CaptureState.advance(state, "a", at("999999999999999999999")), state)
    const later = CaptureState.advance(state, "a", at("1000000000000000000011"))
    assert.strictEqual(later.positions.get("a")?.sequenceNumber, "1000000000000000000011")
  })

  it("a finished shard loses its position and stays finished", () => {
    const state = CaptureState.finish(CaptureState.advance(CaptureState.empty, "a", at("100000000000000000010")), "a")
    assert.isFalse(state.positions.has("a"))
    assert.isTrue(state.finished.has("a"))
    assert.strictEqual(CaptureState.advance(state, "a", at("100000000000000000020")), state)
  })

  it("prunes finished shards no longer in the stream, and only those", () => {
    let state = CaptureState.advance(CaptureState.empty, "open", at("100000000000000000010"))
    state = CaptureState.finish(state, "kept")
    state = CaptureState.finish(state, "gone")
    const pruned = CaptureState.prune(state, new Set(["kept"]))
    assert.deepStrictEqual([...pruned.finished], ["kept"])
    assert.isTrue(pruned.positions.has("open"), "an unfinished shard keeps its place even when it is not listed")
    assert.strictEqual(CaptureState.prune(pruned, new Set(["kept"])), pruned)
  })

  it("has a JSON form that round-trips", () => {
    let state = CaptureState.advance(CaptureState.empty, "shardId-1", at("1000000000000000000010", 1_768_385_930_000))
    state = CaptureState.finish(state, "shardId-0")
    const encoded = Schema.encodeSync(CaptureState.schema)(state)
    assert.deepStrictEqual(JSON.parse(JSON.stringify(encoded)), {
      positions: {
        "shardId-1": { sequenceNumber: "1000000000000000000010", approximateCreationTimeMs: 1_768_385_930_000 }
      },
      finished: ["shardId-0"]
    })
    const decoded = Schema.decodeUnknownSync(CaptureState.schema)(JSON.parse(JSON.stringify(encoded)))
    assert.isTrue(CaptureState.equals(decoded, state))
    assert.isTrue(CaptureState.isEmpty(Schema.decodeUnknownSync(CaptureState.schema)({ positions: {}, finished: [] })))
  })

  it("rejects JSON that is not a state", () => {
    const decode = Schema.decodeUnknownEither(CaptureState.schema)
    assert.isTrue(
      Either.isLeft(decode({ positions: { a: { sequenceNumber: "12", approximateCreationTimeMs: 1 } }, finished: [] }))
    )
    assert.isTrue(Either.isLeft(decode({ positions: {}, finished: [""] })))
    assert.isTrue(Either.isLeft(decode({ positions: {}, finished: "a" })))
    assert.isTrue(
      Either.isLeft(
        decode({ positions: { a: at("100000000000000000010") }, finished: ["a"] })
      ),
      "a shard both positioned and finished"
    )
  })
})
