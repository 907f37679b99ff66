/**
 * The contract of the `StreamSource` port, run against the AWS adapter over HTTP: the emulator (in-process or as a
 * process) and moto_server. Setup goes through the plain AWS SDK; the emulator's clock and faults through its admin
 * API. What a server does not model is skipped there, with the reason in the test's name.
 */
import type { AttributeValue as SdkValue } from "@aws-sdk/client-dynamodb"
import { afterEach, assert, beforeEach, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as AwsStreamSource from "../../adapters/aws/AwsStreamSource.ts"
import * as A from "../../core/AttributeValue.ts"
import * as SequenceNumber from "../../core/SequenceNumber.ts"
import { type IteratorStart, type RecordsPage, type StreamRecord, StreamSource } from "../../core/StreamSource.ts"
import {
  type AwsTarget,
  clientsLayer,
  type CreatedTable,
  type Server,
  type Setup,
  setup,
  unlessOn
} from "./AwsTarget.ts"

const MINUTE = 60_000
const HOUR = 60 * MINUTE

const bytes = Uint8Array.from({ length: 256 }, (_, i) => i)
const BIG = "12345678901234567890123456789012345678"
const FRACTION = "-98765432109876543210.987654321098765432"

/** An item with every type: 38-digit numbers, every byte value, sets, nested maps and lists. */
const richWire = (flag: boolean): Record<string, SdkValue> => ({
  pk: { S: "rich" },
  sk: { N: "1" },
  big: { N: BIG },
  fraction: { N: FRACTION },
  binary: { B: bytes },
  empty: { S: "" },
  flag: { BOOL: flag },
  nothing: { NULL: true },
  strings: { SS: ["a", "é", "😀"] },
  numbers: { NS: ["1", "-2.5", BIG] },
  blobs: { BS: [Uint8Array.of(0), Uint8Array.of(255, 1)] },
  nested: {
    M: {
      list: { L: [{ S: "x" }, { N: "3" }, { NULL: true }, { BOOL: false }, { M: { deep: { B: bytes } } }] },
      none: { M: {} },
      "odd name.$": { L: [] }
    }
  }
})

const richItem = (flag: boolean): A.Item =>
  A.item({
    pk: A.s("rich"),
    sk: A.n("1"),
    big: A.n(BIG),
    fraction: A.n(FRACTION),
    binary: A.b(bytes),
    empty: A.s(""),
    flag: A.bool(flag),
    nothing: A.nul,
    strings: A.ss(["a", "é", "😀"]),
    numbers: A.ns(["1", "-2.5", BIG]),
    blobs: A.bs([Uint8Array.of(0), Uint8Array.of(255, 1)]),
    nested: A.m(A.item({
      list: A.l([A.s("x"), A.n("3"), A.nul, A.bool(false), A.m(A.item({ deep: A.b(bytes) }))]),
      none: A.m(A.item({})),
      "odd name.$": A.l([])
    }))
  })

const key = (pk: string, sk: number): Record<string, SdkValue> => ({ pk: { S: pk }, sk: { N: String(sk) } })
const versioned = (pk: string, v: number): Record<string, SdkValue> => ({ ...key(pk, 1), v: { N: String(v) } })

const versionOf = (record: StreamRecord) => {
  const v = record.newImage?.get("v")
  return v?._tag === "N" ? v.value : "-"
}

/** Every shard of a stream, following `lastEvaluatedShardId`, `limit` at a time. */
const allShards = (source: StreamSource["Type"], streamArn: string, limit?: number) =>
  Effect.gen(function* () {
    const shards = []
    let start: string | undefined
    for (let page = 0;; page++) {
      if (page > 100) return assert.fail("DescribeStream never ended")
      const d = yield* source.describeStream({
        streamArn,
        ...(start === undefined ? {} : { exclusiveStartShardId: start }),
        ...(limit === undefined ? {} : { limit })
      })
      if (limit !== undefined) assert.isAtMost(d.shards.length, limit)
      shards.push(...d.shards)
      start = d.lastEvaluatedShardId
      if (start === undefined) return shards
    }
  })

/** An open shard's records from `iterator` up to its first empty page (or a closed shard's, to its end). */
const readShard = (source: StreamSource["Type"], iterator: string, limit?: number) =>
  Effect.gen(function* () {
    const records: Array<StreamRecord> = []
    let next: string | undefined = iterator
    for (let page = 0; next !== undefined; page++) {
      if (page > 100) return assert.fail("a shard never ended")
      const out: RecordsPage = yield* source.getRecords({ iterator: next, ...(limit === undefined ? {} : { limit }) })
      if (limit !== undefined) assert.isAtMost(out.records.length, limit)
      records.push(...out.records)
      if (out.records.length === 0) return { records, next: out.nextIterator }
      next = out.nextIterator
    }
    return { records, next }
  })

const iterator = (source: StreamSource["Type"], streamArn: string, shardId: string, start: IteratorStart) =>
  source.getShardIterator({ streamArn, shardId, start })

/** The stream's records, shard by shard, each with its shard. */
const readStream = (source: StreamSource["Type"], streamArn: string) =>
  Effect.gen(function* () {
    const out: Array<{ readonly shardId: string; readonly record: StreamRecord }> = []
    for (const shard of yield* allShards(source, streamArn)) {
      const start = yield* iterator(source, streamArn, shard.shardId, { type: "TRIM_HORIZON" })
      for (const record of (yield* readShard(source, start)).records) out.push({ shardId: shard.shardId, record })
    }
    return out
  })

export const testStreamSource = (name: string, server: Server, target: () => AwsTarget) =>
  describe(`StreamSource contract: ${name}`, () => {
    let s: Setup
    beforeEach(() => {
      s = setup(target().url)
    })
    afterEach(async () => {
      s.destroy()
      await target().admin?.clearFaults()
    })

    const run = <A, E>(body: (source: StreamSource["Type"]) => Effect.Effect<A, E>) =>
      Effect.flatMap(StreamSource, body).pipe(
        Effect.provide(AwsStreamSource.layer.pipe(Layer.provide(clientsLayer(target()))))
      )
    const table = (view: "NEW_AND_OLD_IMAGES" | "NEW_IMAGE" | "KEYS_ONLY" = "NEW_AND_OLD_IMAGES") =>
      Effect.promise(() => s.createTable({ view })) as Effect.Effect<CreatedTable & { readonly streamArn: string }>
    const put = (tableName: string, item: Record<string, SdkValue>) => Effect.promise(() => s.put(tableName, item))
    const admin = () => target().admin!
    const emulatorOnly = server === "moto" ? it.live.skip : it.live

    it.live("lists a table's stream", () =>
      run((source) =>
        Effect.gen(function* () {
          const t = yield* table()
          const listed = yield* source.listStreams({ tableName: t.name })
          assert.strictEqual(listed.streams.length, 1)
          assert.strictEqual(listed.streams[0]!.streamArn, t.streamArn)
          assert.strictEqual(listed.streams[0]!.tableName, t.name)
          assert.isNotEmpty(listed.streams[0]!.streamLabel)
          assert.isUndefined(listed.lastEvaluatedStreamArn)
        })
      ))

    emulatorOnly(
      unlessOn(server, "moto", "pages ListStreams by limit and exclusiveStartStreamArn", "moto ignores Limit"),
      () =>
        run((source) =>
          Effect.gen(function* () {
            const tables = [yield* table(), yield* table(), yield* table()]
            const seen: Array<string> = []
            let start: string | undefined
            for (let page = 0;; page++) {
              if (page > 1000) return assert.fail("ListStreams never ended")
              const listed = yield* source.listStreams({
                limit: 2,
                ...(start === undefined ? {} : { exclusiveStartStreamArn: start })
              })
              assert.isAtMost(listed.streams.length, 2)
              seen.push(...listed.streams.map((stream) => stream.streamArn))
              start = listed.lastEvaluatedStreamArn
              if (start === undefined) break
            }
            assert.strictEqual(new Set(seen).size, seen.length, "no stream twice")
            for (const t of tables) assert.include(seen, t.streamArn)
          })
        )
    )

    it.live("describes a stream: view type, key schema, shards page by page", () =>
      run((source) =>
        Effect.gen(function* () {
          const t = yield* table("NEW_IMAGE")
          const d = yield* source.describeStream({ streamArn: t.streamArn })
          assert.strictEqual(d.streamArn, t.streamArn)
          assert.strictEqual(d.tableName, t.name)
          assert.strictEqual(d.status, "ENABLED")
          assert.strictEqual(d.viewType, "NEW_IMAGE")
          assert.deepStrictEqual(d.keySchema, { hash: { name: "pk" }, range: { name: "sk" } })
          assert.isTrue(Number.isFinite(d.creationTimeMs) && d.creationTimeMs > 0)
          assert.isAbove(d.shards.length, 0)
          for (const shard of d.shards) {
            assert.isTrue(SequenceNumber.isSequenceNumber(shard.startingSequenceNumber))
            assert.isUndefined(shard.endingSequenceNumber, "a new stream's shards are open")
          }
          const paged = yield* allShards(source, t.streamArn, 1)
          assert.deepStrictEqual(paged, yield* allShards(source, t.streamArn))
        })
      ))

    it.live("reads records with all four iterator types and GetRecords' limit", () =>
      run((source) =>
        Effect.gen(function* () {
          const t = yield* table()
          for (let v = 1; v <= 3; v++) yield* put(t.name, versioned("same", v))
          const read = yield* readStream(source, t.streamArn)
          assert.deepStrictEqual(read.map(({ record }) => versionOf(record)), ["1", "2", "3"])
          const shardId = read[0]!.shardId
          assert.isTrue(read.every((r) => r.shardId === shardId), "one item's records share a shard")
          const second = read[1]!.record.sequenceNumber
          const values = (start: IteratorStart, limit?: number) =>
            Effect.flatMap(
              iterator(source, t.streamArn, shardId, start),
              (it) => Effect.map(readShard(source, it, limit), ({ records }) => records.map(versionOf))
            )
          assert.deepStrictEqual(yield* values({ type: "TRIM_HORIZON" }, 1), ["1", "2", "3"])
          assert.deepStrictEqual(yield* values({ type: "AT_SEQUENCE_NUMBER", sequenceNumber: second }), ["2", "3"])
          assert.deepStrictEqual(yield* values({ type: "AFTER_SEQUENCE_NUMBER", sequenceNumber: second }), ["3"])
          const latest = yield* iterator(source, t.streamArn, shardId, { type: "LATEST" })
          yield* put(t.name, versioned("same", 4))
          assert.deepStrictEqual((yield* readShard(source, latest)).records.map(versionOf), ["4"])
          const sequence = read.map(({ record }) => record.sequenceNumber)
          for (let i = 1; i < sequence.length; i++) {
            assert.strictEqual(SequenceNumber.compare(sequence[i - 1]!, sequence[i]!), -1, "sequence numbers grow")
          }
        })
      ))

    it.live("decodes records to exact values: 38-digit numbers, bytes, sets, nested maps", () =>
      run((source) =>
        Effect.gen(function* () {
          const t = yield* table()
          yield* put(t.name, richWire(true))
          yield* put(t.name, richWire(false))
          yield* Effect.promise(() => s.remove(t.name, key("rich", 1)))
          const records = (yield* readStream(source, t.streamArn)).map(({ record }) => record)
          assert.deepStrictEqual(records.map((r) => r.eventName), ["INSERT", "MODIFY", "REMOVE"])
          const [insert, modify, remove] = records as [StreamRecord, StreamRecord, StreamRecord]
          for (const record of records) {
            assert.isTrue(A.itemEquals(record.keys, A.item({ pk: A.s("rich"), sk: A.n("1") })))
            assert.isString(record.eventId)
            assert.isTrue(Number.isFinite(record.approximateCreationTimeMs))
            assert.isAbove(record.sizeBytes, 0)
            assert.isUndefined(record.userIdentity)
          }
          assert.isTrue(A.itemEquals(insert.newImage!, richItem(true)), "INSERT's new image")
          assert.isUndefined(insert.oldImage)
          assert.isTrue(A.itemEquals(modify.oldImage!, richItem(true)), "MODIFY's old image")
          assert.isTrue(A.itemEquals(modify.newImage!, richItem(false)), "MODIFY's new image")
          assert.isTrue(A.itemEquals(remove.oldImage!, richItem(false)), "REMOVE's old image")
          assert.isUndefined(remove.newImage)
          assert.deepStrictEqual(insert.newImage!.get("big"), A.n(BIG), "the number's text is kept exactly")
          assert.deepStrictEqual(insert.newImage!.get("fraction"), A.n(FRACTION))
          assert.deepStrictEqual(insert.newImage!.get("binary"), A.b(bytes))
        })
      ))

    emulatorOnly(
      unlessOn(server, "moto", "ends a closed shard without a next iterator", "moto never closes a shard"),
      () =>
        run((source) =>
          Effect.gen(function* () {
            const t = yield* table()
            yield* put(t.name, versioned("a", 1))
            yield* Effect.promise(() => admin().advance(4 * HOUR + MINUTE))
            const shards = yield* allShards(source, t.streamArn)
            const closed = shards.filter((shard) => shard.endingSequenceNumber !== undefined)
            assert.isAbove(closed.length, 0)
            for (const child of shards.filter((shard) => shard.endingSequenceNumber === undefined)) {
              assert.include(closed.map((shard) => shard.shardId), child.parentShardId, "a rolled-over shard's child")
            }
            let found = 0
            for (const shard of closed) {
              const start = yield* iterator(source, t.streamArn, shard.shardId, { type: "TRIM_HORIZON" })
              let next: string | undefined = start
              for (let page = 0; next !== undefined; page++) {
                if (page > 100) return assert.fail("a closed shard never ended")
                const out: RecordsPage = yield* source.getRecords({ iterator: next })
                found += out.records.length
                next = out.nextIterator
              }
            }
            assert.strictEqual(found, 1)
          })
        )
    )

    it.live("fails with NotFound for an unknown stream", () =>
      run((source) =>
        Effect.gen(function* () {
          const t = yield* table()
          const shardId = (yield* allShards(source, t.streamArn))[0]!.shardId
          const missing = t.streamArn.replace(`table/${t.name}/`, `table/${t.name}-missing/`)
          const described = yield* Effect.flip(source.describeStream({ streamArn: missing }))
          assert.strictEqual(described._tag, "NotFound")
          assert.include(described, { resource: "stream", name: missing, action: "dynamodb:DescribeStream" })
          const iterated = yield* Effect.flip(iterator(source, missing, shardId, { type: "TRIM_HORIZON" }))
          assert.strictEqual(iterated._tag, "NotFound")
          assert.include(iterated, { resource: "stream", action: "dynamodb:GetShardIterator" })
        })
      ))

    emulatorOnly(
      unlessOn(server, "moto", "fails with NotFound for an unknown shard", "moto answers 500"),
      () =>
        run((source) =>
          Effect.gen(function* () {
            const t = yield* table()
            const shardId = "shardId-00000001700000000000-deadbeef"
            const error = yield* Effect.flip(iterator(source, t.streamArn, shardId, { type: "TRIM_HORIZON" }))
            assert.strictEqual(error._tag, "NotFound")
            assert.include(error, { resource: "shard", name: shardId })
          })
        )
    )

    emulatorOnly(
      unlessOn(
        server,
        "moto",
        "fails with InvalidRequest for a malformed iterator or a limit out of range",
        "moto answers 500 to a malformed iterator and accepts any limit"
      ),
      () =>
        run((source) =>
          Effect.gen(function* () {
            const malformed = yield* Effect.flip(source.getRecords({ iterator: "not-an-iterator" }))
            assert.strictEqual(malformed._tag, "InvalidRequest")
            assert.include(malformed, { action: "dynamodb:GetRecords", code: "ValidationException" })
            const t = yield* table()
            const shardId = (yield* allShards(source, t.streamArn))[0]!.shardId
            const it = yield* iterator(source, t.streamArn, shardId, { type: "TRIM_HORIZON" })
            const limit = yield* Effect.flip(source.getRecords({ iterator: it, limit: 1001 }))
            assert.strictEqual(limit._tag, "InvalidRequest")
          })
        )
    )

    emulatorOnly(
      unlessOn(server, "moto", "fails with ExpiredIterator after 15 minutes", "needs the emulator's clock"),
      () =>
        run((source) =>
          Effect.gen(function* () {
            const t = yield* table()
            const shardId = (yield* allShards(source, t.streamArn))[0]!.shardId
            const it = yield* iterator(source, t.streamArn, shardId, { type: "TRIM_HORIZON" })
            yield* Effect.promise(() => admin().advance(16 * MINUTE))
            const error = yield* Effect.flip(source.getRecords({ iterator: it }))
            assert.strictEqual(error._tag, "ExpiredIterator")
          })
        )
    )

    emulatorOnly(
      unlessOn(server, "moto", "fails with TrimmedData for records older than 24 hours", "needs the emulator's clock"),
      () =>
        run((source) =>
          Effect.gen(function* () {
            const t = yield* table()
            yield* put(t.name, versioned("old", 1))
            const [written] = yield* readStream(source, t.streamArn)
            yield* Effect.promise(() => admin().advance(25 * HOUR))
            const error = yield* Effect.flip(
              iterator(source, t.streamArn, written!.shardId, {
                type: "AT_SEQUENCE_NUMBER",
                sequenceNumber: written!.record.sequenceNumber
              })
            )
            assert.strictEqual(error._tag, "TrimmedData")
            assert.include(error, { shardId: written!.shardId })
          })
        )
    )

    emulatorOnly(
      unlessOn(
        server,
        "moto",
        "maps injected faults: throttling, 500, 503, AccessDenied",
        "moto has no fault injection"
      ),
      () =>
        run((source) =>
          Effect.gen(function* () {
            const t = yield* table()
            yield* Effect.promise(() => admin().addFault({ kind: "throttle", action: "DescribeStream", times: 1 }))
            const throttled = yield* Effect.flip(source.describeStream({ streamArn: t.streamArn }))
            assert.strictEqual(throttled._tag, "Throttled")
            assert.include(throttled, { action: "dynamodb:DescribeStream" })
            yield* source.describeStream({ streamArn: t.streamArn })

            yield* Effect.promise(() => admin().addFault({ kind: "error500", action: "ListStreams", times: 1 }))
            const failed = yield* Effect.flip(source.listStreams({ tableName: t.name }))
            assert.strictEqual(failed._tag, "Unavailable")
            assert.include(failed, { action: "dynamodb:ListStreams" })

            const shardId = (yield* allShards(source, t.streamArn))[0]!.shardId
            const it = yield* iterator(source, t.streamArn, shardId, { type: "TRIM_HORIZON" })
            yield* Effect.promise(() => admin().addFault({ kind: "error503", action: "GetRecords", times: 1 }))
            const unavailable = yield* Effect.flip(source.getRecords({ iterator: it }))
            assert.strictEqual(unavailable._tag, "Unavailable")
            yield* Effect.promise(() => admin().addFault({ kind: "throttle", action: "GetRecords", times: 1 }))
            const limited = yield* Effect.flip(source.getRecords({ iterator: it }))
            assert.strictEqual(limited._tag, "Throttled")
            assert.include(limited, { action: "dynamodb:GetRecords" })
            assert.isArray((yield* source.getRecords({ iterator: it })).records, "the iterator still works")
            yield* Effect.promise(() => admin().addFault({ kind: "access-denied", action: "GetRecords", times: 1 }))
            assert.include(yield* Effect.flip(source.getRecords({ iterator: it })), {
              _tag: "AccessDenied",
              action: "dynamodb:GetRecords"
            })
            yield* Effect.promise(() => admin().addFault({ kind: "access-denied", action: "ListStreams", times: 1 }))
            assert.include(yield* Effect.flip(source.listStreams({})), {
              _tag: "AccessDenied",
              action: "dynamodb:ListStreams"
            })
          })
        )
    )
  })
