import {
  CreateTableCommand,
  DescribeExportCommand,
  DynamoDBClient,
  ExportTableToPointInTimeCommand,
  PutItemCommand,
  UpdateContinuousBackupsCommand
} from "@aws-sdk/client-dynamodb"
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand
} from "@aws-sdk/client-dynamodb-streams"
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Stream } from "effect"
import * as ExportReader from "../../core/ExportReader.ts"
import * as ItemKey from "../../core/ItemKey.ts"
import * as EmulatorInstance from "../../emulator/EmulatorInstance.ts"
import type { LoggedRequest } from "../../emulator/Emulator.ts"
import * as NodeServer from "../../emulator/NodeServer.ts"
import { s3ObjectStore } from "./support/sdk.ts"

const T0 = Date.UTC(2026, 0, 14, 10, 0, 0)
const MINUTE = 60_000
const credentials = { accessKeyId: "test", secretAccessKey: "test" }

interface SdkError {
  readonly name: string
  readonly $metadata: { readonly httpStatusCode?: number }
}

const start = Effect.gen(function* () {
  const instance = yield* EmulatorInstance.make({ clock: "virtual", startTimeMs: T0, exportDurationMs: MINUTE })
  const server = yield* NodeServer.serve(instance.emulator)
  // One attempt: the SDK's retries would hide the faults.
  const options = { endpoint: server.url, region: "us-east-1", credentials, maxAttempts: 1 }
  const sdk = {
    dynamodb: new DynamoDBClient(options),
    streams: new DynamoDBStreamsClient(options),
    s3: new S3Client({ ...options, forcePathStyle: true })
  }
  yield* Effect.addFinalizer(() =>
    Effect.sync(() => {
      sdk.dynamodb.destroy()
      sdk.streams.destroy()
      sdk.s3.destroy()
    })
  )
  const admin = (method: string, path: string, body?: unknown) =>
    Effect.promise(async () => {
      const response = await fetch(`${server.url}/_backstream${path}`, {
        method,
        ...(body === undefined ? {} : { body: JSON.stringify(body) })
      })
      return { status: response.status, body: await response.json() as Record<string, unknown> }
    })
  const addFault = (rule: Record<string, unknown>) =>
    Effect.map(admin("POST", "/faults", rule), (answer) => answer.body.id as string)
  const requests = Effect.map(admin("GET", "/requests"), (answer) => answer.body.requests as Array<LoggedRequest>)
  return { instance, sdk, admin, addFault, requests }
})

const call = <A>(f: () => Promise<A>) => Effect.promise(f)
const failure = (f: () => Promise<unknown>) =>
  Effect.promise(() => f().then(() => assert.fail("expected an error"), (error: unknown) => error as SdkError))
const realSleep = (ms: number) => Effect.promise(() => new Promise((resolve) => setTimeout(resolve, ms)))

const createTable = (sdk: { dynamodb: DynamoDBClient }) =>
  call(() =>
    sdk.dynamodb.send(
      new CreateTableCommand({
        TableName: "orders",
        AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
        KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
        BillingMode: "PAY_PER_REQUEST",
        StreamSpecification: { StreamEnabled: true, StreamViewType: "NEW_AND_OLD_IMAGES" }
      })
    )
  ).pipe(Effect.map((created) => created.TableDescription!))

const putItem = (sdk: { dynamodb: DynamoDBClient }, pk: string) => () =>
  sdk.dynamodb.send(new PutItemCommand({ TableName: "orders", Item: { pk: { S: pk } } }))

describe("fault injection", () => {
  it.scoped("throttles GetRecords on one shard only, with LimitExceededException", () =>
    Effect.gen(function* () {
      const { sdk, addFault, requests } = yield* start
      const table = yield* createTable(sdk)
      const described = yield* call(() =>
        sdk.streams.send(new DescribeStreamCommand({ StreamArn: table.LatestStreamArn! }))
      )
      const [first, second] = described.StreamDescription!.Shards!.map((shard) => shard.ShardId!)
      assert.isDefined(second)
      yield* addFault({ kind: "throttle", action: "GetRecords", shardId: first })
      const iterator = (shardId: string) =>
        call(() =>
          sdk.streams.send(
            new GetShardIteratorCommand({
              StreamArn: table.LatestStreamArn!,
              ShardId: shardId,
              ShardIteratorType: "TRIM_HORIZON"
            })
          )
        ).pipe(Effect.map((answer) => answer.ShardIterator!))
      const throttled = yield* iterator(first!)
      const free = yield* iterator(second!)
      const error = yield* failure(() => sdk.streams.send(new GetRecordsCommand({ ShardIterator: throttled })))
      assert.strictEqual(error.name, "LimitExceededException")
      assert.strictEqual(error.$metadata.httpStatusCode, 400)
      const page = yield* call(() => sdk.streams.send(new GetRecordsCommand({ ShardIterator: free })))
      assert.deepStrictEqual(page.Records, [])
      const log = yield* requests
      assert.deepStrictEqual(
        log.filter((entry) => entry.action === "dynamodb:GetRecords").map((e) => [e.status, e.errorCode]),
        [[400, "LimitExceededException"], [200, undefined]]
      )
    }))

  it.scoped("access-denied: AccessDeniedException naming the IAM action; S3's 403 AccessDenied", () =>
    Effect.gen(function* () {
      const { sdk, addFault, requests } = yield* start
      yield* createTable(sdk)
      yield* addFault({ kind: "access-denied", action: "dynamodb:PutItem", times: 1 })
      const denied = yield* failure(putItem(sdk, "a"))
      assert.strictEqual(denied.name, "AccessDeniedException")
      assert.strictEqual(denied.$metadata.httpStatusCode, 400)
      assert.include((denied as unknown as Error).message, "not authorized to perform: dynamodb:PutItem")
      yield* call(putItem(sdk, "a"))

      yield* call(() => sdk.s3.send(new CreateBucketCommand({ Bucket: "data" })))
      yield* addFault({ kind: "access-denied", action: "s3:PutObject" })
      const s3Denied = yield* failure(() => sdk.s3.send(new PutObjectCommand({ Bucket: "data", Key: "k", Body: "x" })))
      assert.strictEqual(s3Denied.name, "AccessDenied")
      assert.strictEqual(s3Denied.$metadata.httpStatusCode, 403)
      const log = yield* requests
      assert.deepStrictEqual(
        log.filter((entry) => entry.status >= 400).map((e) => [e.action, e.status, e.errorCode]),
        [["dynamodb:PutItem", 400, "AccessDeniedException"], ["s3:PutObject", 403, "AccessDenied"]]
      )
    }))

  it.scoped("PutItem: ProvisionedThroughputExceededException, 500 and 503; times bounds a rule", () =>
    Effect.gen(function* () {
      const { sdk, admin, addFault, requests } = yield* start
      yield* createTable(sdk)
      const throttle = yield* addFault({ kind: "throttle", action: "PutItem", times: 2 })
      for (let i = 0; i < 2; i++) {
        const error = yield* failure(putItem(sdk, "a"))
        assert.strictEqual(error.name, "ProvisionedThroughputExceededException")
        assert.strictEqual(error.$metadata.httpStatusCode, 400)
      }
      yield* call(putItem(sdk, "a"))
      const listed = yield* admin("GET", "/faults")
      assert.deepStrictEqual(listed.body.faults, [
        { id: throttle, kind: "throttle", action: "PutItem", times: 2, applied: 2 }
      ])

      const internal = yield* addFault({ kind: "error500", action: "dynamodb:PutItem" })
      const error500 = yield* failure(putItem(sdk, "b"))
      assert.strictEqual(error500.name, "InternalServerError")
      assert.strictEqual(error500.$metadata.httpStatusCode, 500)
      assert.strictEqual((yield* admin("DELETE", `/faults/${internal}`)).status, 200)
      assert.strictEqual((yield* admin("DELETE", `/faults/${internal}`)).status, 404)

      yield* addFault({ kind: "error503", action: "*" })
      const error503 = yield* failure(putItem(sdk, "c"))
      assert.strictEqual(error503.name, "ServiceUnavailable")
      assert.strictEqual(error503.$metadata.httpStatusCode, 503)
      yield* admin("DELETE", "/faults")
      yield* call(putItem(sdk, "c"))

      const log = yield* requests
      assert.deepStrictEqual(
        log.filter((entry) => entry.action === "dynamodb:PutItem").map((e) => [e.status, e.errorCode ?? ""]),
        [
          [400, "ProvisionedThroughputExceededException"],
          [400, "ProvisionedThroughputExceededException"],
          [200, ""],
          [500, "InternalServerError"],
          [503, "ServiceUnavailable"],
          [200, ""]
        ]
      )
    }))

  it.scoped("rejects a malformed rule", () =>
    Effect.gen(function* () {
      const { admin } = yield* start
      assert.strictEqual((yield* admin("POST", "/faults", { kind: "explode", action: "*" })).status, 400)
      assert.strictEqual((yield* admin("POST", "/faults", { kind: "delay", action: "*" })).status, 400)
      assert.strictEqual((yield* admin("POST", "/faults", { kind: "throttle", action: "*", times: 0 })).status, 400)
      assert.deepStrictEqual((yield* admin("GET", "/faults")).body.faults, [])
    }))

  it.scoped("S3 GetObject: SlowDown (503), other S3 actions untouched", () =>
    Effect.gen(function* () {
      const { sdk, addFault, requests } = yield* start
      yield* call(() => sdk.s3.send(new CreateBucketCommand({ Bucket: "data" })))
      yield* addFault({ kind: "throttle", action: "s3:GetObject" })
      yield* call(() => sdk.s3.send(new PutObjectCommand({ Bucket: "data", Key: "k", Body: "hello" })))
      const error = yield* failure(() => sdk.s3.send(new GetObjectCommand({ Bucket: "data", Key: "k" })))
      assert.strictEqual(error.name, "SlowDown")
      assert.strictEqual(error.$metadata.httpStatusCode, 503)
      const log = yield* requests
      assert.deepStrictEqual(log.at(-1), {
        timeMs: T0,
        action: "s3:GetObject",
        resource: "arn:aws:s3:::data/k",
        accessKeyId: credentials.accessKeyId,
        status: 503,
        errorCode: "SlowDown"
      })
    }))

  it.scoped("a delay holds the request until the virtual clock passes it", () =>
    Effect.gen(function* () {
      const { instance, sdk, addFault, requests } = yield* start
      yield* createTable(sdk)
      yield* addFault({ kind: "delay", action: "PutItem", delayMs: 5000, times: 1 })
      let settled = false
      const pending = putItem(sdk, "slow")().finally(() => {
        settled = true
      })
      yield* realSleep(200)
      assert.isFalse(settled)
      yield* instance.clock.advance(4999)
      yield* realSleep(50)
      assert.isFalse(settled)
      yield* instance.clock.advance(1)
      yield* call(() => pending)
      const log = yield* requests
      assert.deepStrictEqual(log.at(-1), {
        timeMs: T0 + 5000,
        action: "dynamodb:PutItem",
        resource: "orders",
        accessKeyId: credentials.accessKeyId,
        status: 200
      })
      yield* call(putItem(sdk, "fast"))
    }))

  for (const kind of ["truncate-export", "corrupt-export"] as const) {
    it.scoped(`${kind}: the export reader detects the damaged data file`, () =>
      Effect.gen(function* () {
        const { instance, sdk, addFault } = yield* start
        const table = yield* createTable(sdk)
        yield* call(() =>
          sdk.dynamodb.send(
            new UpdateContinuousBackupsCommand({
              TableName: "orders",
              PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true }
            })
          )
        )
        yield* call(() => sdk.s3.send(new CreateBucketCommand({ Bucket: "exports" })))
        for (let i = 0; i < 200; i++) {
          yield* call(() =>
            sdk.dynamodb.send(
              new PutItemCommand({ TableName: "orders", Item: { pk: { S: `item${i}` }, v: { S: "x".repeat(50 + i) } } })
            )
          )
        }
        yield* instance.clock.advance(MINUTE)
        yield* addFault({ kind })
        const started = yield* call(() =>
          sdk.dynamodb.send(new ExportTableToPointInTimeCommand({ TableArn: table.TableArn, S3Bucket: "exports" }))
        )
        yield* instance.clock.advance(MINUTE)
        const done = yield* call(() =>
          sdk.dynamodb.send(new DescribeExportCommand({ ExportArn: started.ExportDescription!.ExportArn }))
        )
        assert.strictEqual(done.ExportDescription!.ExportStatus, "COMPLETED")
        const read = yield* ExportReader.read(done.ExportDescription!.ExportManifest!, {
          keySchema: ItemKey.make("pk")
        }).pipe(Stream.runDrain, Effect.provide(s3ObjectStore(sdk.s3, "exports")), Effect.either)
        assert.isTrue(Either.isLeft(read))
        if (Either.isLeft(read)) {
          assert.include(["ExportFileUnreadable", "ExportFileMismatch"], read.left._tag)
        }
      }))
  }

  it.scoped("POST /_backstream/reset clears the fault rules", () =>
    Effect.gen(function* () {
      const { sdk, admin, addFault } = yield* start
      yield* addFault({ kind: "error500", action: "*" })
      assert.strictEqual((yield* admin("POST", "/reset")).status, 200)
      assert.deepStrictEqual((yield* admin("GET", "/faults")).body.faults, [])
      yield* createTable(sdk)
    }))
})
