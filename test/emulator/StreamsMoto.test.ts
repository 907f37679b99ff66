/**
 * The same DynamoDB and DynamoDB Streams calls against moto_server and against the emulator (one shard per stream,
 * real clock), with the same outcomes expected: stream record shapes per view type, ListStreams and DescribeStream
 * shapes, the iterator types, and the error codes of bad requests. Values that are each server's own (ARNs' account,
 * labels, sequence numbers, event ids, times) are compared by format. Where moto departs from AWS's documented
 * behaviour the step says what moto answers and why the emulator follows AWS instead.
 */
import {
  CreateTableCommand,
  DeleteItemCommand,
  DynamoDBClient,
  PutItemCommand,
  UpdateItemCommand
} from "@aws-sdk/client-dynamodb"
import {
  type _Record,
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type GetShardIteratorCommandInput,
  ListStreamsCommand,
  type ShardIteratorType
} from "@aws-sdk/client-dynamodb-streams"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import { afterAll, beforeAll } from "vitest"
import * as EmulatorInstance from "../../emulator/EmulatorInstance.ts"
import * as NodeServer from "../../emulator/NodeServer.ts"
import { motoOnPath, type RunningMoto, startMoto } from "./support/moto.ts"

/** What a call came to, in the terms both servers must agree on. */
type Outcome = Readonly<Record<string, unknown>>

/** One server's clients and what earlier steps learnt from it (its stream ARNs and shard ids). */
interface Side {
  readonly db: DynamoDBClient
  readonly streams: DynamoDBStreamsClient
  readonly arns: Map<string, string>
  readonly shards: Map<string, string>
}

interface Step {
  readonly name: string
  readonly run: (side: Side) => Promise<Outcome>
  /** Where moto departs from AWS: what moto answers, what AWS answers (and the emulator with it), and the source. */
  readonly motoDiffers?: { readonly moto: Outcome; readonly aws: Outcome; readonly why: string }
}

const config = (endpoint: string) => ({
  endpoint,
  region: "us-east-1",
  credentials: { accessKeyId: "x", secretAccessKey: "x" },
  maxAttempts: 1
})

const side = (endpoint: string): Side => ({
  db: new DynamoDBClient(config(endpoint)),
  streams: new DynamoDBStreamsClient(config(endpoint)),
  arns: new Map(),
  shards: new Map()
})

/**
 * Runs a call; a success keeps the status and what `pick` takes from the output, a failure its status and error
 * name. A 5xx keeps only its status: moto answers some bad requests with an HTML error page, whose "name" is whatever
 * the SDK's deserializer throws.
 */
const outcome = async <A extends { $metadata: { httpStatusCode?: number } }>(
  call: () => Promise<A>,
  pick: (output: A) => Outcome = () => ({})
): Promise<Outcome> => {
  let output: A
  try {
    output = await call()
  } catch (e) {
    const error = e as Error & { $metadata?: { httpStatusCode?: number } }
    const status = error.$metadata?.httpStatusCode
    return status !== undefined && status >= 500 ? { status } : { status, error: error.name }
  }
  return { status: output.$metadata.httpStatusCode, ...pick(output) }
}

const VIEW_TYPES = ["NEW_AND_OLD_IMAGES", "KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE"] as const
const tableOf = (view: string) => `cross-${view.toLowerCase().replaceAll("_", "-")}`
const NOOP_TABLE = "cross-noop"
const OTHER_TABLE = "cross-plain"

const STREAM_LABEL = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+$/
const streamArn = (table: string) =>
  new RegExp(`^arn:aws:dynamodb:us-east-1:\\d{12}:table/${table}/stream/\\d{4}-\\d\\d-\\d\\dT[\\d:.]+$`)
const SHARD_ID = /^shardId-\d{20}-[0-9a-f]{8}$/
/** SequenceNumber: a digit string of 21 to 40 characters (StreamRecord, DynamoDB Streams API reference). */
const SEQUENCE_NUMBER = /^\d{21,40}$/
const EVENT_ID = /^[0-9a-f]{32}$/

const createTable = (TableName: string, StreamViewType?: (typeof VIEW_TYPES)[number]) => (s: Side) =>
  outcome(
    () =>
      s.db.send(
        new CreateTableCommand({
          TableName,
          KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
          AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
          BillingMode: "PAY_PER_REQUEST",
          ...(StreamViewType === undefined ? {} : { StreamSpecification: { StreamEnabled: true, StreamViewType } })
        })
      ),
    (o) => {
      const table = o.TableDescription!
      if (table.LatestStreamArn !== undefined) s.arns.set(TableName, table.LatestStreamArn)
      return {
        tableStatus: table.TableStatus,
        keySchema: table.KeySchema,
        streamSpecification: table.StreamSpecification,
        streamArn: table.LatestStreamArn === undefined ? undefined : streamArn(TableName).test(table.LatestStreamArn),
        streamLabel: table.LatestStreamLabel === undefined ? undefined : STREAM_LABEL.test(table.LatestStreamLabel),
        labelEndsArn: table.LatestStreamLabel === undefined
          ? undefined
          : table.LatestStreamArn?.endsWith(`/stream/${table.LatestStreamLabel}`)
      }
    }
  )

const shardIterator = async (s: Side, table: string, type: ShardIteratorType, SequenceNumber?: string) => {
  const input: GetShardIteratorCommandInput = {
    StreamArn: s.arns.get(table),
    ShardId: s.shards.get(table),
    ShardIteratorType: type,
    ...(SequenceNumber === undefined ? {} : { SequenceNumber })
  }
  const output = await s.streams.send(new GetShardIteratorCommand(input))
  return output.ShardIterator!
}

/** A record field by field; what is each server's own is checked by format. */
const recordShape = (record: _Record) => {
  const { ApproximateCreationDateTime, SequenceNumber, SizeBytes, ...dynamodb } = record.dynamodb ?? {}
  return {
    eventName: record.eventName,
    eventVersion: /^\d+\.\d+$/.test(record.eventVersion ?? ""),
    eventSource: record.eventSource,
    awsRegion: record.awsRegion,
    eventID: EVENT_ID.test(record.eventID ?? ""),
    fields: Object.keys(record).sort(),
    dynamodbFields: Object.keys(record.dynamodb ?? {}).sort(),
    ...dynamodb,
    approximateCreationDateTime: ApproximateCreationDateTime instanceof Date,
    sequenceNumber: SEQUENCE_NUMBER.test(SequenceNumber ?? ""),
    // Only that there is a positive size: AWS documents SizeBytes as "the size of the stream record, in bytes" with
    // a minimum of 1 and no formula; moto counts its JSON (227 bytes for a two-attribute INSERT), the emulator the
    // item-size rule of the images (9 bytes), so the values are not compared.
    sizeBytes: Number.isInteger(SizeBytes) && SizeBytes! >= 1
  }
}

const records = async (s: Side, iterator: string, Limit?: number) => {
  const output = await s.streams.send(
    new GetRecordsCommand({ ShardIterator: iterator, ...(Limit === undefined ? {} : { Limit }) })
  )
  const all = output.Records ?? []
  const sequence = all.map((r) => BigInt(r.dynamodb!.SequenceNumber!))
  return {
    records: all.map(recordShape),
    ascending: sequence.every((n, i) => i === 0 || n > sequence[i - 1]!),
    hasNext: output.NextShardIterator !== undefined,
    next: output.NextShardIterator,
    raw: all
  }
}

const getRecords = (table: string, type: ShardIteratorType, Limit?: number) => async (s: Side) => {
  const { next: _next, raw: _raw, ...rest } = await records(s, await shardIterator(s, table, type), Limit)
  return rest
}

const write = (table: string) => async (s: Side) => {
  const TableName = table
  return {
    insert: await outcome(() =>
      s.db.send(new PutItemCommand({ TableName, Item: { pk: { S: "a" }, n: { N: "1" }, s: { SS: ["x", "y"] } } }))
    ),
    modify: await outcome(() =>
      s.db.send(
        new UpdateItemCommand({
          TableName,
          Key: { pk: { S: "a" } },
          UpdateExpression: "SET n = :n, m = :m",
          ExpressionAttributeValues: {
            ":n": { N: "2" },
            ":m": { M: { b: { BOOL: true }, l: { L: [{ NULL: true }] } } }
          }
        })
      )
    ),
    remove: await outcome(() => s.db.send(new DeleteItemCommand({ TableName, Key: { pk: { S: "a" } } }))),
    removeAbsent: await outcome(() => s.db.send(new DeleteItemCommand({ TableName, Key: { pk: { S: "absent" } } })))
  }
}

const MAIN = tableOf("NEW_AND_OLD_IMAGES")

const steps: ReadonlyArray<Step> = [
  ...VIEW_TYPES.map((view): Step => ({
    name: `CreateTable with a ${view} stream`,
    run: createTable(tableOf(view), view)
  })),
  { name: "CreateTable without a stream", run: createTable(OTHER_TABLE) },
  { name: "CreateTable for no-op writes", run: createTable(NOOP_TABLE, "NEW_AND_OLD_IMAGES") },
  {
    name: "CreateTable with a two-character name",
    run: createTable("ab", "KEYS_ONLY"),
    motoDiffers: {
      moto: {
        status: 200,
        tableStatus: "ACTIVE",
        keySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
        streamSpecification: { StreamEnabled: true, StreamViewType: "KEYS_ONLY" },
        streamArn: true,
        streamLabel: true,
        labelEndsArn: true
      },
      aws: { status: 400, error: "ValidationException" },
      why: "a table name is 3 to 255 characters (CreateTable, TableName: length constraints minimum 3, maximum 255; "
        + "DynamoDB API reference)"
    }
  },
  {
    name: "stream label precision",
    run: async (s) => {
      const label = s.arns.get(MAIN)!.split("/stream/")[1]!
      return { fractionDigits: label.split(".")[1]?.length }
    },
    motoDiffers: {
      moto: { fractionDigits: 6 },
      aws: { fractionDigits: 3 },
      why:
        "AWS's stream labels carry milliseconds (ListStreams and DescribeStream examples in the DynamoDB Streams API "
        + 'reference: "StreamLabel": "2015-05-20T20:51:10.252"); moto writes Python\'s microseconds'
    }
  },
  ...VIEW_TYPES.map((view): Step => ({ name: `writes on the ${view} table`, run: write(tableOf(view)) })),
  {
    name: "UpdateItem without ReturnConsumedCapacity",
    run: (s) =>
      outcome(
        () =>
          s.db.send(
            new UpdateItemCommand({
              TableName: OTHER_TABLE,
              Key: { pk: { S: "c" } },
              UpdateExpression: "SET n = :n",
              ExpressionAttributeValues: { ":n": { N: "1" } }
            })
          ),
        (o) => ({ consumedCapacity: o.ConsumedCapacity !== undefined })
      ),
    motoDiffers: {
      moto: { status: 200, consumedCapacity: true },
      aws: { status: 200, consumedCapacity: false },
      why: "ConsumedCapacity is returned only when ReturnConsumedCapacity asks for it (UpdateItem response elements, "
        + "DynamoDB API reference)"
    }
  },
  {
    name: "ListStreams",
    run: async (s) => {
      const output = await s.streams.send(new ListStreamsCommand({}))
      const ours = (output.Streams ?? []).filter((stream) => stream.TableName?.startsWith("cross-"))
      return {
        streams: ours
          .map((stream) => ({
            table: stream.TableName,
            arn: stream.StreamArn === s.arns.get(stream.TableName!),
            label: stream.StreamArn?.endsWith(`/stream/${stream.StreamLabel}`),
            fields: Object.keys(stream).sort()
          }))
          .sort((a, b) => a.table!.localeCompare(b.table!)),
        lastEvaluated: output.LastEvaluatedStreamArn !== undefined
      }
    }
  },
  {
    name: "ListStreams by table",
    run: async (s) => ({
      one: await outcome(
        () => s.streams.send(new ListStreamsCommand({ TableName: MAIN })),
        (o) => ({ arns: o.Streams?.map((stream) => stream.StreamArn === s.arns.get(MAIN)) })
      ),
      noStream: await outcome(
        () => s.streams.send(new ListStreamsCommand({ TableName: OTHER_TABLE })),
        (o) => ({ streams: o.Streams })
      ),
      missing: await outcome(
        () => s.streams.send(new ListStreamsCommand({ TableName: "cross-missing" })),
        (o) => ({ streams: o.Streams })
      )
    })
  },
  ...[...VIEW_TYPES.map(tableOf), NOOP_TABLE].map((table): Step => ({
    name: `DescribeStream of ${table}`,
    run: (s) =>
      outcome(() => s.streams.send(new DescribeStreamCommand({ StreamArn: s.arns.get(table) })), (o) => {
        const { CreationRequestDateTime, Shards, StreamArn, StreamLabel, ...description } = o.StreamDescription!
        s.shards.set(table, Shards![0]!.ShardId!)
        return {
          ...description,
          fields: Object.keys(o.StreamDescription!).sort(),
          arn: StreamArn === s.arns.get(table),
          label: StreamArn?.endsWith(`/stream/${StreamLabel}`),
          created: CreationRequestDateTime instanceof Date,
          shards: Shards!.map((shard) => ({
            fields: Object.keys(shard).sort(),
            shardId: SHARD_ID.test(shard.ShardId!),
            range: Object.keys(shard.SequenceNumberRange!).sort(),
            start: SEQUENCE_NUMBER.test(shard.SequenceNumberRange!.StartingSequenceNumber!)
          }))
        }
      })
  })),
  ...VIEW_TYPES.map((view): Step => ({
    name: `GetRecords from TRIM_HORIZON on the ${view} stream`,
    run: getRecords(tableOf(view), "TRIM_HORIZON")
  })),
  {
    name: "ApproximateCreationDateTime precision",
    run: async (s) => {
      const { raw } = await records(s, await shardIterator(s, MAIN, "TRIM_HORIZON"))
      return { wholeSeconds: raw.every((r) => r.dynamodb!.ApproximateCreationDateTime!.getTime() % 1000 === 0) }
    },
    motoDiffers: {
      moto: { wholeSeconds: false },
      aws: { wholeSeconds: true },
      why: 'ApproximateCreationDateTime is "rounded down to the closest second" (StreamRecord, DynamoDB Streams API '
        + "reference); moto keeps milliseconds"
    }
  },
  {
    name: "record format version",
    run: async (s) => {
      const { raw } = await records(s, await shardIterator(s, MAIN, "TRIM_HORIZON"))
      return { eventVersions: [...new Set(raw.map((r) => r.eventVersion))] }
    },
    // AWS says clients must not assume a particular eventVersion (Record, DynamoDB Streams API reference); its
    // GetRecords example says "1.1", moto says "1.0". The record shape is the same.
    motoDiffers: {
      moto: { eventVersions: ["1.0"] },
      aws: { eventVersions: ["1.1"] },
      why: 'the DynamoDB Streams API reference\'s GetRecords example shows "eventVersion": "1.1"; moto writes 1.0'
    }
  },
  {
    name: "a PutItem that changes nothing",
    run: async (s) => {
      const Item = { pk: { S: "same" }, n: { N: "1" } }
      await s.db.send(new PutItemCommand({ TableName: NOOP_TABLE, Item }))
      await s.db.send(new PutItemCommand({ TableName: NOOP_TABLE, Item }))
      await s.db.send(new DeleteItemCommand({ TableName: NOOP_TABLE, Key: { pk: { S: "absent" } } }))
      const { raw } = await records(s, await shardIterator(s, NOOP_TABLE, "TRIM_HORIZON"))
      return { eventNames: raw.map((r) => r.eventName) }
    },
    motoDiffers: {
      // Both agree that deleting an absent item writes no record; only the identical PutItem differs.
      moto: { eventNames: ["INSERT", "MODIFY"] },
      aws: { eventNames: ["INSERT"] },
      why: '"If you perform a PutItem or UpdateItem operation that does not change any data in an item, DynamoDB '
        + 'Streams does not write a stream record for that operation" (DynamoDB developer guide, change data capture '
        + "for DynamoDB Streams)"
    }
  },
  { name: "GetRecords from LATEST on an open shard", run: getRecords(MAIN, "LATEST") },
  {
    name: "GetRecords from AT_ and AFTER_SEQUENCE_NUMBER",
    run: async (s) => {
      const { raw } = await records(s, await shardIterator(s, MAIN, "TRIM_HORIZON"))
      const second = raw[1]!.dynamodb!.SequenceNumber!
      const at = await records(s, await shardIterator(s, MAIN, "AT_SEQUENCE_NUMBER", second))
      const after = await records(s, await shardIterator(s, MAIN, "AFTER_SEQUENCE_NUMBER", second))
      return {
        at: at.raw.map((r) => [r.eventName, r.dynamodb!.SequenceNumber === second]),
        after: after.raw.map((r) => r.eventName),
        afterHasNext: after.hasNext
      }
    }
  },
  {
    name: "GetRecords with Limit 1, page by page",
    run: async (s) => {
      const pages: Array<Outcome> = []
      let iterator: string | undefined = await shardIterator(s, MAIN, "TRIM_HORIZON")
      while (iterator !== undefined && pages.length < 5) {
        const page = await records(s, iterator, 1)
        pages.push({ eventNames: page.raw.map((r) => r.eventName), hasNext: page.hasNext })
        iterator = page.next
      }
      return { pages }
    }
  },
  ...[0, 1001].map((Limit): Step => ({
    name: `GetRecords with Limit ${Limit}`,
    run: async (s) => {
      const ShardIterator = await shardIterator(s, MAIN, "TRIM_HORIZON")
      return outcome(() => s.streams.send(new GetRecordsCommand({ ShardIterator, Limit })))
    },
    motoDiffers: {
      moto: { status: 200 },
      aws: { status: 400, error: "ValidationException" },
      why: "GetRecords' Limit is 1 to 1000 (GetRecords request parameters, DynamoDB Streams API reference), and a "
        + "value out of range is a ValidationException (common errors)"
    }
  })),
  {
    name: "GetRecords with a malformed iterator",
    run: (s) => outcome(() => s.streams.send(new GetRecordsCommand({ ShardIterator: "not-an-iterator" }))),
    motoDiffers: {
      moto: { status: 500 },
      aws: { status: 400, error: "ValidationException" },
      why: "a bad request parameter is a 400 ValidationException (DynamoDB Streams API reference, common errors); moto "
        + "fails to parse the iterator and answers 500 with an HTML page"
    }
  },
  {
    name: "GetShardIterator without ShardId",
    run: (s) =>
      outcome(() =>
        s.streams.send(
          new GetShardIteratorCommand({ StreamArn: s.arns.get(MAIN), ShardIteratorType: "TRIM_HORIZON" } as never)
        )
      ),
    motoDiffers: {
      moto: { status: 500 },
      aws: { status: 400, error: "ValidationException" },
      why: "ShardId is required (GetShardIterator request parameters), and a missing required parameter is a 400 "
        + "ValidationException (DynamoDB Streams API reference, common errors); moto crashes with 500"
    }
  },
  {
    name: "GetShardIterator of an unknown shard",
    run: (s) =>
      outcome(() =>
        s.streams.send(
          new GetShardIteratorCommand({
            StreamArn: s.arns.get(MAIN),
            ShardId: "shardId-00000001700000000000-deadbeef",
            ShardIteratorType: "TRIM_HORIZON"
          })
        )
      ),
    motoDiffers: {
      moto: { status: 500 },
      aws: { status: 400, error: "ResourceNotFoundException" },
      why: "GetShardIterator answers a resource that does not exist with ResourceNotFoundException (GetShardIterator "
        + "errors, DynamoDB Streams API reference); moto crashes with 500"
    }
  },
  {
    name: "an unknown stream ARN",
    run: async (s) => {
      const StreamArn = s.arns.get(MAIN)!.replace(`table/${MAIN}/`, "table/cross-missing/")
      return {
        describe: await outcome(() => s.streams.send(new DescribeStreamCommand({ StreamArn }))),
        iterator: await outcome(() =>
          s.streams.send(
            new GetShardIteratorCommand({ StreamArn, ShardId: s.shards.get(MAIN), ShardIteratorType: "TRIM_HORIZON" })
          )
        )
      }
    }
  },
  {
    name: "PutItem into an unknown table",
    run: (s) => outcome(() => s.db.send(new PutItemCommand({ TableName: "cross-missing", Item: { pk: { S: "a" } } })))
  },
  {
    name: "PutItem of an item over 400 KB",
    run: (s) =>
      outcome(() =>
        s.db.send(
          new PutItemCommand({ TableName: MAIN, Item: { pk: { S: "big" }, v: { S: "x".repeat(400 * 1024 + 1) } } })
        )
      )
  },
  {
    name: "PutItem with a key of the wrong type",
    run: (s) => outcome(() => s.db.send(new PutItemCommand({ TableName: MAIN, Item: { pk: { N: "1" } } })))
  },
  {
    name: "rejected writes leave no record",
    run: async (s) => {
      const { raw } = await records(s, await shardIterator(s, MAIN, "TRIM_HORIZON"))
      return { eventNames: raw.map((r) => r.eventName) }
    }
  }
]

if (!motoOnPath) console.warn("StreamsMoto.test.ts: moto_server is not on PATH, skipping (pip install 'moto[server]')")

describe.skipIf(!motoOnPath)(
  motoOnPath
    ? "DynamoDB Streams: the emulator against moto_server"
    : "DynamoDB Streams against moto_server: SKIPPED, moto_server is not on PATH",
  () => {
    let moto: RunningMoto | undefined
    let scope: Scope.CloseableScope | undefined
    let fromMoto: Side
    let fromEmulator: Side

    beforeAll(async () => {
      moto = await startMoto()
      fromMoto = side(moto.url)
      scope = await Effect.runPromise(Scope.make())
      const instance = await Effect.runPromise(EmulatorInstance.make({ shardsPerStream: 1 }))
      fromEmulator = side((await Effect.runPromise(Scope.extend(NodeServer.serve(instance.emulator), scope))).url)
    })

    afterAll(async () => {
      for (const s of [fromMoto, fromEmulator]) {
        s?.db.destroy()
        s?.streams.destroy()
      }
      await moto?.stop()
      if (scope !== undefined) await Effect.runPromise(Scope.close(scope, Exit.void))
    })

    for (const step of steps) {
      it(step.name, async () => {
        const [motoAnswer, emulatorAnswer] = await Promise.all([step.run(fromMoto), step.run(fromEmulator)])
        if (step.motoDiffers === undefined) {
          assert.deepStrictEqual(emulatorAnswer, motoAnswer)
        } else {
          assert.deepStrictEqual(motoAnswer, step.motoDiffers.moto, `moto changed; re-check: ${step.motoDiffers.why}`)
          assert.deepStrictEqual(emulatorAnswer, step.motoDiffers.aws, step.motoDiffers.why)
        }
      })
    }
  }
)
