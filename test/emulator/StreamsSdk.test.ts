import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  DynamoDBStreamsServiceException,
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListStreamsCommand,
  ResourceNotFoundException,
  TrimmedDataAccessException
} from "@aws-sdk/client-dynamodb-streams"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Emulator, RequestLog } from "../../emulator/Emulator.ts"
import { EmulatorClock } from "../../emulator/EmulatorClock.ts"
import * as EmulatorConfig from "../../emulator/EmulatorConfig.ts"
import * as NodeServer from "../../emulator/NodeServer.ts"
import { Streams } from "../../emulator/streams/Streams.ts"

const T0 = Date.UTC(2026, 0, 14, 10, 18, 50, 622)
const MINUTE = 60_000
const TABLE = {
  name: "orders",
  arn: "arn:aws:dynamodb:us-east-1:000000000000:table/orders",
  keySchema: [{ AttributeName: "pk", KeyType: "HASH" }]
}

const serve = Effect.gen(function* () {
  const clock = new EmulatorClock("virtual", T0)
  const config = EmulatorConfig.make({ clock: "virtual", startTimeMs: T0, shardsPerStream: 1 })
  const streams = new Streams(config, clock)
  const emulator = new Emulator(config, clock, new RequestLog(clock), {
    dynamodb: {},
    streams: streams.operations,
    s3: () => Effect.die("no s3"),
    admin: {}
  })
  const server = yield* NodeServer.serve(emulator)
  const client = new DynamoDBStreamsClient({
    endpoint: server.url,
    region: "us-east-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
    maxAttempts: 1
  })
  yield* Effect.addFinalizer(() => Effect.sync(() => client.destroy()))
  const send = <A>(f: () => Promise<A>) => Effect.promise(f)
  const failure = (f: () => Promise<unknown>) =>
    Effect.promise(() => f().then(() => assert.fail("expected an error"), (error: unknown) => error))
  return { clock, streams, client, send, failure, advance: (ms: number) => Effect.orDie(clock.advance(ms)) }
})

describe("Streams over HTTP, read by the AWS SDK", () => {
  it.scoped("DescribeStream, GetShardIterator and GetRecords round trip", () =>
    Effect.gen(function* () {
      const { streams, client, send, advance } = yield* serve
      const { arn } = streams.enable(TABLE, "NEW_AND_OLD_IMAGES")
      yield* advance(2500)
      streams.append("orders", {
        keys: { pk: { S: "a" } },
        newImage: { pk: { S: "a" }, n: { N: "1" } },
        routingKey: "a"
      })
      streams.append("orders", {
        keys: { pk: { S: "a" } },
        oldImage: { pk: { S: "a" }, n: { N: "1" } },
        routingKey: "a",
        ttl: true
      })
      const listed = yield* send(() => client.send(new ListStreamsCommand({ TableName: "orders" })))
      assert.deepStrictEqual(listed.Streams, [{
        StreamArn: arn,
        TableName: "orders",
        StreamLabel: "2026-01-14T10:18:50.622"
      }])
      const { StreamDescription: d } = yield* send(() => client.send(new DescribeStreamCommand({ StreamArn: arn })))
      assert.strictEqual(d?.StreamStatus, "ENABLED")
      assert.deepStrictEqual(d?.CreationRequestDateTime, new Date(T0))
      assert.deepStrictEqual(d?.KeySchema, [{ AttributeName: "pk", KeyType: "HASH" }])
      const shardId = d!.Shards![0]!.ShardId!
      const { ShardIterator } = yield* send(() =>
        client.send(
          new GetShardIteratorCommand({ StreamArn: arn, ShardId: shardId, ShardIteratorType: "TRIM_HORIZON" })
        )
      )
      assert.isTrue(ShardIterator!.startsWith(`${arn}|1|`))
      const out = yield* send(() => client.send(new GetRecordsCommand({ ShardIterator })))
      const [insert, expired] = out.Records!
      assert.strictEqual(insert!.eventName, "INSERT")
      assert.deepStrictEqual(
        insert!.dynamodb!.ApproximateCreationDateTime,
        new Date(Math.floor((T0 + 2500) / 1000) * 1000)
      )
      assert.deepStrictEqual(insert!.dynamodb!.NewImage, { pk: { S: "a" }, n: { N: "1" } })
      assert.strictEqual(insert!.dynamodb!.StreamViewType, "NEW_AND_OLD_IMAGES")
      assert.isTrue(/^[0-9]{21,}$/.test(insert!.dynamodb!.SequenceNumber!))
      assert.strictEqual(expired!.eventName, "REMOVE")
      assert.deepStrictEqual(expired!.userIdentity, { PrincipalId: "dynamodb.amazonaws.com", Type: "Service" })
      assert.isString(out.NextShardIterator)
      const empty = yield* send(() => client.send(new GetRecordsCommand({ ShardIterator: out.NextShardIterator })))
      assert.deepStrictEqual(empty.Records, [])
      streams.disable("orders")
      const closed = yield* send(() => client.send(new GetRecordsCommand({ ShardIterator: empty.NextShardIterator })))
      assert.deepStrictEqual(closed.Records, [])
      assert.isUndefined(closed.NextShardIterator)
    }))

  it.scoped("errors reach the SDK as its exception classes", () =>
    Effect.gen(function* () {
      const { streams, client, send, failure, advance } = yield* serve
      const { arn } = streams.enable(TABLE, "NEW_IMAGE")
      streams.append("orders", { keys: { pk: { S: "a" } }, newImage: { pk: { S: "a" } }, routingKey: "a" })
      const { StreamDescription: d } = yield* send(() => client.send(new DescribeStreamCommand({ StreamArn: arn })))
      const shardId = d!.Shards![0]!.ShardId!
      const iterator = () =>
        send(() =>
          client.send(
            new GetShardIteratorCommand({ StreamArn: arn, ShardId: shardId, ShardIteratorType: "TRIM_HORIZON" })
          )
        ).pipe(Effect.map((out) => out.ShardIterator!))

      const old = yield* iterator()
      yield* advance(15 * MINUTE + 1)
      const expired = yield* failure(() => client.send(new GetRecordsCommand({ ShardIterator: old })))
      assert.instanceOf(expired, ExpiredIteratorException)

      const held = yield* iterator()
      streams.trimNow()
      const trimmed = yield* failure(() => client.send(new GetRecordsCommand({ ShardIterator: held })))
      assert.instanceOf(trimmed, TrimmedDataAccessException)

      const unknownArn = "arn:aws:dynamodb:us-east-1:000000000000:table/nothing/stream/2026-01-14T10:18:50.622"
      const missing = yield* failure(() => client.send(new DescribeStreamCommand({ StreamArn: unknownArn })))
      assert.instanceOf(missing, ResourceNotFoundException)
      assert.strictEqual((missing as Error).message, `Requested resource not found: Stream: ${unknownArn} not found`)

      const invalid = yield* failure(() => client.send(new GetRecordsCommand({ ShardIterator: `${arn}|1|AAAA` })))
      assert.instanceOf(invalid, DynamoDBStreamsServiceException)
      assert.strictEqual((invalid as Error).name, "ValidationException")
      assert.strictEqual((invalid as Error).message, "Invalid ShardIterator")
      const limit = yield* failure(() => client.send(new GetRecordsCommand({ ShardIterator: held, Limit: 1001 })))
      assert.strictEqual((limit as Error).name, "ValidationException")
    }))
})
