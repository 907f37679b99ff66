import { assert, describe, it } from "@effect/vitest"
import * as CaptureState from "../../core/CaptureState.ts"
import * as ShardLineage from "../../core/internal/ShardLineage.ts"

const shard = (shardId: string, parentShardId?: string, closed = false): ShardLineage.ListedShard => ({
  shardId,
  parentShardId,
  closed
})

const ids = (shards: ReadonlyArray<ShardLineage.ListedShard>) => shards.map((s) => s.shardId)
const noPosition = () => false

/** Lists `shards` and returns the lineage, checking that nothing vanished. */
const listed = (
  lineage: ShardLineage.ShardLineage,
  shards: ReadonlyArray<ShardLineage.ListedShard>,
  disabled = false
) => {
  const result = ShardLineage.list(lineage, shards, disabled, noPosition)
  assert.deepStrictEqual(result.vanished, [])
  return result.lineage
}

describe("ShardLineage", () => {
  it("reads roots at once and a child only after its parent is finished", () => {
    let lineage = listed(ShardLineage.fromState(CaptureState.empty), [
      shard("s1"),
      shard("s2"),
      shard("s1a", "s1"),
      shard("s1b", "s1")
    ])
    assert.deepStrictEqual(ids(ShardLineage.ready(lineage)), ["s1", "s2"])
    lineage = ShardLineage.start(ShardLineage.start(lineage, "s1"), "s2")
    assert.deepStrictEqual(ids(ShardLineage.ready(lineage)), [], "one reader per shard")
    lineage = ShardLineage.finish(lineage, "s1")
    assert.deepStrictEqual(ids(ShardLineage.ready(lineage)), ["s1a", "s1b"], "both children of a split")
    assert.isTrue(ShardLineage.parentFinished(lineage, shard("s1a", "s1")))
    assert.isFalse(ShardLineage.parentFinished(lineage, shard("s2")))
  })

  it("reads a child whose parent is gone from the stream", () => {
    const lineage = listed(ShardLineage.fromState(CaptureState.empty), [shard("c1", "trimmed"), shard("c2", "c1")])
    assert.deepStrictEqual(ids(ShardLineage.ready(lineage)), ["c1"])
    assert.isFalse(ShardLineage.parentFinished(lineage, shard("c1", "trimmed")))
  })

  it("a grandchild waits for its parent, not only for its grandparent", () => {
    let lineage = listed(ShardLineage.fromState(CaptureState.empty), [shard("a"), shard("b", "a"), shard("c", "b")])
    lineage = ShardLineage.finish(ShardLineage.start(lineage, "a"), "a")
    assert.deepStrictEqual(ids(ShardLineage.ready(lineage)), ["b"])
    lineage = ShardLineage.finish(ShardLineage.start(lineage, "b"), "b")
    assert.deepStrictEqual(ids(ShardLineage.ready(lineage)), ["c"])
  })

  it("resumes from a state: finished shards are not read again, their children are", () => {
    const state = CaptureState.finish(
      CaptureState.advance(CaptureState.empty, "b", {
        sequenceNumber: "100000000000000000002",
        approximateCreationTimeMs: 1
      }),
      "a"
    )
    const lineage = listed(ShardLineage.fromState(state), [shard("a", undefined, true), shard("b", "a"), shard("x")])
    assert.deepStrictEqual(ids(ShardLineage.ready(lineage)), ["b", "x"])
    assert.isTrue(ShardLineage.parentFinished(lineage, shard("b", "a")))
  })

  it("a shard it owed that left the stream unfinished vanished; a fresh root it never read did not", () => {
    let lineage = listed(ShardLineage.fromState(CaptureState.empty), [shard("p"), shard("c", "p"), shard("r")])
    lineage = ShardLineage.start(lineage, "p")
    const result = ShardLineage.list(lineage, [shard("p")], false, noPosition)
    assert.deepStrictEqual(result.vanished, ["c"], "the child of a shard being read")
    const withPosition = ShardLineage.list(lineage, [shard("c", "p")], false, (id) => id === "p")
    assert.deepStrictEqual(withPosition.vanished, ["p"], "a shard with a position")
    assert.isFalse(withPosition.lineage.pending.has("r"))
  })

  it("a positioned shard of the state that is not listed vanished", () => {
    const state = CaptureState.advance(CaptureState.empty, "old", {
      sequenceNumber: "100000000000000000002",
      approximateCreationTimeMs: 1
    })
    const result = ShardLineage.list(
      ShardLineage.fromState(state),
      [shard("new")],
      false,
      (id) => state.positions.has(id)
    )
    assert.deepStrictEqual(result.vanished, ["old"])
  })

  it("finished shards that left the stream are gone and forgotten", () => {
    let lineage = listed(ShardLineage.fromState(CaptureState.empty), [shard("a", undefined, true), shard("b", "a")])
    lineage = ShardLineage.finish(ShardLineage.start(lineage, "a"), "a")
    const result = ShardLineage.list(lineage, [shard("b", "a")], false, noPosition)
    assert.deepStrictEqual(result.gone, ["a"])
    assert.deepStrictEqual(result.vanished, [])
    assert.isFalse(result.lineage.finished.has("a"))
    assert.deepStrictEqual(ids(ShardLineage.ready(result.lineage)), ["b"])
  })

  it("is complete once the stream is disabled and every shard is finished", () => {
    let lineage = listed(ShardLineage.fromState(CaptureState.empty), [
      shard("a", undefined, true),
      shard("b", "a", true)
    ])
    lineage = ShardLineage.finish(ShardLineage.start(lineage, "a"), "a")
    assert.isFalse(ShardLineage.isComplete(lineage))
    lineage = ShardLineage.finish(ShardLineage.start(lineage, "b"), "b")
    assert.isFalse(ShardLineage.isComplete(lineage), "an enabled stream goes on")
    lineage = listed(lineage, [shard("a", undefined, true), shard("b", "a", true)], true)
    assert.isTrue(ShardLineage.isComplete(lineage))
    lineage = listed(lineage, [shard("a", undefined, true), shard("b", "a", true), shard("c", "b", true)], true)
    assert.isFalse(ShardLineage.isComplete(lineage))
  })
})
