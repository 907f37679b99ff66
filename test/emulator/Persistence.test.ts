import {
  CreateTableCommand,
  DeleteItemCommand,
  DescribeContinuousBackupsCommand,
  DescribeExportCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  ExportTableToPointInTimeCommand,
  GetItemCommand,
  ListExportsCommand,
  ListTagsOfResourceCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  UpdateContinuousBackupsCommand,
  UpdateTimeToLiveCommand
} from "@aws-sdk/client-dynamodb"
import {
  type _Record,
  DescribeStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListStreamsCommand
} from "@aws-sdk/client-dynamodb-streams"
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { gunzipSync } from "node:zlib"
import * as EmulatorInstance from "../../emulator/EmulatorInstance.ts"
import * as NodeServer from "../../emulator/NodeServer.ts"
import * as Persistence from "../../emulator/Persistence.ts"
import { repoRoot } from "../support/fixtures.ts"
import { clients } from "./support/sdk.ts"

const root = repoRoot
const T0 = Date.UTC(2026, 0, 14, 10, 0, 0)
const MINUTE = 60_000
const HOUR = 60 * MINUTE
const config = { clock: "virtual", startTimeMs: T0, exportDurationMs: 10 * MINUTE } as const

type Sdk = ReturnType<typeof clients>
// deno-lint-ignore no-explicit-any
type Json = any

const call = <A>(f: () => Promise<A>) => Effect.promise(f)

const byKey = (items: ReadonlyArray<Json>) =>
  [...items].sort((a, b) => (JSON.stringify([a.pk, a.sk]) < JSON.stringify([b.pk, b.sk]) ? -1 : 1))

/** SDK items as DynamoDB JSON (binary values as base64), to compare with an export's lines. */
const wire = (items: ReadonlyArray<Json>): Array<Json> =>
  JSON.parse(JSON.stringify(items, (_, v) => (v instanceof Uint8Array ? Buffer.from(v).toString("base64") : v)))

const scan = (sdk: Sdk) =>
  call(async () => byKey((await sdk.dynamodb.send(new ScanCommand({ TableName: "orders" }))).Items!))

const put = (sdk: Sdk, pk: string, sk: number, extra: Record<string, unknown> = {}) =>
  call(() =>
    sdk.dynamodb.send(
      new PutItemCommand({ TableName: "orders", Item: { pk: { S: pk }, sk: { N: String(sk) }, ...extra } as never })
    )
  )

const admin = (url: string, route: string, body: unknown) =>
  call(async () => {
    const response = await fetch(`${url}/_backstream/${route}`, { method: "POST", body: JSON.stringify(body) })
    return await response.json() as Json
  })

const streamRecords = (sdk: Sdk, streamArn: string) =>
  call(async () => {
    const description = await sdk.streams.send(new DescribeStreamCommand({ StreamArn: streamArn }))
    const shards: Array<{ shardId: string; records: Array<_Record> }> = []
    for (const shard of description.StreamDescription!.Shards!) {
      const records: Array<_Record> = []
      let iterator = (await sdk.streams.send(
        new GetShardIteratorCommand({
          StreamArn: streamArn,
          ShardId: shard.ShardId!,
          ShardIteratorType: "TRIM_HORIZON"
        })
      )).ShardIterator
      while (iterator !== undefined) {
        const page = await sdk.streams.send(new GetRecordsCommand({ ShardIterator: iterator }))
        records.push(...page.Records!)
        if (page.Records!.length === 0) break
        iterator = page.NextShardIterator
      }
      shards.push({ shardId: shard.ShardId!, records })
    }
    return { description: description.StreamDescription!, shards }
  })

const objects = (sdk: Sdk, bucket: string) =>
  call(async () => {
    const listed = await sdk.s3.send(new ListObjectsV2Command({ Bucket: bucket }))
    const out: Array<Json> = []
    for (const object of listed.Contents ?? []) {
      const got = await sdk.s3.send(new GetObjectCommand({ Bucket: bucket, Key: object.Key! }))
      out.push({
        key: object.Key,
        etag: object.ETag,
        size: object.Size,
        lastModified: object.LastModified?.getTime(),
        contentType: got.ContentType,
        bytes: Array.from(await got.Body!.transformToByteArray())
      })
    }
    return out
  })

const exportedItems = (sdk: Sdk, exportArn: string) =>
  call(async () => {
    const id = exportArn.slice(exportArn.lastIndexOf("/") + 1)
    const listed = await sdk.s3.send(new ListObjectsV2Command({ Bucket: "exports", Prefix: `AWSDynamoDB/${id}/data/` }))
    const items: Array<Json> = []
    for (const object of listed.Contents ?? []) {
      const got = await sdk.s3.send(new GetObjectCommand({ Bucket: "exports", Key: object.Key! }))
      const text = gunzipSync(await got.Body!.transformToByteArray()).toString("utf8")
      for (const line of text.split("\n")) if (line !== "") items.push(JSON.parse(line).Item)
    }
    return byKey(items)
  })

const describeExport = (sdk: Sdk, arn: string) =>
  call(async () => (await sdk.dynamodb.send(new DescribeExportCommand({ ExportArn: arn }))).ExportDescription!)

/** Builds up every kind of state on an emulator, through HTTP. */
const history = (instance: EmulatorInstance.EmulatorInstance, url: string, sdk: Sdk) =>
  Effect.gen(function* () {
    const created = yield* call(() =>
      sdk.dynamodb.send(
        new CreateTableCommand({
          TableName: "orders",
          AttributeDefinitions: [
            { AttributeName: "pk", AttributeType: "S" },
            { AttributeName: "sk", AttributeType: "N" },
            { AttributeName: "status", AttributeType: "S" }
          ],
          KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }, { AttributeName: "sk", KeyType: "RANGE" }],
          GlobalSecondaryIndexes: [{
            IndexName: "by-status",
            KeySchema: [{ AttributeName: "status", KeyType: "HASH" }],
            Projection: { ProjectionType: "ALL" }
          }],
          BillingMode: "PAY_PER_REQUEST",
          StreamSpecification: { StreamEnabled: true, StreamViewType: "NEW_AND_OLD_IMAGES" },
          Tags: [{ Key: "team", Value: "data" }]
        })
      )
    )
    const table = created.TableDescription!
    yield* call(() =>
      sdk.dynamodb.send(
        new UpdateContinuousBackupsCommand({
          TableName: "orders",
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true }
        })
      )
    )
    yield* call(() =>
      sdk.dynamodb.send(
        new UpdateTimeToLiveCommand({
          TableName: "orders",
          TimeToLiveSpecification: { Enabled: true, AttributeName: "expiresAt" }
        })
      )
    )
    yield* call(() => sdk.s3.send(new CreateBucketCommand({ Bucket: "exports" })))
    yield* call(() => sdk.s3.send(new CreateBucketCommand({ Bucket: "blobs" })))
    yield* call(() =>
      sdk.s3.send(
        new PutObjectCommand({
          Bucket: "blobs",
          Key: "bin/all-bytes",
          Body: Uint8Array.from({ length: 256 }, (_, i) => i),
          ContentType: "application/octet-stream"
        })
      )
    )
    yield* call(() => sdk.s3.send(new PutObjectCommand({ Bucket: "blobs", Key: "notes/é ü.txt", Body: "hello" })))
    for (let i = 0; i < 20; i++) {
      yield* put(sdk, `order-${i}`, i, {
        status: { S: i % 2 === 0 ? "open" : "closed" },
        blob: { B: new Uint8Array([i, 255 - i]) },
        total: { N: `${i}.50` }
      })
    }
    yield* instance.clock.advance(5 * MINUTE)
    const pastMs = instance.clock.unsafeCurrentTimeMillis()
    const itemsThen = yield* scan(sdk)
    yield* instance.clock.advance(MINUTE)
    for (let i = 0; i < 5; i++) yield* put(sdk, `order-${i}`, i, { status: { S: "closed" } })
    for (const i of [18, 19]) {
      yield* call(() =>
        sdk.dynamodb.send(
          new DeleteItemCommand({ TableName: "orders", Key: { pk: { S: `order-${i}` }, sk: { N: String(i) } } })
        )
      )
    }
    const split = yield* admin(url, "streams/split", { streamArn: table.LatestStreamArn })
    assert.strictEqual(split.children.length, 2)
    for (let i = 20; i < 30; i++) yield* put(sdk, `order-${i}`, i, { status: { S: "open" } })
    const completed = yield* call(() =>
      sdk.dynamodb.send(
        new ExportTableToPointInTimeCommand({ TableArn: table.TableArn, S3Bucket: "exports", ClientToken: "first" })
      )
    )
    yield* admin(url, "clock/advance", { ms: 11 * MINUTE })
    assert.strictEqual((yield* describeExport(sdk, completed.ExportDescription!.ExportArn!)).ExportStatus, "COMPLETED")
    yield* admin(url, "clock/advance", { ms: 5 * HOUR })
    for (let i = 30; i < 35; i++) yield* put(sdk, `order-${i}`, i, { status: { S: "open" } })
    const running = yield* call(() =>
      sdk.dynamodb.send(new ExportTableToPointInTimeCommand({ TableArn: table.TableArn, S3Bucket: "exports" }))
    )
    assert.strictEqual(running.ExportDescription!.ExportStatus, "IN_PROGRESS")
    return {
      table,
      pastMs,
      itemsThen,
      completedArn: completed.ExportDescription!.ExportArn!,
      runningArn: running.ExportDescription!.ExportArn!
    }
  })

/** Everything a client sees of an emulator, read over HTTP. */
const view = (url: string, sdk: Sdk, streamArn: string) =>
  Effect.gen(function* () {
    const listedExports = yield* call(() => sdk.dynamodb.send(new ListExportsCommand({})))
    const exports: Array<Json> = []
    for (const summary of listedExports.ExportSummaries!) exports.push(yield* describeExport(sdk, summary.ExportArn!))
    const described = yield* call(() => sdk.dynamodb.send(new DescribeTableCommand({ TableName: "orders" })))
    return {
      clock: yield* call(async () => await (await fetch(`${url}/_backstream/clock`)).json()),
      items: yield* scan(sdk),
      item: (yield* call(() =>
        sdk.dynamodb.send(
          new GetItemCommand({ TableName: "orders", Key: { pk: { S: "order-3" }, sk: { N: "3" } } })
        )
      )).Item,
      open: byKey(
        (yield* call(() =>
          sdk.dynamodb.send(
            new QueryCommand({
              TableName: "orders",
              IndexName: "by-status",
              KeyConditionExpression: "#s = :open",
              ExpressionAttributeNames: { "#s": "status" },
              ExpressionAttributeValues: { ":open": { S: "open" } }
            })
          )
        )).Items!
      ),
      table: described.Table,
      backups: (yield* call(() => sdk.dynamodb.send(new DescribeContinuousBackupsCommand({ TableName: "orders" }))))
        .ContinuousBackupsDescription,
      ttl: (yield* call(() => sdk.dynamodb.send(new DescribeTimeToLiveCommand({ TableName: "orders" }))))
        .TimeToLiveDescription,
      tags: (yield* call(() =>
        sdk.dynamodb.send(new ListTagsOfResourceCommand({ ResourceArn: described.Table!.TableArn! }))
      )).Tags,
      streams: (yield* call(() =>
        sdk.streams.send(new ListStreamsCommand({}))
      )).Streams,
      stream: yield* streamRecords(sdk, streamArn),
      exports,
      blobs: yield* objects(sdk, "blobs"),
      exportFiles: yield* objects(sdk, "exports")
    }
  })

const roundTrip = (instance: EmulatorInstance.EmulatorInstance) =>
  Effect.gen(function* () {
    const saved = yield* Persistence.snapshot(instance)
    const decoded = yield* Persistence.decode(Persistence.encode(saved))
    return { saved, restored: yield* EmulatorInstance.fromSnapshot(decoded, config) }
  })

describe("emulator persistence", () => {
  it.scoped("a snapshot restored into a fresh emulator serves the same tables, streams, exports, S3 and time", () =>
    Effect.gen(function* () {
      const a = yield* EmulatorInstance.make(config)
      const serverA = yield* NodeServer.serve(a.emulator)
      const sdkA = clients(serverA.url)
      const { completedArn, itemsThen, pastMs, runningArn, table } = yield* history(a, serverA.url, sdkA)

      const firstShard = (yield* call(() =>
        sdkA.streams.send(new DescribeStreamCommand({ StreamArn: table.LatestStreamArn! }))
      )).StreamDescription!.Shards![0]!.ShardId!
      const issuedBefore = (yield* call(() =>
        sdkA.streams.send(
          new GetShardIteratorCommand({
            StreamArn: table.LatestStreamArn!,
            ShardId: firstShard,
            ShardIteratorType: "TRIM_HORIZON"
          })
        )
      )).ShardIterator!
      const readBefore = yield* call(() => sdkA.streams.send(new GetRecordsCommand({ ShardIterator: issuedBefore })))

      const { restored: b, saved } = yield* roundTrip(a)
      assert.deepStrictEqual(yield* Persistence.snapshot(b), saved)
      const serverB = yield* NodeServer.serve(b.emulator)
      const sdkB = clients(serverB.url)
      // An iterator issued before the save still reads the same records after the restore.
      const readAfter = yield* call(() => sdkB.streams.send(new GetRecordsCommand({ ShardIterator: issuedBefore })))
      assert.deepStrictEqual(readAfter.Records, readBefore.Records)

      const before = yield* view(serverA.url, sdkA, table.LatestStreamArn!)
      const after = yield* view(serverB.url, sdkB, table.LatestStreamArn!)
      assert.deepStrictEqual(after, before)
      assert.strictEqual(after.items.length, 33)
      assert.isTrue(after.stream.description.Shards!.length > 4, "splits and roll-overs are kept")
      assert.strictEqual(after.stream.shards.reduce((n, shard) => n + shard.records.length, 0), 20 + 5 + 2 + 10 + 5)
      assert.deepStrictEqual(after.exports.map((e) => e.ExportStatus), ["COMPLETED", "IN_PROGRESS"])
      assert.strictEqual(after.blobs[0].bytes.length, 256)

      // PITR after the restart: an export at a time before it holds the table as it was then.
      const past = yield* call(() =>
        sdkB.dynamodb.send(
          new ExportTableToPointInTimeCommand({
            TableArn: table.TableArn,
            S3Bucket: "exports",
            ExportTime: new Date(pastMs)
          })
        )
      )
      yield* admin(serverB.url, "clock/advance", { ms: 11 * MINUTE })
      assert.strictEqual((yield* describeExport(sdkB, past.ExportDescription!.ExportArn!)).ExportStatus, "COMPLETED")
      assert.deepStrictEqual(yield* exportedItems(sdkB, past.ExportDescription!.ExportArn!), wire(itemsThen))
      // The export that was running when the state was saved completes after the restart, with the table then.
      assert.strictEqual((yield* describeExport(sdkB, runningArn)).ExportStatus, "COMPLETED")
      assert.deepStrictEqual(yield* exportedItems(sdkB, runningArn), wire(after.items))
      assert.strictEqual((yield* exportedItems(sdkB, completedArn)).length, 28)

      // New writes continue the streams: one new record, with a sequence number above every earlier one.
      yield* put(sdkB, "order-new", 1)
      const continued = yield* streamRecords(sdkB, table.LatestStreamArn!)
      const all = continued.shards.flatMap((shard) => shard.records)
      assert.strictEqual(all.length, 43)
      const newest = all.find((record) => record.dynamodb!.Keys!.pk!.S === "order-new")!
      const highest = after.stream.shards.flatMap((shard) => shard.records)
        .map((record) => BigInt(record.dynamodb!.SequenceNumber!))
        .reduce((a, b) => (a > b ? a : b))
      assert.isTrue(BigInt(newest.dynamodb!.SequenceNumber!) > highest)
    }))

  it.scoped("restoring writes no stream record and no history of its own", () =>
    Effect.gen(function* () {
      const a = yield* EmulatorInstance.make(config)
      const server = yield* NodeServer.serve(a.emulator)
      yield* history(a, server.url, clients(server.url))
      const { restored: b, saved } = yield* roundTrip(a)
      const after = yield* Persistence.snapshot(b)
      assert.deepStrictEqual(after.history, saved.history)
      assert.deepStrictEqual(after.streams, saved.streams)
    }))

  it.effect("a state restores only into an empty emulator", () =>
    Effect.gen(function* () {
      const a = yield* EmulatorInstance.make(config)
      yield* a.s3.createBucket("x")
      const saved = yield* Persistence.snapshot(a)
      const error = yield* Effect.flip(Persistence.restore(a, saved))
      assert.include(error.message, "empty emulator")
    }))

  it("decode refuses what is not a saved state, saying why", () => {
    const reason = (text: string) =>
      Either.match(Persistence.decode(text), { onLeft: (e) => e.message, onRight: () => "" })
    assert.include(reason("{"), "not JSON")
    assert.include(reason(JSON.stringify({ tables: [] })), "not a saved emulator state")
    assert.include(reason(JSON.stringify({ format: Persistence.FORMAT, version: 99 })), "format version 99")
    assert.include(
      reason(
        JSON.stringify({ format: Persistence.FORMAT, version: Persistence.VERSION, clock: { mode: "real", nowMs: 1 } })
      ),
      "tables must be an array"
    )
  })

  it.scoped("watchChanges sees writes and moves of time, not reads", () =>
    Effect.gen(function* () {
      const a = yield* EmulatorInstance.make(config)
      const server = yield* NodeServer.serve(a.emulator)
      const sdk = clients(server.url)
      const changed = Persistence.watchChanges(a)
      assert.isFalse(changed())
      yield* call(() => sdk.s3.send(new CreateBucketCommand({ Bucket: "bucket" })))
      assert.isTrue(changed())
      assert.isFalse(changed())
      yield* call(() => sdk.s3.send(new ListObjectsV2Command({ Bucket: "bucket" })))
      assert.isFalse(changed())
      yield* admin(server.url, "clock/advance", { ms: 1000 })
      assert.isTrue(changed())
      yield* call(() => fetch(`${server.url}/_backstream/requests`, { method: "DELETE" }))
      assert.isFalse(changed())
      yield* call(() => sdk.s3.send(new PutObjectCommand({ Bucket: "bucket", Key: "k", Body: "v" })))
      assert.isTrue(changed())
    }))
})

/** Starts `backstream emulator` and resolves with its URL, read from the first line it prints. */
const startCli = (args: ReadonlyArray<string>) =>
  new Promise<{ child: ChildProcess; url: string; output: () => string }>((resolve, reject) => {
    const child = spawn(process.execPath, ["bin/backstream.mjs", "emulator", ...args], {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"]
    })
    let output = "", errors = ""
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      output += chunk
      const url = /(http:\/\/\S+)/.exec(output)?.[1]
      if (url !== undefined && output.includes("\n")) resolve({ child, url, output: () => output })
    })
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (errors += chunk))
    child.on("exit", (code) => reject(new Error(`the emulator exited (${code}): ${errors}`)))
    child.on("error", reject)
  })

const stop = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    child.once("exit", (code) => resolve(code))
    child.kill("SIGTERM")
  })

describe("emulator --data-dir on the command line", () => {
  it("keeps tables, streams, S3 objects and the virtual time across a restart", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "backstream-state-"))
    const args = ["--port", "0", "--clock", "virtual", "--data-dir", dir]
    const running: Array<ChildProcess> = []
    try {
      const first = await startCli(args)
      running.push(first.child)
      const sdk = clients(first.url)
      const table = await sdk.dynamodb.send(
        new CreateTableCommand({
          TableName: "orders",
          AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }, {
            AttributeName: "sk",
            AttributeType: "N"
          }],
          KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }, { AttributeName: "sk", KeyType: "RANGE" }],
          BillingMode: "PAY_PER_REQUEST",
          StreamSpecification: { StreamEnabled: true, StreamViewType: "NEW_IMAGE" }
        })
      )
      for (let i = 0; i < 5; i++) {
        await sdk.dynamodb.send(
          new PutItemCommand({ TableName: "orders", Item: { pk: { S: `k${i}` }, sk: { N: String(i) } } })
        )
      }
      await sdk.s3.send(new CreateBucketCommand({ Bucket: "blobs" }))
      await sdk.s3.send(new PutObjectCommand({ Bucket: "blobs", Key: "a/b", Body: "persisted" }))
      const moved = await (await fetch(`${first.url}/_backstream/clock/advance`, {
        method: "POST",
        body: JSON.stringify({ ms: HOUR })
      })).json() as { nowMs: number }
      const records = await Effect.runPromise(streamRecords(sdk, table.TableDescription!.LatestStreamArn!))
      assert.strictEqual(await stop(first.child), 0)
      assert.include(first.output(), `state saved to ${path.join(dir, "state.json")}`)

      const second = await startCli(args)
      running.push(second.child)
      assert.include(second.output(), "state restored from")
      const sdk2 = clients(second.url)
      const item = await sdk2.dynamodb.send(
        new GetItemCommand({ TableName: "orders", Key: { pk: { S: "k3" }, sk: { N: "3" } } })
      )
      assert.deepStrictEqual(item.Item, { pk: { S: "k3" }, sk: { N: "3" } })
      const clock = await (await fetch(`${second.url}/_backstream/clock`)).json() as { nowMs: number }
      assert.strictEqual(clock.nowMs, moved.nowMs)
      const object = await sdk2.s3.send(new GetObjectCommand({ Bucket: "blobs", Key: "a/b" }))
      assert.strictEqual(await object.Body!.transformToString(), "persisted")
      const again = await Effect.runPromise(streamRecords(sdk2, table.TableDescription!.LatestStreamArn!))
      assert.deepStrictEqual(again, records)
      assert.strictEqual(await stop(second.child), 0)
    } finally {
      for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)
})
