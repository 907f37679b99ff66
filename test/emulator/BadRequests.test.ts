import {
  CreateTableCommand,
  DescribeExportCommand,
  ExportTableToPointInTimeCommand,
  PutItemCommand
} from "@aws-sdk/client-dynamodb"
import { DescribeStreamCommand, GetRecordsCommand, GetShardIteratorCommand } from "@aws-sdk/client-dynamodb-streams"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import * as EmulatorInstance from "../../emulator/EmulatorInstance.ts"
import * as NodeServer from "../../emulator/NodeServer.ts"
import { clients } from "./support/sdk.ts"

const DYNAMODB = "DynamoDB_20120810"
const STREAMS = "DynamoDBStreams_20120810"
const TABLE = "orders"
const TABLE_ARN = "arn:aws:dynamodb:us-east-1:000000000000:table/"

interface Answer {
  readonly status: number
  readonly type: string
  readonly message: string
}

/** A raw AWS JSON 1.0 call, so that the status and `__type` are seen as sent. */
const raw = (url: string, target: string, body: unknown) =>
  Effect.promise(async (): Promise<Answer & { readonly json: Record<string, unknown> }> => {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/x-amz-json-1.0", "x-amz-target": target },
      body: typeof body === "string" ? body : JSON.stringify(body)
    })
    const json = JSON.parse(await response.text()) as Record<string, unknown>
    const type = typeof json.__type === "string" ? json.__type : ""
    return { status: response.status, type, message: String(json.message ?? json.Message ?? ""), json }
  })

const assertError = (answer: Answer, type: string, message?: string | RegExp) => {
  assert.strictEqual(answer.status, 400, JSON.stringify(answer))
  assert.strictEqual(answer.type, type, JSON.stringify(answer))
  if (typeof message === "string") assert.strictEqual(answer.message, message)
  else if (message !== undefined) assert.match(answer.message, message)
}

const VALIDATION = "com.amazon.coral.validate#ValidationException"
const dynamodbError = (code: string) => `com.amazonaws.dynamodb.v20120810#${code}`

/** The SDK's view of a failure: the exception's name and the HTTP status. */
const sdkError = <A>(f: () => Promise<A>) =>
  Effect.map(Effect.either(Effect.tryPromise(f)), (result) => {
    if (Either.isRight(result)) return assert.fail("expected the call to fail")
    const error = result.left.error as { name: string; message: string; $metadata?: { httpStatusCode?: number } }
    return { name: error.name, message: error.message, status: error.$metadata?.httpStatusCode }
  })

const start = Effect.gen(function* () {
  const instance = yield* EmulatorInstance.make({ clock: "virtual" })
  const server = yield* NodeServer.serve(instance.emulator)
  const sdk = clients(server.url)
  const created = yield* Effect.promise(() =>
    sdk.dynamodb.send(
      new CreateTableCommand({
        TableName: TABLE,
        AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
        KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
        BillingMode: "PAY_PER_REQUEST",
        StreamSpecification: { StreamEnabled: true, StreamViewType: "NEW_AND_OLD_IMAGES" }
      })
    )
  )
  const streamArn = created.TableDescription!.LatestStreamArn!
  const iterator = yield* Effect.promise(async () => {
    const description = await sdk.streams.send(new DescribeStreamCommand({ StreamArn: streamArn }))
    const shardId = description.StreamDescription!.Shards![0]!.ShardId!
    const output = await sdk.streams.send(
      new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: shardId, ShardIteratorType: "TRIM_HORIZON" })
    )
    return output.ShardIterator!
  })
  return { url: server.url, sdk, streamArn, iterator }
})

describe("bad requests", () => {
  it.scoped("a missing required field is a ValidationException naming the member", () =>
    Effect.gen(function* () {
      const { streamArn, url } = yield* start
      assertError(
        yield* raw(url, `${DYNAMODB}.PutItem`, { TableName: TABLE }),
        VALIDATION,
        "1 validation error detected: Value null at 'item' failed to satisfy constraint: Member must not be null"
      )
      assertError(
        yield* raw(url, `${STREAMS}.GetShardIterator`, { StreamArn: streamArn, ShardIteratorType: "TRIM_HORIZON" }),
        VALIDATION,
        "1 validation error detected: Value null at 'shardId' failed to satisfy constraint: Member must not be null"
      )
    }))

  it.scoped("an unknown table is a ResourceNotFoundException", () =>
    Effect.gen(function* () {
      const { sdk, url } = yield* start
      assertError(
        yield* raw(url, `${DYNAMODB}.PutItem`, { TableName: "missing", Item: { pk: { S: "a" } } }),
        dynamodbError("ResourceNotFoundException"),
        "Requested resource not found"
      )
      assertError(
        yield* raw(url, `${DYNAMODB}.DescribeTable`, { TableName: "missing" }),
        dynamodbError("ResourceNotFoundException"),
        "Requested resource not found: Table: missing not found"
      )
      const error = yield* sdkError(() =>
        sdk.dynamodb.send(new PutItemCommand({ TableName: "missing", Item: { pk: { S: "a" } } }))
      )
      assert.deepStrictEqual([error.name, error.status], ["ResourceNotFoundException", 400])
    }))

  it.scoped("a malformed or foreign shard iterator is a ValidationException", () =>
    Effect.gen(function* () {
      const { iterator, url } = yield* start
      assertError(yield* raw(url, `${STREAMS}.GetRecords`, { ShardIterator: "not-an-iterator" }), VALIDATION)
      const tampered = iterator.slice(0, -6) + (iterator.endsWith("AAAA==") ? "BBBB==" : "AAAA==")
      assertError(yield* raw(url, `${STREAMS}.GetRecords`, { ShardIterator: tampered }), VALIDATION)
      // The same table and stream name on another emulator: the iterator looks right but was not issued there.
      const other = yield* start
      assert.strictEqual(other.streamArn.split("/stream/")[0], iterator.split("/stream/")[0])
      assertError(yield* raw(other.url, `${STREAMS}.GetRecords`, { ShardIterator: iterator }), VALIDATION)
      const answer = yield* raw(url, `${STREAMS}.GetRecords`, { ShardIterator: iterator })
      assert.strictEqual(answer.status, 200)
    }))

  it.scoped("GetRecords refuses Limit 0 and 1001", () =>
    Effect.gen(function* () {
      const { iterator, sdk, url } = yield* start
      assertError(
        yield* raw(url, `${STREAMS}.GetRecords`, { ShardIterator: iterator, Limit: 0 }),
        VALIDATION,
        "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: "
          + "Member must have value greater than or equal to 1"
      )
      assertError(
        yield* raw(url, `${STREAMS}.GetRecords`, { ShardIterator: iterator, Limit: 1001 }),
        VALIDATION,
        "1 validation error detected: Value '1001' at 'limit' failed to satisfy constraint: "
          + "Member must have value less than or equal to 1000"
      )
      const error = yield* sdkError(() =>
        sdk.streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 0 }))
      )
      assert.deepStrictEqual([error.name, error.status], ["ValidationException", 400])
      const ok = yield* raw(url, `${STREAMS}.GetRecords`, { ShardIterator: iterator, Limit: 1000 })
      assert.strictEqual(ok.status, 200)
    }))

  it.scoped("an item over 400 KB is a ValidationException", () =>
    Effect.gen(function* () {
      const { sdk, url } = yield* start
      const item = { pk: { S: "big" }, body: { S: "x".repeat(400 * 1024) } }
      assertError(
        yield* raw(url, `${DYNAMODB}.PutItem`, { TableName: TABLE, Item: item }),
        VALIDATION,
        "Item size has exceeded the maximum allowed size"
      )
      const error = yield* sdkError(() => sdk.dynamodb.send(new PutItemCommand({ TableName: TABLE, Item: item })))
      assert.deepStrictEqual([error.name, error.status], ["ValidationException", 400])
    }))

  it.scoped("a key attribute of the wrong type is a ValidationException", () =>
    Effect.gen(function* () {
      const { url } = yield* start
      assertError(
        yield* raw(url, `${DYNAMODB}.PutItem`, { TableName: TABLE, Item: { pk: { N: "1" } } }),
        VALIDATION,
        "One or more parameter values were invalid: Type mismatch for key pk expected: S actual: N"
      )
      assertError(
        yield* raw(url, `${DYNAMODB}.GetItem`, { TableName: TABLE, Key: { pk: { N: "1" } } }),
        VALIDATION,
        "The provided key element does not match the schema"
      )
    }))

  it.scoped("an unknown X-Amz-Target is an UnknownOperationException", () =>
    Effect.gen(function* () {
      const { url } = yield* start
      for (const target of [`${DYNAMODB}.Frobnicate`, `${STREAMS}.PutItem`, "Kinesis_20131202.GetRecords", "nodot"]) {
        assertError(yield* raw(url, target, {}), "com.amazon.coral.service#UnknownOperationException")
      }
    }))

  it.scoped("a malformed JSON body is a SerializationException", () =>
    Effect.gen(function* () {
      const { url } = yield* start
      assertError(
        yield* raw(url, `${DYNAMODB}.PutItem`, '{"TableName": '),
        "com.amazon.coral.service#SerializationException"
      )
      assertError(yield* raw(url, `${DYNAMODB}.PutItem`, "[1, 2]"), "com.amazon.coral.service#SerializationException")
    }))

  it.scoped("DescribeExport of an unknown ARN is an ExportNotFoundException", () =>
    Effect.gen(function* () {
      const { sdk, url } = yield* start
      const arn = `${TABLE_ARN}${TABLE}/export/01700000000000-0123abcd`
      assertError(
        yield* raw(url, `${DYNAMODB}.DescribeExport`, { ExportArn: arn }),
        dynamodbError("ExportNotFoundException")
      )
      const error = yield* sdkError(() => sdk.dynamodb.send(new DescribeExportCommand({ ExportArn: arn })))
      assert.deepStrictEqual([error.name, error.status], ["ExportNotFoundException", 400])
    }))

  it.scoped("ExportTableToPointInTime of an unknown table is a TableNotFoundException", () =>
    Effect.gen(function* () {
      const { sdk, url } = yield* start
      const input = { TableArn: `${TABLE_ARN}missing`, S3Bucket: "exports" }
      assertError(
        yield* raw(url, `${DYNAMODB}.ExportTableToPointInTime`, input),
        dynamodbError("TableNotFoundException")
      )
      const error = yield* sdkError(() => sdk.dynamodb.send(new ExportTableToPointInTimeCommand(input)))
      assert.deepStrictEqual([error.name, error.status], ["TableNotFoundException", 400])
    }))

  it.scoped("NodeServer.serve binds 127.0.0.1 by default", () =>
    Effect.gen(function* () {
      const instance = yield* EmulatorInstance.make({ clock: "virtual" })
      const server = yield* NodeServer.serve(instance.emulator)
      assert.strictEqual(server.host, "127.0.0.1")
      assert.isTrue(server.url.startsWith("http://127.0.0.1:"), server.url)
      assert.isAbove(server.port, 0)
      const health = yield* Effect.promise(() => fetch(`${server.url}/_backstream/health`))
      assert.strictEqual(health.status, 200)
    }))
})
