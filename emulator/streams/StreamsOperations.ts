/**
 * The DynamoDB Streams API (`DynamoDBStreams_20120810`): ListStreams, DescribeStream, GetShardIterator and GetRecords,
 * with AWS's parameter constraints, paging and errors. Time is read from Effect's `Clock` (the emulator's).
 */
import { Clock, Effect } from "effect"
import * as AwsError from "../AwsError.ts"
import type { Operations } from "../Emulator.ts"
import type { Shard, Stream } from "./Stream.ts"
import type { Streams } from "./Streams.ts"
import * as StreamsErrors from "./StreamsErrors.ts"

type Input = Record<string, unknown>
type Check<A> = Effect.Effect<A, AwsError.AwsError>

const MAX_RECORD_BYTES = 1024 * 1024
const ITERATOR_TYPES = ["TRIM_HORIZON", "LATEST", "AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"]
const STREAM_ARN = /^arn:[^:]+:dynamodb:[^:]*:[^:]*:table\/[^/]+\/stream\/[^/]+$/

/** A member's name in constraint messages: `StreamArn` → `streamArn`, `ShardFilter.Type` → `shardFilter.type`. */
const wireName = (field: string) => field.split(".").map((part) => part[0]!.toLowerCase() + part.slice(1)).join(".")

const field = (input: Input, name: string): unknown => {
  let value: unknown = input
  for (const part of name.split(".")) {
    value = typeof value === "object" && value !== null ? (value as Input)[part] : undefined
  }
  return value ?? undefined
}

const optionalString = (input: Input, name: string, min: number, max: number): Check<string | undefined> => {
  const value = field(input, name)
  if (value === undefined) return Effect.succeed(undefined)
  if (typeof value !== "string") return Effect.fail(AwsError.serialization(`${name} must be a string`))
  if (value.length < min) {
    return Effect.fail(StreamsErrors.constraint(wireName(name), value, `have length greater than or equal to ${min}`))
  }
  if (value.length > max) {
    return Effect.fail(StreamsErrors.constraint(wireName(name), value, `have length less than or equal to ${max}`))
  }
  return Effect.succeed(value)
}

const requiredString = (input: Input, name: string, min: number, max: number): Check<string> =>
  Effect.flatMap(
    optionalString(input, name, min, max),
    (value) =>
      value === undefined
        ? Effect.fail(StreamsErrors.constraint(wireName(name), undefined, "not be null"))
        : Effect.succeed(value)
  )

const limit = (input: Input, max: number): Check<number> => {
  const value = field(input, "Limit")
  if (value === undefined) return Effect.succeed(max)
  if (typeof value !== "number" || !Number.isInteger(value)) {
    return Effect.fail(AwsError.serialization("Limit must be an integer"))
  }
  if (value < 1) return Effect.fail(StreamsErrors.constraint("limit", value, "have value greater than or equal to 1"))
  if (value > max) {
    return Effect.fail(StreamsErrors.constraint("limit", value, `have value less than or equal to ${max}`))
  }
  return Effect.succeed(value)
}

const streamArn = (input: Input, name: string, required: boolean): Check<string | undefined> =>
  Effect.flatMap(
    required ? requiredString(input, name, 37, 1024) : optionalString(input, name, 37, 1024),
    (arn) =>
      arn === undefined || STREAM_ARN.test(arn)
        ? Effect.succeed(arn)
        : Effect.fail(AwsError.validation(`Invalid StreamArn: ${arn}`))
  )

const stream = (streams: Streams, arn: string, now: number): Check<Stream> => {
  const found = streams.stream(arn, now)
  return found === undefined ? Effect.fail(StreamsErrors.streamNotFound(arn)) : Effect.succeed(found)
}

/** Items after `exclusiveStart` (by key order), at most `size` of them, and the last key when more follow. */
const page = <A>(items: ReadonlyArray<A>, key: (a: A) => string, exclusiveStart: string | undefined, size: number) => {
  const rest = exclusiveStart === undefined ? items : items.filter((item) => key(item) > exclusiveStart)
  const taken = rest.slice(0, size)
  return { taken, lastEvaluated: rest.length > size ? key(taken[taken.length - 1]!) : undefined }
}

const listStreams = (streams: Streams) => (input: Input) =>
  Effect.gen(function* () {
    const size = yield* limit(input, 100)
    const tableName = yield* optionalString(input, "TableName", 3, 255)
    const exclusiveStart = yield* streamArn(input, "ExclusiveStartStreamArn", false)
    const now = yield* Clock.currentTimeMillis
    const listed = streams.streams(now).filter((s) => tableName === undefined || s.table.name === tableName)
    const { taken, lastEvaluated } = page(listed, (s) => s.arn, exclusiveStart, size)
    return {
      Streams: taken.map((s) => ({ StreamArn: s.arn, TableName: s.table.name, StreamLabel: s.label })),
      ...(lastEvaluated === undefined ? {} : { LastEvaluatedStreamArn: lastEvaluated })
    }
  })

const describeShard = (shard: Shard) => ({
  ShardId: shard.id,
  SequenceNumberRange: {
    StartingSequenceNumber: shard.start.toString(),
    ...(shard.end === undefined ? {} : { EndingSequenceNumber: shard.end.toString() })
  },
  ...(shard.parentId === undefined ? {} : { ParentShardId: shard.parentId })
})

const describeStream = (streams: Streams) => (input: Input) =>
  Effect.gen(function* () {
    const arn = (yield* streamArn(input, "StreamArn", true))!
    const size = yield* limit(input, 100)
    const exclusiveStart = yield* optionalString(input, "ExclusiveStartShardId", 28, 65)
    const filter = field(input, "ShardFilter")
    let parentId: string | undefined
    if (filter !== undefined) {
      const type = yield* optionalString(input, "ShardFilter.Type", 0, 64)
      if (type !== "CHILD_SHARDS") {
        return yield* StreamsErrors.constraint("shardFilter.type", type, "satisfy enum value set: [CHILD_SHARDS]")
      }
      parentId = yield* requiredString(input, "ShardFilter.ShardId", 28, 65)
    }
    const now = yield* Clock.currentTimeMillis
    const found = yield* stream(streams, arn, now)
    const shards = parentId === undefined ? found.shards : found.shards.filter((s) => s.parentId === parentId)
    const { taken, lastEvaluated } = page(shards, (s) => s.id, exclusiveStart, size)
    return {
      StreamDescription: {
        StreamArn: found.arn,
        StreamLabel: found.label,
        StreamStatus: found.status,
        StreamViewType: found.viewType,
        CreationRequestDateTime: found.createdMs / 1000,
        TableName: found.table.name,
        KeySchema: found.table.keySchema.map(({ AttributeName, KeyType }) => ({ AttributeName, KeyType })),
        Shards: taken.map(describeShard),
        ...(lastEvaluated === undefined ? {} : { LastEvaluatedShardId: lastEvaluated })
      }
    }
  })

const getShardIterator = (streams: Streams) => (input: Input) =>
  Effect.gen(function* () {
    const arn = (yield* streamArn(input, "StreamArn", true))!
    const shardId = yield* requiredString(input, "ShardId", 28, 65)
    const type = yield* requiredString(input, "ShardIteratorType", 0, 64)
    if (!ITERATOR_TYPES.includes(type)) {
      return yield* StreamsErrors.constraint(
        "shardIteratorType",
        type,
        `satisfy enum value set: [${ITERATOR_TYPES.join(", ")}]`
      )
    }
    const text = yield* optionalString(input, "SequenceNumber", 21, 40)
    const positional = type === "AT_SEQUENCE_NUMBER" || type === "AFTER_SEQUENCE_NUMBER"
    if (positional && text === undefined) {
      return yield* AwsError.validation(`SequenceNumber is required for ShardIteratorType ${type}`)
    }
    if (!positional && text !== undefined) {
      return yield* AwsError.validation(`SequenceNumber must not be given for ShardIteratorType ${type}`)
    }
    if (text !== undefined && !/^[0-9]+$/.test(text)) {
      return yield* AwsError.validation(`Invalid SequenceNumber: ${text}`)
    }
    const now = yield* Clock.currentTimeMillis
    const found = yield* stream(streams, arn, now)
    const shard = found.shard(shardId)
    if (shard === undefined) return yield* StreamsErrors.shardNotFound()
    let from: bigint
    if (text === undefined) {
      from = type === "TRIM_HORIZON" ? found.trimHorizon(shard) : found.latest(shard)
    } else {
      const sequenceNumber = BigInt(text)
      if (!found.holds(shard, sequenceNumber)) {
        return yield* AwsError.validation(
          `Invalid SequenceNumber ${text} for shard ${shard.id}: it is outside the shard's range`
        )
      }
      from = type === "AT_SEQUENCE_NUMBER" ? sequenceNumber : sequenceNumber + 1n
      if (found.isTrimmed(shard, from)) return yield* StreamsErrors.trimmed()
    }
    return { ShardIterator: yield* streams.issueIterator(found, shard, from, now) }
  })

const getRecords = (streams: Streams) => (input: Input) =>
  Effect.gen(function* () {
    const token = yield* requiredString(input, "ShardIterator", 1, 2048)
    const size = yield* limit(input, 1000)
    const now = yield* Clock.currentTimeMillis
    const position = yield* streams.resolveIterator(token, now)
    const found = yield* stream(streams, position.streamArn, now)
    const shard = found.shard(position.shardId)
    if (shard === undefined) return yield* StreamsErrors.shardNotFound()
    if (found.isTrimmed(shard, position.from)) return yield* StreamsErrors.trimmed()
    const read = found.read(shard, position.from, size, MAX_RECORD_BYTES)
    const records = read.records.map((record) => record.wire)
    if (read.exhausted) return { Records: records }
    return { Records: records, NextShardIterator: yield* streams.issueIterator(found, shard, read.next, now) }
  })

export const make = (streams: Streams): Operations => ({
  ListStreams: listStreams(streams),
  DescribeStream: describeStream(streams),
  GetShardIterator: getShardIterator(streams),
  GetRecords: getRecords(streams)
})
