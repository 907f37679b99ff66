import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as SequenceNumber from "../../core/SequenceNumber.ts"
import type { Change, ViewType } from "../../emulator/streams/Streams.ts"
import { harness, HOUR, type Json, MINUTE, T0 } from "./support/streams.ts"

const table = (name = "orders") => ({
  name,
  arn: `arn:aws:dynamodb:us-east-1:000000000000:table/${name}`,
  keySchema: [{ AttributeName: "pk", KeyType: "HASH" }]
})

const key = (k: string) => ({ pk: { S: k } })
const item = (k: string, v: number, extra: Record<string, unknown> = {}) => ({
  pk: { S: k },
  v: { N: String(v) },
  ...extra
})
const insert = (k: string, v: number): Change => ({ keys: key(k), newImage: item(k, v), routingKey: k })
const modify = (k: string, from: number, to: number): Change => ({
  keys: key(k),
  oldImage: item(k, from),
  newImage: item(k, to),
  routingKey: k
})
const remove = (k: string, v: number, ttl = false): Change => ({
  keys: key(k),
  oldImage: item(k, v),
  routingKey: k,
  ...(ttl ? { ttl: true } : {})
})

describe("Streams: records", () => {
  const views: ReadonlyArray<ViewType> = ["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"]
  for (const view of views) {
    it.effect(`INSERT, MODIFY and REMOVE under ${view}`, () =>
      Effect.gen(function* () {
        const h = harness()
        const { arn } = h.streams.enable(table(), view)
        yield* h.advance(1500)
        h.streams.append("orders", insert("a", 1))
        h.streams.append("orders", modify("a", 1, 2))
        h.streams.append("orders", remove("a", 2))
        const records = yield* h.readAll(arn)
        assert.deepStrictEqual(records.map((r) => r.eventName), ["INSERT", "MODIFY", "REMOVE"])
        const hasNew = view === "NEW_IMAGE" || view === "NEW_AND_OLD_IMAGES"
        const hasOld = view === "OLD_IMAGE" || view === "NEW_AND_OLD_IMAGES"
        const expected: Array<[Json, Json]> = [[item("a", 1), undefined], [item("a", 2), item("a", 1)], [
          undefined,
          item("a", 2)
        ]]
        records.forEach((record, i) => {
          assert.deepStrictEqual(Object.keys(record), [
            "eventID",
            "eventName",
            "eventVersion",
            "eventSource",
            "awsRegion",
            "dynamodb"
          ])
          assert.match(record.eventID, /^[0-9a-f]{32}$/)
          assert.strictEqual(record.eventVersion, "1.1")
          assert.strictEqual(record.eventSource, "aws:dynamodb")
          assert.strictEqual(record.awsRegion, "us-east-1")
          const d = record.dynamodb
          assert.strictEqual(d.ApproximateCreationDateTime, Math.floor((T0 + 1500) / 1000))
          assert.isTrue(Number.isInteger(d.ApproximateCreationDateTime))
          assert.deepStrictEqual(d.Keys, key("a"))
          assert.deepStrictEqual(d.NewImage, hasNew ? expected[i]![0] : undefined)
          assert.deepStrictEqual(d.OldImage, hasOld ? expected[i]![1] : undefined)
          assert.strictEqual("NewImage" in d, hasNew && expected[i]![0] !== undefined)
          assert.strictEqual("OldImage" in d, hasOld && expected[i]![1] !== undefined)
          assert.strictEqual(d.StreamViewType, view)
          assert.isTrue(SequenceNumber.isSequenceNumber(d.SequenceNumber))
          const images = (hasNew && expected[i]![0] ? 6 : 0) + (hasOld && expected[i]![1] ? 6 : 0)
          assert.strictEqual(d.SizeBytes, 3 + images, "keys: pk + a; an image: pk + a, v + a 1-digit number (2)")
        })
      }))
  }

  it.effect("a delete by time to live carries the service's identity", () =>
    Effect.gen(function* () {
      const h = harness()
      const { arn } = h.streams.enable(table(), "NEW_AND_OLD_IMAGES")
      h.streams.append("orders", insert("a", 1))
      h.streams.append("orders", remove("a", 1, true))
      const [put, expired] = yield* h.readAll(arn)
      assert.isFalse("userIdentity" in put)
      assert.strictEqual(expired.eventName, "REMOVE")
      assert.deepStrictEqual(expired.userIdentity, { PrincipalId: "dynamodb.amazonaws.com", Type: "Service" })
    }))

  it.effect("sequence numbers have 21 digits or more and increase across the whole stream, with gaps", () =>
    Effect.gen(function* () {
      const h = harness({ shardsPerStream: 4, shardRolloverMs: 2 * HOUR, splitAfterRecords: 7 })
      const { arn } = h.streams.enable(table(), "NEW_IMAGE")
      let n = 0
      for (let hour = 0; hour < 12; hour++) {
        for (let i = 0; i < 10; i++) h.streams.append("orders", insert(`k${i}`, n++))
        yield* h.advance(HOUR)
      }
      const records = yield* h.readAll(arn)
      assert.strictEqual(records.length, n)
      const byAppend = [...records].sort((a, b) => Number(a.dynamodb.NewImage.v.N) - Number(b.dynamodb.NewImage.v.N))
      const numbers = byAppend.map((r) => r.dynamodb.SequenceNumber as string)
      for (const s of numbers) assert.isTrue(SequenceNumber.isSequenceNumber(s), s)
      for (let i = 1; i < numbers.length; i++) {
        assert.strictEqual(SequenceNumber.compare(numbers[i - 1]!, numbers[i]!), -1)
      }
      assert.isTrue(numbers.some((s, i) => i > 0 && BigInt(s) - BigInt(numbers[i - 1]!) > 1n), "not contiguous")
      assert.isTrue(numbers[0]!.length === 21 && numbers[numbers.length - 1]!.length === 22, "they grow a digit")
      for (const shard of yield* h.shards(arn)) {
        const { StartingSequenceNumber: start, EndingSequenceNumber: end } = shard.SequenceNumberRange
        const own = yield* h.drain(yield* h.iterator(arn, shard.ShardId))
        if (own.length > 0) assert.isTrue(SequenceNumber.compare(start, own[0].dynamodb.SequenceNumber) <= 0)
        if (end !== undefined && own.length > 0) assert.strictEqual(end, own[own.length - 1].dynamodb.SequenceNumber)
      }
    }))
})

describe("Streams: iterators", () => {
  const oneShard = () => {
    const h = harness({ shardsPerStream: 1 })
    const { arn } = h.streams.enable(table(), "NEW_IMAGE")
    for (let v = 0; v < 5; v++) h.streams.append("orders", insert("a", v))
    return { h, arn }
  }
  const values = (records: ReadonlyArray<Json>) => records.map((r) => Number(r.dynamodb.NewImage.v.N))

  it.effect("TRIM_HORIZON, LATEST, AT_SEQUENCE_NUMBER and AFTER_SEQUENCE_NUMBER", () =>
    Effect.gen(function* () {
      const { h, arn } = oneShard()
      const [shard] = yield* h.shards(arn)
      const all = yield* h.drain(yield* h.iterator(arn, shard.ShardId))
      assert.deepStrictEqual(values(all), [0, 1, 2, 3, 4])
      const third = all[2].dynamodb.SequenceNumber
      assert.deepStrictEqual(
        values(yield* h.drain(yield* h.iterator(arn, shard.ShardId, "AT_SEQUENCE_NUMBER", third))),
        [
          2,
          3,
          4
        ]
      )
      assert.deepStrictEqual(
        values(yield* h.drain(yield* h.iterator(arn, shard.ShardId, "AFTER_SEQUENCE_NUMBER", third))),
        [3, 4]
      )
      const start = shard.SequenceNumberRange.StartingSequenceNumber
      assert.deepStrictEqual(
        values(yield* h.drain(yield* h.iterator(arn, shard.ShardId, "AT_SEQUENCE_NUMBER", start))),
        [
          0,
          1,
          2,
          3,
          4
        ]
      )
      const latest = yield* h.iterator(arn, shard.ShardId, "LATEST")
      const nothing = yield* h.call("GetRecords", { ShardIterator: latest })
      assert.deepStrictEqual(nothing.Records, [])
      h.streams.append("orders", insert("a", 5))
      assert.deepStrictEqual(values(yield* h.drain(latest)), [5])
      const last = all[4].dynamodb.SequenceNumber
      assert.deepStrictEqual(
        values(yield* h.drain(yield* h.iterator(arn, shard.ShardId, "AFTER_SEQUENCE_NUMBER", last))),
        [
          5
        ]
      )
    }))

  it.effect("SequenceNumber: required with AT/AFTER, refused with TRIM_HORIZON/LATEST, inside the shard", () =>
    Effect.gen(function* () {
      const { h, arn } = oneShard()
      const [shard] = yield* h.shards(arn)
      const ask = (type: string, sequenceNumber?: string) =>
        h.failure("GetShardIterator", {
          StreamArn: arn,
          ShardId: shard.ShardId,
          ShardIteratorType: type,
          ...(sequenceNumber === undefined ? {} : { SequenceNumber: sequenceNumber })
        })
      const start = shard.SequenceNumberRange.StartingSequenceNumber as string
      for (
        const error of [
          yield* ask("AT_SEQUENCE_NUMBER"),
          yield* ask("AFTER_SEQUENCE_NUMBER"),
          yield* ask("LATEST", start),
          yield* ask("TRIM_HORIZON", start),
          yield* ask("BEFORE_SEQUENCE_NUMBER"),
          yield* ask("AT_SEQUENCE_NUMBER", (BigInt(start) - 1n).toString()),
          yield* ask("AT_SEQUENCE_NUMBER", "9".repeat(30)),
          yield* ask("AT_SEQUENCE_NUMBER", "12345"),
          yield* ask("AT_SEQUENCE_NUMBER", "x".repeat(25))
        ]
      ) assert.strictEqual(error.code, "ValidationException", error.message)
    }))

  it.effect("Limit pages, and must be 1 to 1000", () =>
    Effect.gen(function* () {
      const { h, arn } = oneShard()
      const [shard] = yield* h.shards(arn)
      const first = yield* h.call("GetRecords", { ShardIterator: yield* h.iterator(arn, shard.ShardId), Limit: 2 })
      assert.deepStrictEqual(values(first.Records), [0, 1])
      const second = yield* h.call("GetRecords", { ShardIterator: first.NextShardIterator, Limit: 2 })
      assert.deepStrictEqual(values(second.Records), [2, 3])
      assert.deepStrictEqual(values(yield* h.drain(second.NextShardIterator, 1000)), [4])
      const iter = yield* h.iterator(arn, shard.ShardId)
      for (const [limit, rule] of [[0, "greater than or equal to 1"], [1001, "less than or equal to 1000"], [-1, ""]]) {
        const error = yield* h.failure("GetRecords", { ShardIterator: iter, Limit: limit })
        assert.strictEqual(error.code, "ValidationException")
        assert.include(error.message, `at 'limit' failed to satisfy constraint: Member must have value ${rule}`)
      }
    }))

  it.effect("GetRecords returns at most 1 MB", () =>
    Effect.gen(function* () {
      const h = harness({ shardsPerStream: 1 })
      const { arn } = h.streams.enable(table(), "NEW_AND_OLD_IMAGES")
      const big = (v: number) => item("a", v, { blob: { S: "x".repeat(100_000) } })
      h.streams.append("orders", { keys: key("a"), newImage: big(0), routingKey: "a" })
      for (let v = 1; v < 12; v++) {
        h.streams.append("orders", { keys: key("a"), oldImage: big(v - 1), newImage: big(v), routingKey: "a" })
      }
      const [shard] = yield* h.shards(arn)
      const page = yield* h.call("GetRecords", { ShardIterator: yield* h.iterator(arn, shard.ShardId) })
      const bytes = new TextEncoder().encode(JSON.stringify(page.Records)).length
      assert.isTrue(page.Records.length > 1 && page.Records.length < 12, String(page.Records.length))
      assert.isAtMost(bytes, 1024 * 1024)
      const rest = yield* h.drain(page.NextShardIterator)
      assert.deepStrictEqual(values([...page.Records, ...rest]), Array.from({ length: 12 }, (_, v) => v))
    }))

  it.effect("an open shard with nothing new: empty Records and a NextShardIterator", () =>
    Effect.gen(function* () {
      const h = harness({ shardsPerStream: 1 })
      const { arn } = h.streams.enable(table(), "KEYS_ONLY")
      const [shard] = yield* h.shards(arn)
      const out = yield* h.call("GetRecords", { ShardIterator: yield* h.iterator(arn, shard.ShardId) })
      assert.deepStrictEqual(Object.keys(out), ["Records", "NextShardIterator"])
      assert.deepStrictEqual(out.Records, [])
      assert.isString(out.NextShardIterator)
    }))

  it.effect("a closed shard read to its end has no NextShardIterator at all", () =>
    Effect.gen(function* () {
      const { h, arn } = oneShard()
      const [shard] = yield* h.shards(arn)
      const iter = yield* h.iterator(arn, shard.ShardId)
      h.streams.disable("orders")
      const partial = yield* h.call("GetRecords", { ShardIterator: iter, Limit: 3 })
      assert.isString(partial.NextShardIterator)
      const end = yield* h.call("GetRecords", { ShardIterator: partial.NextShardIterator })
      assert.deepStrictEqual(values(end.Records), [3, 4])
      assert.deepStrictEqual(Object.keys(end), ["Records"])
      assert.notInclude(JSON.stringify(end), "NextShardIterator")
      const latest = yield* h.call("GetRecords", { ShardIterator: yield* h.iterator(arn, shard.ShardId, "LATEST") })
      assert.deepStrictEqual(latest, { Records: [] })
    }))

  it.effect("iterators expire after 15 minutes", () =>
    Effect.gen(function* () {
      const { h, arn } = oneShard()
      const [shard] = yield* h.shards(arn)
      const early = yield* h.iterator(arn, shard.ShardId)
      yield* h.advance(14 * MINUTE)
      const page = yield* h.call("GetRecords", { ShardIterator: early, Limit: 1 })
      const late = yield* h.iterator(arn, shard.ShardId)
      yield* h.advance(MINUTE)
      yield* h.call("GetRecords", { ShardIterator: early })
      yield* h.advance(1)
      const error = yield* h.failure("GetRecords", { ShardIterator: early })
      assert.strictEqual(error.code, "ExpiredIteratorException")
      assert.include(error.message, "tolerated delay of 900000 milliseconds")
      yield* h.call("GetRecords", { ShardIterator: late })
      yield* h.call("GetRecords", { ShardIterator: page.NextShardIterator })
      yield* h.advance(14 * MINUTE)
      assert.strictEqual((yield* h.failure("GetRecords", { ShardIterator: late })).code, "ExpiredIteratorException")
    }))

  it.effect("fault: expireIterators expires every iterator issued so far", () =>
    Effect.gen(function* () {
      const { h, arn } = oneShard()
      const [shard] = yield* h.shards(arn)
      const before = yield* h.iterator(arn, shard.ShardId)
      h.streams.expireIterators()
      assert.strictEqual((yield* h.failure("GetRecords", { ShardIterator: before })).code, "ExpiredIteratorException")
      assert.strictEqual((yield* h.drain(yield* h.iterator(arn, shard.ShardId))).length, 5)
    }))

  it.effect("malformed, foreign and tampered iterators are refused", () =>
    Effect.gen(function* () {
      const { h, arn } = oneShard()
      const other = harness({ shardsPerStream: 1 })
      const { arn: otherArn } = other.streams.enable(table(), "NEW_IMAGE")
      const [shard] = yield* h.shards(arn)
      const good = yield* h.iterator(arn, shard.ShardId)
      const [otherShard] = yield* other.shards(otherArn)
      const foreign = yield* other.iterator(otherArn, otherShard.ShardId)
      const h2 = h.streams.enable(table("invoices"), "NEW_IMAGE")
      const at = good.indexOf("|1|")
      const body = good.slice(at + 3)
      const flipped = body[10] === "A" ? "B" : "A"
      const tampered = [
        good.slice(0, at + 3) + body.slice(0, 10) + flipped + body.slice(11),
        h2.arn + good.slice(at),
        good.slice(0, -4),
        good + "AAAA"
      ]
      for (const token of ["sdfsdfsgagaddafgagasgasgasdfasdfasdfasdfasdgasdasdgasdg", foreign, ...tampered]) {
        const error = yield* h.failure("GetRecords", { ShardIterator: token })
        assert.strictEqual(error.code, "ValidationException")
        assert.strictEqual(error.message, "Invalid ShardIterator")
      }
      assert.strictEqual((yield* h.failure("GetRecords", {})).message.includes("Member must not be null"), true)
      const long = yield* h.failure("GetRecords", { ShardIterator: "x".repeat(2049) })
      assert.include(long.message, "at 'shardIterator' failed to satisfy constraint")
      h.streams.reset()
      assert.strictEqual((yield* h.failure("GetRecords", { ShardIterator: good })).message, "Invalid ShardIterator")
    }))

  it.effect("unknown streams and shards, malformed ARNs", () =>
    Effect.gen(function* () {
      const { h, arn } = oneShard()
      const unknown = `${table("nothing").arn}/stream/2026-01-14T10:18:50.622`
      const describe = yield* h.failure("DescribeStream", { StreamArn: unknown })
      assert.strictEqual(describe.code, "ResourceNotFoundException")
      assert.strictEqual(describe.message, `Requested resource not found: Stream: ${unknown} not found`)
      const shardId = "shardId-00000001768385930622-0000abcd"
      const missingStream = yield* h.failure("GetShardIterator", {
        StreamArn: unknown,
        ShardId: shardId,
        ShardIteratorType: "LATEST"
      })
      assert.strictEqual(missingStream.code, "ResourceNotFoundException")
      const missingShard = yield* h.failure("GetShardIterator", {
        StreamArn: arn,
        ShardId: shardId,
        ShardIteratorType: "LATEST"
      })
      assert.strictEqual(missingShard.code, "ResourceNotFoundException")
      assert.strictEqual(missingShard.message, "Requested resource not found: Shard does not exist")
      for (const bad of ["sdfadfsdfnlfkajakfgjalksfgklasjklasdjfklasdfasdfgasf", "short"]) {
        assert.strictEqual((yield* h.failure("DescribeStream", { StreamArn: bad })).code, "ValidationException")
      }
      assert.strictEqual((yield* h.failure("DescribeStream", {})).code, "ValidationException")
      const shortShard = yield* h.failure("GetShardIterator", {
        StreamArn: arn,
        ShardId: "shard",
        ShardIteratorType: "LATEST"
      })
      assert.strictEqual(shortShard.code, "ValidationException")
    }))
})
