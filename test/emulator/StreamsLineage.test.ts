import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import type { Change } from "../../emulator/streams/Streams.ts"
import { harness, HOUR, type Json, MINUTE, T0 } from "./support/streams.ts"

const table = (name = "orders") => ({
  name,
  arn: `arn:aws:dynamodb:us-east-1:000000000000:table/${name}`,
  keySchema: [{ AttributeName: "pk", KeyType: "HASH" }, { AttributeName: "sk", KeyType: "RANGE" }]
})
const put = (k: string, v: number): Change => ({
  keys: { pk: { S: k } },
  newImage: { pk: { S: k }, v: { N: String(v) } },
  routingKey: k
})

/** Shards with every parent before its children, by ParentShardId alone (a parent no longer listed counts as read). */
const lineageOrder = (shards: ReadonlyArray<Json>): Array<Json> => {
  const ids = new Set(shards.map((s) => s.ShardId)), done = new Set<string>(), out: Array<Json> = []
  while (out.length < shards.length) {
    for (const shard of shards) {
      if (done.has(shard.ShardId)) continue
      if (shard.ParentShardId === undefined || !ids.has(shard.ParentShardId) || done.has(shard.ParentShardId)) {
        done.add(shard.ShardId)
        out.push(shard)
      }
    }
  }
  return out
}

describe("Streams: lineage", () => {
  it.effect("a new stream: label, ARN, description and open shards", () =>
    Effect.gen(function* () {
      const h = harness({ shardsPerStream: 3 })
      const stream = h.streams.enable(table(), "NEW_AND_OLD_IMAGES")
      assert.deepStrictEqual(stream, {
        arn: `${table().arn}/stream/2026-01-14T10:18:50.622`,
        label: "2026-01-14T10:18:50.622",
        viewType: "NEW_AND_OLD_IMAGES"
      })
      assert.deepStrictEqual(h.streams.current("orders"), stream)
      const d = yield* h.describe(stream.arn)
      assert.deepStrictEqual(Object.keys(d), [
        "StreamArn",
        "StreamLabel",
        "StreamStatus",
        "StreamViewType",
        "CreationRequestDateTime",
        "TableName",
        "KeySchema",
        "Shards"
      ])
      assert.strictEqual(d.StreamStatus, "ENABLED")
      assert.strictEqual(d.CreationRequestDateTime, T0 / 1000)
      assert.deepStrictEqual(d.KeySchema, table().keySchema)
      assert.strictEqual(d.Shards.length, 3)
      for (const shard of d.Shards) {
        assert.match(shard.ShardId, /^shardId-00000001768385930622-[0-9a-f]{8}$/)
        assert.deepStrictEqual(Object.keys(shard.SequenceNumberRange), ["StartingSequenceNumber"])
        assert.isUndefined(shard.ParentShardId)
      }
    }))

  it.effect("every open shard rolls over after 4 hours, lazily, on the virtual clock", () =>
    Effect.gen(function* () {
      const h = harness({ shardsPerStream: 2 })
      const { arn } = h.streams.enable(table(), "NEW_IMAGE")
      yield* h.advance(4 * HOUR - 1)
      assert.strictEqual((yield* h.shards(arn)).length, 2)
      yield* h.advance(1 + 9 * HOUR)
      const shards = yield* h.shards(arn)
      assert.strictEqual(shards.length, 8)
      const open = shards.filter((s) => s.SequenceNumberRange.EndingSequenceNumber === undefined)
      assert.strictEqual(open.length, 2)
      for (const s of open) assert.strictEqual(s.ShardId.slice(8, 28), String(T0 + 12 * HOUR).padStart(20, "0"))
      const byId = new Map(shards.map((s) => [s.ShardId, s]))
      for (const s of shards.slice(2)) {
        const parent = byId.get(s.ParentShardId)
        assert.isDefined(parent)
        assert.strictEqual(Number(s.ShardId.slice(8, 28)) - Number(parent.ShardId.slice(8, 28)), 4 * HOUR)
        assert.isTrue(
          BigInt(parent.SequenceNumberRange.EndingSequenceNumber) < BigInt(s.SequenceNumberRange.StartingSequenceNumber)
        )
      }
      assert.deepStrictEqual(shards.map((s) => s.ShardId), [...shards.map((s) => s.ShardId)].sort())
    }))

  it.effect("one item's records stay in order across roll-overs and splits: parent first, then children", () =>
    Effect.gen(function* () {
      const h = harness({ shardsPerStream: 2, splitAfterRecords: 13 })
      const { arn } = h.streams.enable(table(), "NEW_IMAGE")
      const keys = Array.from({ length: 9 }, (_, i) => `item-${i}`)
      const appended = new Map<string, Array<number>>(keys.map((k) => [k, []]))
      let v = 0
      for (let round = 0; round < 30; round++) {
        for (const k of keys.slice(0, 3 + (round % 7))) {
          h.streams.append("orders", put(k, v))
          appended.get(k)!.push(v++)
        }
        if (round % 9 === 4) yield* h.streams.splitShard(arn).pipe(Effect.withClock(h.clock))
        yield* h.advance(37 * MINUTE)
      }
      const shards = yield* h.shards(arn)
      assert.isAbove(shards.filter((s) => s.ParentShardId !== undefined).length, 10)
      const seen = new Map<string, Array<number>>(keys.map((k) => [k, []]))
      for (const shard of lineageOrder(shards)) {
        for (const r of yield* h.drain(yield* h.iterator(arn, shard.ShardId))) {
          seen.get(r.dynamodb.Keys.pk.S)!.push(Number(r.dynamodb.NewImage.v.N))
        }
      }
      assert.deepStrictEqual(seen, appended)
    }))

  it.effect("splitShard: two children share the parent's keys, which closes", () =>
    Effect.gen(function* () {
      const h = harness({ shardsPerStream: 1 })
      const { arn } = h.streams.enable(table(), "KEYS_ONLY")
      for (let i = 0; i < 20; i++) h.streams.append("orders", put(`k${i}`, i))
      const [parent] = yield* h.shards(arn)
      const children = yield* h.streams.splitShard(arn, parent.ShardId).pipe(Effect.withClock(h.clock))
      for (let i = 0; i < 20; i++) h.streams.append("orders", put(`k${i}`, 100 + i))
      const shards = yield* h.shards(arn)
      assert.deepStrictEqual(shards.map((s) => s.ShardId), [parent.ShardId, ...children])
      assert.strictEqual(shards[0].SequenceNumberRange.EndingSequenceNumber !== undefined, true)
      assert.deepStrictEqual(shards.slice(1).map((s) => s.ParentShardId), [parent.ShardId, parent.ShardId])
      const where = new Map<string, Set<string>>()
      for (const child of children) {
        for (const r of yield* h.drain(yield* h.iterator(arn, child))) {
          where.set(r.dynamodb.Keys.pk.S, (where.get(r.dynamodb.Keys.pk.S) ?? new Set()).add(child))
        }
      }
      assert.strictEqual(where.size, 20)
      for (const [k, held] of where) assert.strictEqual(held.size, 1, `${k} is in one child only`)
      assert.strictEqual(new Set([...where.values()].flatMap((held) => [...held])).size, 2)
      const again = yield* Effect.flip(h.streams.splitShard(arn, parent.ShardId).pipe(Effect.withClock(h.clock)))
      assert.strictEqual(again.code, "ValidationException")
    }))

  it.effect("records are trimmed after 24 hours, and old closed shards disappear", () =>
    Effect.gen(function* () {
      const h = harness({ shardsPerStream: 1 })
      const { arn } = h.streams.enable(table(), "NEW_IMAGE")
      h.streams.append("orders", put("a", 1))
      h.streams.append("orders", put("a", 2))
      yield* h.advance(2 * HOUR)
      h.streams.append("orders", put("a", 3))
      const [first] = yield* h.shards(arn)
      const records = yield* h.drain(yield* h.iterator(arn, first.ShardId))
      const [one, two] = records.map((r) => r.dynamodb.SequenceNumber)
      yield* h.advance(22 * HOUR - 5 * MINUTE)
      const held = yield* h.iterator(arn, first.ShardId)
      yield* h.advance(5 * MINUTE)
      assert.strictEqual((yield* h.drain(yield* h.iterator(arn, first.ShardId))).length, 3)
      yield* h.advance(1)
      const trimmedAfter = yield* h.failure("GetShardIterator", {
        StreamArn: arn,
        ShardId: first.ShardId,
        ShardIteratorType: "AFTER_SEQUENCE_NUMBER",
        SequenceNumber: one
      })
      assert.strictEqual(trimmedAfter.code, "TrimmedDataAccessException")
      const afterLast = yield* h.drain(yield* h.iterator(arn, first.ShardId, "AFTER_SEQUENCE_NUMBER", two))
      assert.deepStrictEqual(afterLast.map((r) => r.dynamodb.NewImage.v.N), ["3"])
      const horizon = yield* h.drain(yield* h.iterator(arn, first.ShardId))
      assert.deepStrictEqual(horizon.map((r) => r.dynamodb.NewImage.v.N), ["3"])
      yield* h.advance(9 * MINUTE)
      assert.strictEqual((yield* h.failure("GetRecords", { ShardIterator: held })).code, "TrimmedDataAccessException")
      yield* h.advance(4 * HOUR)
      const ids = (yield* h.shards(arn)).map((s) => s.ShardId)
      assert.notInclude(ids, first.ShardId)
      const gone = yield* h.failure("GetShardIterator", {
        StreamArn: arn,
        ShardId: first.ShardId,
        ShardIteratorType: "LATEST"
      })
      assert.strictEqual(gone.code, "ResourceNotFoundException")
    }))

  it.effect("fault: trimNow trims every record written so far", () =>
    Effect.gen(function* () {
      const h = harness({ shardsPerStream: 1 })
      const { arn } = h.streams.enable(table(), "NEW_IMAGE")
      h.streams.append("orders", put("a", 1))
      const [shard] = yield* h.shards(arn)
      const held = yield* h.iterator(arn, shard.ShardId)
      h.streams.trimNow()
      h.streams.append("orders", put("a", 2))
      assert.strictEqual((yield* h.failure("GetRecords", { ShardIterator: held })).code, "TrimmedDataAccessException")
      const rest = yield* h.drain(yield* h.iterator(arn, shard.ShardId))
      assert.deepStrictEqual(rest.map((r) => r.dynamodb.NewImage.v.N), ["2"])
    }))
})

describe("Streams: listing", () => {
  it.effect("DescribeStream pages over many shards; LastEvaluatedShardId only when more follow", () =>
    Effect.gen(function* () {
      const h = harness({ shardsPerStream: 3, shardRolloverMs: HOUR })
      const { arn } = h.streams.enable(table(), "NEW_IMAGE")
      yield* h.advance(10 * HOUR)
      const all = yield* h.shards(arn)
      assert.strictEqual(all.length, 33)
      for (const size of [1, 5, 11, 33, 100]) {
        const paged: Array<Json> = []
        let start: string | undefined
        for (;;) {
          const d = yield* h.describe(arn, {
            Limit: size,
            ...(start === undefined ? {} : { ExclusiveStartShardId: start })
          })
          assert.isAtMost(d.Shards.length, size)
          paged.push(...d.Shards)
          start = d.LastEvaluatedShardId
          if (start === undefined) break
          assert.strictEqual(start, d.Shards[d.Shards.length - 1].ShardId)
        }
        assert.deepStrictEqual(paged, all)
      }
      const beyond = yield* h.describe(arn, { ExclusiveStartShardId: "shardId-99999999999999999999-ffffffff" })
      assert.deepStrictEqual(beyond.Shards, [])
      assert.isUndefined(beyond.LastEvaluatedShardId)
      for (const limit of [0, 101]) {
        assert.strictEqual(
          (yield* h.failure("DescribeStream", { StreamArn: arn, Limit: limit })).code,
          "ValidationException"
        )
      }
    }))

  it.effect("DescribeStream's CHILD_SHARDS filter", () =>
    Effect.gen(function* () {
      const h = harness({ shardsPerStream: 2 })
      const { arn } = h.streams.enable(table(), "NEW_IMAGE")
      const [a, b] = yield* h.shards(arn)
      const split = yield* h.streams.splitShard(arn, a.ShardId).pipe(Effect.withClock(h.clock))
      yield* h.advance(4 * HOUR)
      const children = (parent: string, input: Record<string, unknown> = {}) =>
        Effect.map(
          h.describe(arn, { ShardFilter: { Type: "CHILD_SHARDS", ShardId: parent }, ...input }),
          (d) => d.Shards.map((s: Json) => s.ShardId)
        )
      assert.deepStrictEqual(yield* children(a.ShardId), split)
      assert.strictEqual((yield* children(b.ShardId)).length, 1)
      assert.strictEqual((yield* children(split[0]!)).length, 1)
      const firstPage = yield* h.describe(arn, { ShardFilter: { Type: "CHILD_SHARDS", ShardId: a.ShardId }, Limit: 1 })
      assert.deepStrictEqual(firstPage.Shards.map((s: Json) => s.ShardId), [split[0]])
      assert.strictEqual(firstPage.LastEvaluatedShardId, split[0])
      assert.deepStrictEqual(yield* children(a.ShardId, { ExclusiveStartShardId: split[0] }), [split[1]])
      const bad = yield* h.failure("DescribeStream", {
        StreamArn: arn,
        ShardFilter: { Type: "PARENT", ShardId: a.ShardId }
      })
      assert.strictEqual(bad.code, "ValidationException")
    }))

  it.effect("ListStreams pages, filters by table, keeps a table's old streams", () =>
    Effect.gen(function* () {
      const h = harness()
      const names = ["alpha", "bravo", "charlie", "delta", "echo"]
      const arns = names.map((name) => h.streams.enable(table(name), "KEYS_ONLY").arn)
      yield* h.advance(1234)
      const second = h.streams.enable(table("charlie"), "NEW_IMAGE")
      assert.notStrictEqual(second.arn, arns[2])
      assert.strictEqual(second.label, "2026-01-14T10:18:51.856")
      const listed: Array<Json> = []
      let start: string | undefined
      for (;;) {
        const out = yield* h.call("ListStreams", {
          Limit: 2,
          ...(start === undefined ? {} : { ExclusiveStartStreamArn: start })
        })
        listed.push(...out.Streams)
        start = out.LastEvaluatedStreamArn
        if (start === undefined) break
      }
      assert.deepStrictEqual(listed.map((s) => s.StreamArn), [...arns.slice(0, 3), second.arn, ...arns.slice(3)])
      assert.deepStrictEqual(listed[0], {
        StreamArn: arns[0],
        TableName: "alpha",
        StreamLabel: "2026-01-14T10:18:50.622"
      })
      const charlie = yield* h.call("ListStreams", { TableName: "charlie" })
      assert.deepStrictEqual(charlie.Streams.map((s: Json) => s.StreamArn), [arns[2], second.arn])
      assert.deepStrictEqual(yield* h.call("ListStreams", { TableName: "nothing" }), { Streams: [] })
      for (
        const input of [{ Limit: 0 }, { Limit: 101 }, {
          ExclusiveStartStreamArn: "kossaapaaasdafsdaasdasdasdasasdasfadfadfasdasdas"
        }]
      ) {
        assert.strictEqual((yield* h.failure("ListStreams", input)).code, "ValidationException")
      }
    }))

  it.effect("re-enabling: a new stream; the old one is DISABLED, closed, readable, then gone", () =>
    Effect.gen(function* () {
      const h = harness({ shardsPerStream: 2 })
      const old = h.streams.enable(table(), "NEW_IMAGE")
      h.streams.append("orders", put("a", 1))
      yield* h.advance(MINUTE)
      h.streams.disable("orders")
      assert.isUndefined(h.streams.current("orders"))
      h.streams.append("orders", put("a", 2))
      const fresh = h.streams.enable(table(), "NEW_AND_OLD_IMAGES")
      h.streams.append("orders", put("a", 3))
      assert.notStrictEqual(fresh.arn, old.arn)
      assert.notStrictEqual(fresh.label, old.label)
      assert.deepStrictEqual(h.streams.current("orders"), fresh)
      const d = yield* h.describe(old.arn)
      assert.strictEqual(d.StreamStatus, "DISABLED")
      for (const s of d.Shards) assert.isDefined(s.SequenceNumberRange.EndingSequenceNumber)
      const oldRecords: Array<Json> = []
      for (const s of d.Shards) oldRecords.push(...yield* h.drain(yield* h.iterator(old.arn, s.ShardId)))
      assert.deepStrictEqual(oldRecords.map((r) => r.dynamodb.NewImage.v.N), ["1"])
      yield* h.advance(24 * HOUR)
      assert.strictEqual((yield* h.call("ListStreams", { TableName: "orders" })).Streams.length, 2)
      yield* h.advance(1)
      const listed = yield* h.call("ListStreams", { TableName: "orders" })
      assert.deepStrictEqual(listed.Streams.map((s: Json) => s.StreamArn), [fresh.arn])
      assert.strictEqual((yield* h.failure("DescribeStream", { StreamArn: old.arn })).code, "ResourceNotFoundException")
    }))
})
