/**
 * The contract of DynamoDB Streams and PITR exports, checked over HTTP only (the AWS SDK and the admin API under
 * `/_backstream`), so that it runs against any endpoint that serves both: the emulator in-process, the emulator as a
 * separate process, or anything else that can move its clock.
 */
import {
  CreateTableCommand,
  DeleteItemCommand,
  DescribeExportCommand,
  type ExportDescription,
  ExportTableToPointInTimeCommand,
  GetItemCommand,
  PutItemCommand,
  UpdateContinuousBackupsCommand,
  UpdateTimeToLiveCommand
} from "@aws-sdk/client-dynamodb"
import {
  type _Record,
  DescribeStreamCommand,
  ExpiredIteratorException,
  GetRecordsCommand,
  type GetRecordsCommandOutput,
  GetShardIteratorCommand,
  type Shard,
  type ShardIteratorType,
  TrimmedDataAccessException
} from "@aws-sdk/client-dynamodb-streams"
import { CreateBucketCommand } from "@aws-sdk/client-s3"
import { afterEach, assert, beforeEach, describe, it } from "@effect/vitest"
import { Chunk, Effect, Stream } from "effect"
import type { ChangeEvent } from "../../core/ChangeEvent.ts"
import * as DynamoJson from "../../core/DynamoJson.ts"
import * as ExportReader from "../../core/ExportReader.ts"
import * as ItemKey from "../../core/ItemKey.ts"
import { clients, s3ObjectStore } from "../emulator/support/sdk.ts"

/** An endpoint to check, and how to move its time and trigger its background work. */
export interface StreamsContractTarget {
  readonly url: string
  /** The endpoint's current time, in ms since the epoch. */
  readonly now: () => Promise<number>
  readonly advance: (ms: number) => Promise<void>
  /** Splits the open shard of the stream holding the most records into two children. */
  readonly split: (streamArn: string) => Promise<void>
  /** Deletes the items whose TTL has passed. */
  readonly expireTtl: () => Promise<void>
  /** Drops every table, stream, export and bucket. */
  readonly reset: () => Promise<void>
}

/** A target driven through the emulator's admin API at `url`. */
export const adminTarget = (url: string): StreamsContractTarget => {
  const admin = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${url}/_backstream${path}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } })
    })
    const text = await response.text()
    if (!response.ok) throw new Error(`admin ${method} ${path}: ${response.status} ${text}`)
    return JSON.parse(text) as Record<string, unknown>
  }
  return {
    url,
    now: async () => (await admin("GET", "/clock")).nowMs as number,
    advance: async (ms) => void (await admin("POST", "/clock/advance", { ms })),
    split: async (streamArn) => void (await admin("POST", "/streams/split", { streamArn })),
    expireTtl: async () => void (await admin("POST", "/ttl/expire")),
    reset: async () => void (await admin("POST", "/reset"))
  }
}

const SECOND = 1000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE
const keySchema = ItemKey.make("pk", "sk")

type Sdk = ReturnType<typeof clients>
type Wire = DynamoJson.WireItem

let counter = 0
const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${(counter++).toString(36)}`

const failure = (promise: Promise<unknown>): Promise<Error> =>
  promise.then(() => assert.fail("expected an error"), (error: unknown) => error as Error)

const createTable = async (sdk: Sdk) => {
  const name = unique("contract")
  const created = await sdk.dynamodb.send(
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }, { AttributeName: "sk", AttributeType: "N" }],
      KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }, { AttributeName: "sk", KeyType: "RANGE" }],
      BillingMode: "PAY_PER_REQUEST",
      StreamSpecification: { StreamEnabled: true, StreamViewType: "NEW_AND_OLD_IMAGES" }
    })
  )
  await sdk.dynamodb.send(
    new UpdateContinuousBackupsCommand({
      TableName: name,
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true }
    })
  )
  const description = created.TableDescription!
  return { name, arn: description.TableArn!, streamArn: description.LatestStreamArn! }
}

const item = (pk: string, sk: number, attributes: Wire = {}): Wire => ({
  pk: { S: pk },
  sk: { N: String(sk) },
  ...attributes
})

const put = (sdk: Sdk, table: string, value: Wire) =>
  sdk.dynamodb.send(new PutItemCommand({ TableName: table, Item: value as never }))

const remove = (sdk: Sdk, table: string, pk: string, sk: number) =>
  sdk.dynamodb.send(new DeleteItemCommand({ TableName: table, Key: { pk: { S: pk }, sk: { N: String(sk) } } }))

const keyOf = (keys: Record<string, { S?: string; N?: string }>) => `${keys.pk!.S}/${keys.sk!.N}`

/** Every shard of a stream, following `LastEvaluatedShardId`. */
const listShards = async (sdk: Sdk, streamArn: string) => {
  const shards: Array<Shard> = []
  let start: string | undefined
  do {
    const { StreamDescription: d } = await sdk.streams.send(
      new DescribeStreamCommand({
        StreamArn: streamArn,
        ...(start === undefined ? {} : { ExclusiveStartShardId: start })
      })
    )
    shards.push(...d!.Shards!)
    start = d!.LastEvaluatedShardId
  } while (start !== undefined)
  return shards
}

/** The shards ordered so that every parent comes before its children. */
const parentsFirst = (shards: ReadonlyArray<Shard>): Array<Shard> => {
  const byId = new Map(shards.map((shard) => [shard.ShardId!, shard]))
  const ordered: Array<Shard> = []
  const seen = new Set<string>()
  const visit = (shard: Shard) => {
    if (seen.has(shard.ShardId!)) return
    seen.add(shard.ShardId!)
    const parent = shard.ParentShardId === undefined ? undefined : byId.get(shard.ParentShardId)
    if (parent !== undefined) visit(parent)
    ordered.push(shard)
  }
  shards.forEach(visit)
  return ordered
}

const isClosed = (shard: Shard) => shard.SequenceNumberRange?.EndingSequenceNumber !== undefined

const iterator = async (
  sdk: Sdk,
  streamArn: string,
  shardId: string,
  type: ShardIteratorType,
  sequenceNumber?: string
) =>
  (await sdk.streams.send(
    new GetShardIteratorCommand({
      StreamArn: streamArn,
      ShardId: shardId,
      ShardIteratorType: type,
      ...(sequenceNumber === undefined ? {} : { SequenceNumber: sequenceNumber })
    })
  )).ShardIterator!

/**
 * A shard's records from `start`: a closed shard to its end (no `NextShardIterator`), an open one up to its first
 * empty page.
 */
const readShard = async (sdk: Sdk, start: string, closed: boolean) => {
  const records: Array<_Record> = []
  let next: string | undefined = start
  for (let page = 0; next !== undefined; page++) {
    if (page > 100) assert.fail("a shard never ended")
    const out: GetRecordsCommandOutput = await sdk.streams.send(new GetRecordsCommand({ ShardIterator: next }))
    records.push(...out.Records!)
    if (!closed && out.Records!.length === 0) return { records, next: out.NextShardIterator }
    next = out.NextShardIterator
  }
  return { records, next }
}

/** Every record of a stream, shard by shard, parents before children. */
const readStream = async (sdk: Sdk, streamArn: string) => {
  const records: Array<_Record> = []
  for (const shard of parentsFirst(await listShards(sdk, streamArn))) {
    const start = await iterator(sdk, streamArn, shard.ShardId!, "TRIM_HORIZON")
    records.push(...(await readShard(sdk, start, isClosed(shard))).records)
  }
  return records
}

/** Each item's changes in the order read: `INSERT v1`, `MODIFY v2`, `REMOVE -`. */
const perItem = (records: ReadonlyArray<_Record>) => {
  const changes = new Map<string, Array<string>>()
  for (const record of records) {
    const key = keyOf(record.dynamodb!.Keys as never)
    const list = changes.get(key) ?? []
    list.push(`${record.eventName} ${record.dynamodb!.NewImage?.v?.N ?? "-"}`)
    changes.set(key, list)
  }
  return changes
}

const waitForExport = async (sdk: Sdk, target: StreamsContractTarget, arn: string): Promise<ExportDescription> => {
  for (let attempt = 0; attempt < 30; attempt++) {
    const { ExportDescription: d } = await sdk.dynamodb.send(new DescribeExportCommand({ ExportArn: arn }))
    if (d!.ExportStatus !== "IN_PROGRESS") return d!
    await target.advance(MINUTE)
  }
  return assert.fail(`export ${arn} never finished`)
}

const readExport = (sdk: Sdk, bucket: string, manifest: string) =>
  Effect.runPromise(
    ExportReader.read(manifest, { keySchema }).pipe(
      Stream.runCollect,
      Effect.map(Chunk.toReadonlyArray),
      Effect.provide(s3ObjectStore(sdk.s3, bucket))
    )
  )

const wire = (event: ChangeEvent) => ({
  key: keyOf(DynamoJson.encodeItem(event.key!) as never),
  op: event.op,
  ...(event.oldImage === undefined ? {} : { oldImage: DynamoJson.encodeItem(event.oldImage) }),
  ...(event.newImage === undefined ? {} : { newImage: DynamoJson.encodeItem(event.newImage) })
})

const byKey = (rows: ReadonlyArray<{ readonly key: string }>) =>
  [...rows].sort((a, b) => a.key < b.key ? -1 : a.key > b.key ? 1 : 0)

/**
 * Registers the contract's tests. `target` is called inside each test, so it may name an endpoint started in a
 * `beforeAll`.
 */
export const testStreamsContract = (name: string, target: () => StreamsContractTarget) =>
  describe(`Streams and exports contract: ${name}`, () => {
    let sdk: Sdk
    beforeEach(async () => {
      await target().reset()
      sdk = clients(target().url)
    })
    afterEach(() => {
      sdk.dynamodb.destroy()
      sdk.streams.destroy()
      sdk.s3.destroy()
    })

    it("keeps shard lineage through roll-overs and splits; parents first, each item in order", async () => {
      const t = target()
      const table = await createTable(sdk)
      const keys = Array.from({ length: 12 }, (_, i) => i)
      const writeAll = (v: number) =>
        Promise.all(keys.map((i) => put(sdk, table.name, item(`item${i}`, i, { v: { N: String(v) } }))))
      await writeAll(1)
      await t.advance(4 * HOUR + MINUTE)
      await writeAll(2)
      await t.split(table.streamArn)
      await writeAll(3)
      await t.advance(4 * HOUR + MINUTE)
      await writeAll(4)
      await remove(sdk, table.name, "item0", 0)

      const shards = await listShards(sdk, table.streamArn)
      const byId = new Map(shards.map((shard) => [shard.ShardId!, shard]))
      const children = new Map<string, Array<Shard>>()
      for (const shard of shards) {
        if (shard.ParentShardId === undefined) continue
        const parent = byId.get(shard.ParentShardId)
        assert.isDefined(parent, `the parent of ${shard.ShardId} is listed`)
        assert.isTrue(isClosed(parent!), `the parent ${parent!.ShardId} is closed`)
        assert.isTrue(
          BigInt(shard.SequenceNumberRange!.StartingSequenceNumber!)
            > BigInt(parent!.SequenceNumberRange!.EndingSequenceNumber!),
          `${shard.ShardId} starts after its parent ends`
        )
        children.set(parent!.ShardId!, [...(children.get(parent!.ShardId!) ?? []), shard])
      }
      for (const shard of shards) {
        if (!isClosed(shard)) continue
        const range = shard.SequenceNumberRange!
        assert.isTrue(BigInt(range.StartingSequenceNumber!) <= BigInt(range.EndingSequenceNumber!))
      }
      const roots = shards.filter((shard) => shard.ParentShardId === undefined)
      assert.isAbove(roots.length, 0)
      assert.isTrue([...children.values()].some((list) => list.length === 2), "a split shard has two children")
      assert.isTrue([...children.values()].some((list) => list.length === 1), "a rolled-over shard has one child")
      const depth = (shard: Shard): number =>
        shard.ParentShardId === undefined || !byId.has(shard.ParentShardId)
          ? 0
          : 1 + depth(byId.get(shard.ParentShardId)!)
      assert.isAtLeast(Math.max(...shards.map(depth)), 2, "two generations of children")
      assert.isTrue(shards.some((shard) => !isClosed(shard)), "open shards remain")

      const records = await readStream(sdk, table.streamArn)
      const changes = perItem(records)
      assert.strictEqual(changes.size, keys.length)
      for (const i of keys) {
        const expected = ["INSERT 1", "MODIFY 2", "MODIFY 3", "MODIFY 4", ...(i === 0 ? ["REMOVE -"] : [])]
        assert.deepStrictEqual(changes.get(`item${i}/${i}`), expected, `item${i}`)
      }
      const lastSequence = new Map<string, bigint>()
      for (const record of records) {
        const key = keyOf(record.dynamodb!.Keys as never)
        const sequence = BigInt(record.dynamodb!.SequenceNumber!)
        assert.isTrue((lastSequence.get(key) ?? -1n) < sequence, `${key}: sequence numbers grow`)
        lastSequence.set(key, sequence)
      }
    })

    it("shapes a closed shard (ending sequence number, no next iterator) and an empty open one", async () => {
      const t = target()
      const table = await createTable(sdk)
      await put(sdk, table.name, item("a", 1, { v: { N: "1" } }))
      const before = await listShards(sdk, table.streamArn)
      assert.isTrue(before.every((shard) => !isClosed(shard)), "every shard is open at first")
      for (const shard of before) {
        assert.isDefined(shard.SequenceNumberRange?.StartingSequenceNumber)
        assert.isUndefined(shard.SequenceNumberRange?.EndingSequenceNumber)
      }
      await t.advance(4 * HOUR + MINUTE)

      const shards = await listShards(sdk, table.streamArn)
      const closed = shards.filter(isClosed)
      const open = shards.filter((shard) => !isClosed(shard))
      assert.deepStrictEqual(closed.map((shard) => shard.ShardId).sort(), before.map((shard) => shard.ShardId).sort())
      assert.strictEqual(open.length, before.length)
      for (const shard of open) {
        assert.include(before.map((s) => s.ShardId), shard.ParentShardId, "a rolled-over shard's child")
      }

      let found = 0
      for (const shard of closed) {
        const start = await iterator(sdk, table.streamArn, shard.ShardId!, "TRIM_HORIZON")
        const { records, next } = await readShard(sdk, start, true)
        assert.isUndefined(next, "a closed shard ends without a next iterator")
        found += records.length
      }
      assert.strictEqual(found, 1)

      for (const shard of open) {
        const start = await iterator(sdk, table.streamArn, shard.ShardId!, "TRIM_HORIZON")
        const first = await sdk.streams.send(new GetRecordsCommand({ ShardIterator: start }))
        assert.deepStrictEqual(first.Records, [])
        assert.isString(first.NextShardIterator, "an empty open shard still gives a next iterator")
        const second = await sdk.streams.send(new GetRecordsCommand({ ShardIterator: first.NextShardIterator }))
        assert.deepStrictEqual(second.Records, [])
        assert.isString(second.NextShardIterator)
      }
    })

    it("serves all four iterator types", async () => {
      const table = await createTable(sdk)
      for (let v = 1; v <= 3; v++) await put(sdk, table.name, item("same", 1, { v: { N: String(v) } }))
      const shards = await listShards(sdk, table.streamArn)
      let shardId: string | undefined
      let all: Array<_Record> = []
      for (const shard of shards) {
        const start = await iterator(sdk, table.streamArn, shard.ShardId!, "TRIM_HORIZON")
        const { records } = await readShard(sdk, start, false)
        if (records.length > 0) {
          shardId = shard.ShardId
          all = records
        }
      }
      assert.isDefined(shardId, "the records of one item share a shard")
      assert.deepStrictEqual(all.map((r) => r.dynamodb!.NewImage!.v!.N), ["1", "2", "3"])
      const second = all[1]!.dynamodb!.SequenceNumber!
      const values = async (type: ShardIteratorType, sequenceNumber?: string) => {
        const start = await iterator(sdk, table.streamArn, shardId!, type, sequenceNumber)
        return (await readShard(sdk, start, false)).records.map((r) => r.dynamodb!.NewImage!.v!.N)
      }
      assert.deepStrictEqual(await values("TRIM_HORIZON"), ["1", "2", "3"])
      assert.deepStrictEqual(await values("AT_SEQUENCE_NUMBER", second), ["2", "3"])
      assert.deepStrictEqual(await values("AFTER_SEQUENCE_NUMBER", second), ["3"])
      const latest = await iterator(sdk, table.streamArn, shardId!, "LATEST")
      await put(sdk, table.name, item("same", 1, { v: { N: "4" } }))
      const fromLatest = await readShard(sdk, latest, false)
      assert.deepStrictEqual(fromLatest.records.map((r) => r.dynamodb!.NewImage!.v!.N), ["4"])
    })

    it("answers TrimmedDataAccessException for records older than 24 hours", async () => {
      const t = target()
      const table = await createTable(sdk)
      await put(sdk, table.name, item("old", 1, { v: { N: "1" } }))
      const [written] = await readStream(sdk, table.streamArn)
      const sequence = written!.dynamodb!.SequenceNumber!
      const shards = await listShards(sdk, table.streamArn)
      await t.advance(12 * HOUR)
      await put(sdk, table.name, item("young", 2, { v: { N: "2" } }))
      await t.advance(12 * HOUR + MINUTE)

      let trimmed = 0
      for (const shard of shards) {
        const error = await failure(iterator(sdk, table.streamArn, shard.ShardId!, "AT_SEQUENCE_NUMBER", sequence))
        if (error instanceof TrimmedDataAccessException) trimmed++
      }
      assert.strictEqual(trimmed, 1, "the shard that held the record answers TrimmedDataAccessException")
      const left = perItem(await readStream(sdk, table.streamArn))
      assert.deepStrictEqual([...left.keys()], ["young/2"])
    })

    it("answers ExpiredIteratorException for an iterator older than 15 minutes", async () => {
      const t = target()
      const table = await createTable(sdk)
      await put(sdk, table.name, item("a", 1, { v: { N: "1" } }))
      const [shard] = await listShards(sdk, table.streamArn)
      const early = await iterator(sdk, table.streamArn, shard!.ShardId!, "TRIM_HORIZON")
      const late = await iterator(sdk, table.streamArn, shard!.ShardId!, "TRIM_HORIZON")
      await t.advance(15 * MINUTE - SECOND)
      const still = await sdk.streams.send(new GetRecordsCommand({ ShardIterator: early }))
      assert.isArray(still.Records)
      await t.advance(2 * SECOND)
      const error = await failure(sdk.streams.send(new GetRecordsCommand({ ShardIterator: late })))
      assert.instanceOf(error, ExpiredIteratorException)
      assert.strictEqual(error.name, "ExpiredIteratorException")
      const fresh = await sdk.streams.send(new GetRecordsCommand({ ShardIterator: still.NextShardIterator }))
      assert.isArray(fresh.Records, "the iterator a read returns is new")
    })

    it("FULL_EXPORT at a past time = the table then; INCREMENTAL_EXPORT = its window's changes", async () => {
      const t = target()
      const table = await createTable(sdk)
      const bucket = unique("exports")
      await sdk.s3.send(new CreateBucketCommand({ Bucket: bucket }))
      const first = Array.from({ length: 20 }, (_, i) => item(`item${i}`, i, { v: { S: "first" }, n: { N: `${i}` } }))
      for (const value of first) await put(sdk, table.name, value)
      await t.advance(5 * MINUTE)
      const exportTime = await t.now()
      await t.advance(MINUTE)
      const second = first.slice(0, 10).map((value) => ({ ...value, v: { S: "second" } }))
      for (const value of second) await put(sdk, table.name, value)
      await remove(sdk, table.name, "item19", 19)
      const added = item("item20", 20, { v: { S: "new" } })
      await put(sdk, table.name, added)
      const twice = { ...second[0]!, v: { S: "third" } }
      await t.advance(MINUTE)
      await put(sdk, table.name, twice)
      await t.advance(19 * MINUTE)
      await put(sdk, table.name, { ...first[15]!, v: { S: "after the window" } })
      await t.advance(MINUTE)

      const full = await sdk.dynamodb.send(
        new ExportTableToPointInTimeCommand({
          TableArn: table.arn,
          S3Bucket: bucket,
          S3Prefix: "full",
          ExportTime: new Date(exportTime),
          ExportFormat: "DYNAMODB_JSON"
        })
      )
      const incremental = await sdk.dynamodb.send(
        new ExportTableToPointInTimeCommand({
          TableArn: table.arn,
          S3Bucket: bucket,
          S3Prefix: "incremental",
          ExportType: "INCREMENTAL_EXPORT",
          IncrementalExportSpecification: {
            ExportFromTime: new Date(exportTime),
            ExportToTime: new Date(exportTime + 20 * MINUTE),
            ExportViewType: "NEW_AND_OLD_IMAGES"
          }
        })
      )
      assert.strictEqual(full.ExportDescription!.ExportStatus, "IN_PROGRESS")
      assert.strictEqual(incremental.ExportDescription!.ExportType, "INCREMENTAL_EXPORT")

      const fullDone = await waitForExport(sdk, t, full.ExportDescription!.ExportArn!)
      assert.strictEqual(fullDone.ExportStatus, "COMPLETED")
      assert.strictEqual(fullDone.ItemCount, 20)
      assert.deepStrictEqual(fullDone.ExportTime, new Date(exportTime))
      const snapshot = (await readExport(sdk, bucket, fullDone.ExportManifest!)).map(wire)
      assert.deepStrictEqual(
        byKey(snapshot),
        byKey(first.map((value) => ({ key: keyOf(value as never), op: "r" as const, newImage: value })))
      )

      const incrementalDone = await waitForExport(sdk, t, incremental.ExportDescription!.ExportArn!)
      assert.strictEqual(incrementalDone.ExportStatus, "COMPLETED")
      const changes = (await readExport(sdk, bucket, incrementalDone.ExportManifest!)).map(wire)
      const expected = [
        { key: "item0/0", op: "u" as const, oldImage: first[0]!, newImage: twice },
        ...second.slice(1).map((value, i) => ({
          key: keyOf(value as never),
          op: "u" as const,
          oldImage: first[i + 1]!,
          newImage: value
        })),
        { key: "item19/19", op: "d" as const, oldImage: first[19]! },
        { key: "item20/20", op: "c" as const, newImage: added }
      ]
      assert.deepStrictEqual(byKey(changes), byKey(expected))
    })

    it("marks TTL deletes with the service's identity", async () => {
      const t = target()
      const table = await createTable(sdk)
      await sdk.dynamodb.send(
        new UpdateTimeToLiveCommand({
          TableName: table.name,
          TimeToLiveSpecification: { Enabled: true, AttributeName: "expires" }
        })
      )
      const nowSeconds = Math.floor((await t.now()) / SECOND)
      const old = item("old", 1, { expires: { N: String(nowSeconds + 60) } })
      await put(sdk, table.name, old)
      await put(sdk, table.name, item("young", 2, { expires: { N: String(nowSeconds + 86_400) } }))
      await remove(sdk, table.name, "young", 2)
      await put(sdk, table.name, item("young", 2, { expires: { N: String(nowSeconds + 86_400) } }))
      await t.advance(2 * MINUTE)
      await t.expireTtl()

      const gone = await sdk.dynamodb.send(
        new GetItemCommand({ TableName: table.name, Key: { pk: { S: "old" }, sk: { N: "1" } } })
      )
      assert.isUndefined(gone.Item)
      const removes = (await readStream(sdk, table.streamArn)).filter((r) => r.eventName === "REMOVE")
      assert.strictEqual(removes.length, 2)
      const byTtl = removes.filter((r) => r.userIdentity !== undefined)
      assert.strictEqual(byTtl.length, 1, "a user's delete carries no identity")
      assert.deepStrictEqual(byTtl[0]!.userIdentity, { Type: "Service", PrincipalId: "dynamodb.amazonaws.com" })
      assert.deepStrictEqual(byTtl[0]!.dynamodb!.Keys, { pk: { S: "old" }, sk: { N: "1" } })
      assert.deepStrictEqual(byTtl[0]!.dynamodb!.OldImage, old as never)
      assert.isUndefined(byTtl[0]!.dynamodb!.NewImage)
    })

    it("makes ExportTableToPointInTime idempotent by ClientToken", async () => {
      const table = await createTable(sdk)
      const bucket = unique("exports")
      await sdk.s3.send(new CreateBucketCommand({ Bucket: bucket }))
      await put(sdk, table.name, item("a", 1))
      const token = unique("token")
      const start = (prefix: string) =>
        sdk.dynamodb.send(
          new ExportTableToPointInTimeCommand({
            TableArn: table.arn,
            S3Bucket: bucket,
            S3Prefix: prefix,
            ClientToken: token
          })
        )
      const first = await start("same")
      const again = await start("same")
      assert.strictEqual(again.ExportDescription!.ExportArn, first.ExportDescription!.ExportArn)
      const conflict = await failure(start("other"))
      assert.strictEqual(conflict.name, "ExportConflictException")
      const other = await sdk.dynamodb.send(
        new ExportTableToPointInTimeCommand({
          TableArn: table.arn,
          S3Bucket: bucket,
          S3Prefix: "same",
          ClientToken: unique("token")
        })
      )
      assert.notStrictEqual(other.ExportDescription!.ExportArn, first.ExportDescription!.ExportArn)
    })
  })
