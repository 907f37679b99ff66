import {
  CreateTableCommand,
  DeleteItemCommand,
  DescribeContinuousBackupsCommand,
  DescribeExportCommand,
  ExportTableToPointInTimeCommand,
  ListExportsCommand,
  PutItemCommand,
  TransactWriteItemsCommand,
  UpdateContinuousBackupsCommand,
  UpdateItemCommand,
  UpdateTimeToLiveCommand
} from "@aws-sdk/client-dynamodb"
import {
  type _Record,
  DescribeStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand
} from "@aws-sdk/client-dynamodb-streams"
import { CreateBucketCommand } from "@aws-sdk/client-s3"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Either, Stream } from "effect"
import { execFile } from "node:child_process"
import { promisify } from "node:util"
import * as EmulatorInstance from "../../emulator/EmulatorInstance.ts"
import * as NodeServer from "../../emulator/NodeServer.ts"
import * as ExportReader from "../../core/ExportReader.ts"
import * as ItemKey from "../../core/ItemKey.ts"
import * as DynamoJson from "../../core/DynamoJson.ts"
import { clients, s3ObjectStore } from "./support/sdk.ts"

const T0 = Date.UTC(2026, 0, 14, 10, 0, 0)
const MINUTE = 60_000

const start = Effect.gen(function* () {
  const instance = yield* EmulatorInstance.make({ clock: "virtual", startTimeMs: T0, exportDurationMs: 10 * MINUTE })
  const server = yield* NodeServer.serve(instance.emulator)
  return { instance, server, sdk: clients(server.url) }
})

const call = <A>(f: () => Promise<A>) => Effect.promise(f)
const attempt = <A>(f: () => Promise<A>) => Effect.either(Effect.tryPromise(f))

const setUp = (sdk: ReturnType<typeof clients>) =>
  call(async () => {
    const table = await sdk.dynamodb.send(
      new CreateTableCommand({
        TableName: "orders",
        AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }, {
          AttributeName: "sk",
          AttributeType: "N"
        }],
        KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }, { AttributeName: "sk", KeyType: "RANGE" }],
        BillingMode: "PAY_PER_REQUEST",
        StreamSpecification: { StreamEnabled: true, StreamViewType: "NEW_AND_OLD_IMAGES" }
      })
    )
    await sdk.dynamodb.send(
      new UpdateContinuousBackupsCommand({
        TableName: "orders",
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true }
      })
    )
    await sdk.s3.send(new CreateBucketCommand({ Bucket: "exports" }))
    return table.TableDescription!
  })

const readAll = (sdk: ReturnType<typeof clients>, streamArn: string) =>
  call(async () => {
    const description = await sdk.streams.send(new DescribeStreamCommand({ StreamArn: streamArn }))
    const records: Array<_Record> = []
    for (const shard of description.StreamDescription!.Shards!) {
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
    }
    return records
  })

const put = (sdk: ReturnType<typeof clients>, pk: string, sk: number, extra: Record<string, unknown> = {}) =>
  call(() =>
    sdk.dynamodb.send(
      new PutItemCommand({ TableName: "orders", Item: { pk: { S: pk }, sk: { N: String(sk) }, ...extra } as never })
    )
  )

describe("emulator", () => {
  it.scoped("records exactly one stream record per changed item, none for writes that change nothing", () =>
    Effect.gen(function* () {
      const { sdk } = yield* start
      const table = yield* setUp(sdk)
      yield* put(sdk, "a", 1, { n: { N: "1" } })
      yield* put(sdk, "a", 1, { n: { N: "1.0" } })
      yield* call(() =>
        sdk.dynamodb.send(
          new UpdateItemCommand({
            TableName: "orders",
            Key: { pk: { S: "a" }, sk: { N: "1" } },
            UpdateExpression: "SET n = n + :one",
            ExpressionAttributeValues: { ":one": { N: "1" } }
          })
        )
      )
      const failed = yield* attempt(() =>
        sdk.dynamodb.send(
          new PutItemCommand({
            TableName: "orders",
            Item: { pk: { S: "b" }, sk: { N: "1" } },
            ConditionExpression: "attribute_exists(pk)"
          })
        )
      )
      assert.isTrue(Either.isLeft(failed))
      yield* call(() =>
        sdk.dynamodb.send(new DeleteItemCommand({ TableName: "orders", Key: { pk: { S: "zz" }, sk: { N: "9" } } }))
      )
      yield* call(() =>
        sdk.dynamodb.send(new DeleteItemCommand({ TableName: "orders", Key: { pk: { S: "a" }, sk: { N: "1" } } }))
      )
      const records = yield* readAll(sdk, table.LatestStreamArn!)
      assert.deepStrictEqual(records.map((r) => r.eventName), ["INSERT", "MODIFY", "REMOVE"])
      assert.deepStrictEqual(records[1]!.dynamodb!.OldImage!.n, { N: "1" })
      assert.deepStrictEqual(records[1]!.dynamodb!.NewImage!.n, { N: "2" })
      assert.strictEqual(records[0]!.eventVersion, "1.1")
      assert.instanceOf(records[0]!.dynamodb!.ApproximateCreationDateTime, Date)
    }))

  it.scoped("a full export at a past time holds the table as it was then; an incremental one its changes", () =>
    Effect.gen(function* () {
      const { instance, sdk } = yield* start
      const table = yield* setUp(sdk)
      for (let i = 0; i < 20; i++) yield* put(sdk, `item${i}`, i, { v: { S: "first" } })
      yield* instance.clock.advance(5 * MINUTE)
      const exportTime = instance.clock.unsafeCurrentTimeMillis()
      yield* instance.clock.advance(MINUTE)
      for (let i = 0; i < 10; i++) yield* put(sdk, `item${i}`, i, { v: { S: "second" } })
      yield* call(() =>
        sdk.dynamodb.send(new DeleteItemCommand({ TableName: "orders", Key: { pk: { S: "item19" }, sk: { N: "19" } } }))
      )
      yield* instance.clock.advance(20 * MINUTE)

      const started = yield* call(() =>
        sdk.dynamodb.send(
          new ExportTableToPointInTimeCommand({
            TableArn: table.TableArn,
            S3Bucket: "exports",
            S3Prefix: "backfill",
            ExportTime: new Date(exportTime),
            ClientToken: "token-1"
          })
        )
      )
      assert.strictEqual(started.ExportDescription!.ExportStatus, "IN_PROGRESS")
      const again = yield* call(() =>
        sdk.dynamodb.send(
          new ExportTableToPointInTimeCommand({
            TableArn: table.TableArn,
            S3Bucket: "exports",
            S3Prefix: "backfill",
            ExportTime: new Date(exportTime),
            ClientToken: "token-1"
          })
        )
      )
      assert.strictEqual(again.ExportDescription!.ExportArn, started.ExportDescription!.ExportArn)
      const conflict = yield* attempt(() =>
        sdk.dynamodb.send(
          new ExportTableToPointInTimeCommand({ TableArn: table.TableArn, S3Bucket: "other", ClientToken: "token-1" })
        )
      )
      assert.strictEqual(
        Either.isLeft(conflict) && (conflict.left as { cause?: Error }).cause?.name,
        "ExportConflictException"
      )

      const incremental = yield* call(() =>
        sdk.dynamodb.send(
          new ExportTableToPointInTimeCommand({
            TableArn: table.TableArn,
            S3Bucket: "exports",
            ExportType: "INCREMENTAL_EXPORT",
            IncrementalExportSpecification: {
              ExportFromTime: new Date(exportTime),
              ExportToTime: new Date(exportTime + 20 * MINUTE),
              ExportViewType: "NEW_AND_OLD_IMAGES"
            }
          })
        )
      )
      yield* instance.clock.advance(10 * MINUTE)
      const done = yield* call(() =>
        sdk.dynamodb.send(new DescribeExportCommand({ ExportArn: started.ExportDescription!.ExportArn }))
      )
      assert.strictEqual(done.ExportDescription!.ExportStatus, "COMPLETED")
      assert.strictEqual(done.ExportDescription!.ItemCount, 20)

      const keySchema = ItemKey.make("pk", "sk")
      const read = (manifest: string) =>
        ExportReader.read(manifest, { keySchema }).pipe(
          Stream.runCollect,
          Effect.map(Chunk.toReadonlyArray),
          Effect.provide(s3ObjectStore(sdk.s3, "exports"))
        )
      const snapshot = yield* read(done.ExportDescription!.ExportManifest!)
      assert.strictEqual(snapshot.length, 20)
      for (const event of snapshot) {
        assert.strictEqual(event.op, "r")
        assert.deepStrictEqual(DynamoJson.encodeValue(event.newImage!.get("v")!), { S: "first" })
      }

      const changes = yield* read(
        (yield* call(() =>
          sdk.dynamodb.send(new DescribeExportCommand({ ExportArn: incremental.ExportDescription!.ExportArn }))
        )).ExportDescription!.ExportManifest!
      )
      const ops = changes.map((e) => e.op).sort().join("")
      assert.strictEqual(ops, "d" + "u".repeat(10))

      const listed = yield* call(() => sdk.dynamodb.send(new ListExportsCommand({ TableArn: table.TableArn })))
      assert.strictEqual(listed.ExportSummaries!.length, 2)
    }))

  it.scoped("export errors: PITR off, a time outside the window, a missing bucket (FAILED)", () =>
    Effect.gen(function* () {
      const { instance, sdk } = yield* start
      const table = yield* setUp(sdk)
      const outside = yield* attempt(() =>
        sdk.dynamodb.send(
          new ExportTableToPointInTimeCommand({
            TableArn: table.TableArn,
            S3Bucket: "exports",
            ExportTime: new Date(T0 - MINUTE)
          })
        )
      )
      assert.strictEqual(
        Either.isLeft(outside) && (outside.left as { cause?: Error }).cause?.name,
        "InvalidExportTimeException"
      )
      const missing = yield* call(() =>
        sdk.dynamodb.send(new ExportTableToPointInTimeCommand({ TableArn: table.TableArn, S3Bucket: "no-such-bucket" }))
      )
      yield* instance.clock.advance(11 * MINUTE)
      const failed = yield* call(() =>
        sdk.dynamodb.send(new DescribeExportCommand({ ExportArn: missing.ExportDescription!.ExportArn }))
      )
      assert.strictEqual(failed.ExportDescription!.ExportStatus, "FAILED")
      assert.strictEqual(failed.ExportDescription!.FailureCode, "S3NoSuchBucket")
      yield* call(() =>
        sdk.dynamodb.send(
          new UpdateContinuousBackupsCommand({
            TableName: "orders",
            PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: false }
          })
        )
      )
      const off = yield* attempt(() =>
        sdk.dynamodb.send(new ExportTableToPointInTimeCommand({ TableArn: table.TableArn, S3Bucket: "exports" }))
      )
      assert.strictEqual(
        Either.isLeft(off) && (off.left as { cause?: Error }).cause?.name,
        "PointInTimeRecoveryUnavailableException"
      )
      const backups = yield* call(() =>
        sdk.dynamodb.send(new DescribeContinuousBackupsCommand({ TableName: "orders" }))
      )
      assert.strictEqual(
        backups.ContinuousBackupsDescription!.PointInTimeRecoveryDescription!.PointInTimeRecoveryStatus,
        "DISABLED"
      )
    }))

  it.scoped("TransactWriteItems: all or nothing, one record per changed item", () =>
    Effect.gen(function* () {
      const { sdk } = yield* start
      const table = yield* setUp(sdk)
      yield* put(sdk, "a", 1, { n: { N: "10" } })
      yield* put(sdk, "b", 1, { n: { N: "0" } })
      yield* put(sdk, "c", 1)
      const transfer = (amount: number) =>
        new TransactWriteItemsCommand({
          TransactItems: [
            {
              Update: {
                TableName: "orders",
                Key: { pk: { S: "a" }, sk: { N: "1" } },
                UpdateExpression: "SET n = n - :x",
                ConditionExpression: "n >= :x",
                ExpressionAttributeValues: { ":x": { N: String(amount) } }
              }
            },
            {
              Update: {
                TableName: "orders",
                Key: { pk: { S: "b" }, sk: { N: "1" } },
                UpdateExpression: "SET n = n + :x",
                ExpressionAttributeValues: { ":x": { N: String(amount) } }
              }
            },
            { Put: { TableName: "orders", Item: { pk: { S: "log" }, sk: { N: String(amount) } } } },
            {
              ConditionCheck: {
                TableName: "orders",
                Key: { pk: { S: "c" }, sk: { N: "1" } },
                ConditionExpression: "attribute_exists(pk)"
              }
            }
          ]
        })
      yield* call(() => sdk.dynamodb.send(transfer(4)))
      const refused = yield* attempt(() => sdk.dynamodb.send(transfer(7)))
      assert.isTrue(Either.isLeft(refused))
      const error = Either.isLeft(refused)
        ? (refused.left as { cause?: { name: string; CancellationReasons?: Array<{ Code: string }> } }).cause
        : undefined
      assert.strictEqual(error?.name, "TransactionCanceledException")
      assert.deepStrictEqual(error?.CancellationReasons?.map((r) => r.Code), [
        "ConditionalCheckFailed",
        "None",
        "None",
        "None"
      ])
      const twice = yield* attempt(() =>
        sdk.dynamodb.send(
          new TransactWriteItemsCommand({
            TransactItems: [
              { Put: { TableName: "orders", Item: { pk: { S: "x" }, sk: { N: "1" } } } },
              { Delete: { TableName: "orders", Key: { pk: { S: "x" }, sk: { N: "1" } } } }
            ]
          })
        )
      )
      assert.isTrue(Either.isLeft(twice))
      const records = yield* readAll(sdk, table.LatestStreamArn!)
      const changes = records.map((r) =>
        `${r.eventName} ${r.dynamodb!.Keys!.pk!.S} ${r.dynamodb!.NewImage?.n?.N ?? "-"}`
      ).sort()
      assert.deepStrictEqual(changes, [
        "INSERT a 10",
        "INSERT b 0",
        "INSERT c -",
        "INSERT log -",
        "MODIFY a 6",
        "MODIFY b 4"
      ])
    }))

  it.scoped("TTL deletes carry the service's identity", () =>
    Effect.gen(function* () {
      const { instance, sdk } = yield* start
      const table = yield* setUp(sdk)
      yield* call(() =>
        sdk.dynamodb.send(
          new UpdateTimeToLiveCommand({
            TableName: "orders",
            TimeToLiveSpecification: { Enabled: true, AttributeName: "expires" }
          })
        )
      )
      yield* put(sdk, "old", 1, { expires: { N: String(T0 / 1000 + 60) } })
      yield* put(sdk, "young", 2, { expires: { N: String(T0 / 1000 + 86_400) } })
      yield* instance.clock.advance(2 * MINUTE)
      yield* instance.tick
      const records = yield* readAll(sdk, table.LatestStreamArn!)
      const removes = records.filter((r) => r.eventName === "REMOVE")
      assert.strictEqual(removes.length, 1)
      assert.deepStrictEqual(removes[0]!.dynamodb!.Keys, { pk: { S: "old" }, sk: { N: "1" } })
      assert.deepStrictEqual(removes[0]!.userIdentity, { PrincipalId: "dynamodb.amazonaws.com", Type: "Service" })
    }))

  it.scoped("the admin API moves the clock and shows which AWS actions a client used", () =>
    Effect.gen(function* () {
      const { server, sdk } = yield* start
      yield* setUp(sdk)
      const advanced = yield* call(() =>
        fetch(`${server.url}/_backstream/clock/advance`, { method: "POST", body: JSON.stringify({ ms: 3_600_000 }) })
          .then((r) => r.json())
      )
      assert.strictEqual(advanced.nowMs, T0 + 3_600_000)
      const log = yield* call(() => fetch(`${server.url}/_backstream/requests`).then((r) => r.json()))
      const actions = (log.requests as Array<{ action: string }>).map((r) => r.action)
      assert.deepStrictEqual(actions, ["dynamodb:CreateTable", "dynamodb:UpdateContinuousBackups", "s3:CreateBucket"])
    }))

  it.scoped("answers bad requests as AWS does", () =>
    Effect.gen(function* () {
      const { server } = yield* start
      const post = (target: string, body: string) =>
        call(() =>
          fetch(server.url, {
            method: "POST",
            headers: { "x-amz-target": target, "content-type": "application/x-amz-json-1.0" },
            body
          }).then(async (r) => ({ status: r.status, body: await r.json() }))
        )
      const unknown = yield* post("DynamoDB_20120810.Frobnicate", "{}")
      assert.strictEqual(unknown.status, 400)
      assert.match(unknown.body.__type, /#UnknownOperationException$/)
      const malformed = yield* post("DynamoDB_20120810.PutItem", "{not json")
      assert.strictEqual(malformed.status, 400)
      assert.match(malformed.body.__type, /#SerializationException$/)
      const noTable = yield* post(
        "DynamoDB_20120810.PutItem",
        JSON.stringify({ TableName: "nope", Item: { pk: { S: "a" } } })
      )
      assert.strictEqual(noTable.status, 400)
      assert.match(noTable.body.__type, /#ResourceNotFoundException$/)
    }))

  it.scoped("works with the AWS CLI", () =>
    Effect.gen(function* () {
      const { server, sdk } = yield* start
      yield* setUp(sdk)
      const aws = (...args: Array<string>) =>
        call(() =>
          promisify(execFile)("aws", ["--endpoint-url", server.url, "--output", "json", ...args], {
            env: {
              ...process.env,
              AWS_ACCESS_KEY_ID: "x",
              AWS_SECRET_ACCESS_KEY: "x",
              AWS_DEFAULT_REGION: "us-east-1",
              AWS_PAGER: ""
            }
          })
        )
      yield* aws("dynamodb", "put-item", "--table-name", "orders", "--item", `{"pk":{"S":"cli"},"sk":{"N":"1"}}`)
      const described = JSON.parse((yield* aws("dynamodb", "describe-table", "--table-name", "orders")).stdout)
      const stream = JSON.parse(
        (yield* aws("dynamodbstreams", "describe-stream", "--stream-arn", described.Table.LatestStreamArn)).stdout
      )
      assert.isAbove(stream.StreamDescription.Shards.length, 0)
      assert.strictEqual(stream.StreamDescription.StreamViewType, "NEW_AND_OLD_IMAGES")
    }), { timeout: 60_000 })
})
