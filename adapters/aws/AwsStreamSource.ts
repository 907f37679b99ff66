/**
 * The `StreamSource` port over `@aws-sdk/client-dynamodb-streams`: DynamoDB Streams on AWS, or any endpoint that speaks
 * it (the emulator). Interrupting a call aborts its HTTP request.
 */
import {
  DescribeStreamCommand,
  type DescribeStreamCommandOutput,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListStreamsCommand
} from "@aws-sdk/client-dynamodb-streams"
import { Effect, Either, Layer } from "effect"
import { type InvalidAttributeValue, Unavailable } from "../../core/Errors.ts"
import * as SequenceNumber from "../../core/SequenceNumber.ts"
import {
  type RecordsPage,
  type Shard,
  type StreamDescription,
  StreamSource,
  type ViewType
} from "../../core/StreamSource.ts"
import { DynamoDBStreams } from "./AwsClients.ts"
import { type Call, toStreamSourceError } from "./internal/errors.ts"
import * as FromSdk from "./internal/fromSdk.ts"

const VIEW_TYPES: ReadonlySet<string> = new Set(["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"])
const STATUSES: ReadonlySet<string> = new Set(["ENABLING", "ENABLED", "DISABLING", "DISABLED"])

/** An answer that is not what the API promises: the service misbehaves, as when its body does not parse. */
const malformed = (action: string, reason: string) => new Unavailable({ action, reason: `malformed answer: ${reason}` })

const description = (
  output: DescribeStreamCommandOutput,
  action: string
): Effect.Effect<StreamDescription, Unavailable> => {
  const d = output.StreamDescription
  if (d === undefined) return Effect.fail(malformed(action, "no StreamDescription"))
  const keySchema = FromSdk.keySchema(d.KeySchema)
  if (d.StreamArn === undefined || d.TableName === undefined || keySchema === undefined) {
    return Effect.fail(malformed(action, "the stream's ARN, table name or key schema is missing"))
  }
  if (d.StreamViewType === undefined || !VIEW_TYPES.has(d.StreamViewType)) {
    return Effect.fail(malformed(action, `unknown StreamViewType ${d.StreamViewType}`))
  }
  if (d.StreamStatus === undefined || !STATUSES.has(d.StreamStatus)) {
    return Effect.fail(malformed(action, `unknown StreamStatus ${d.StreamStatus}`))
  }
  const shards: Array<Shard> = []
  for (const shard of d.Shards ?? []) {
    const start = shard.SequenceNumberRange?.StartingSequenceNumber
    const end = shard.SequenceNumberRange?.EndingSequenceNumber
    if (
      shard.ShardId === undefined || start === undefined || !SequenceNumber.isSequenceNumber(start)
      || (end !== undefined && !SequenceNumber.isSequenceNumber(end))
    ) {
      return Effect.fail(malformed(action, `shard ${shard.ShardId} has no valid id or sequence number range`))
    }
    shards.push({
      shardId: shard.ShardId,
      ...(shard.ParentShardId === undefined ? {} : { parentShardId: shard.ParentShardId }),
      startingSequenceNumber: start,
      ...(end === undefined ? {} : { endingSequenceNumber: end })
    })
  }
  return Effect.succeed({
    streamArn: d.StreamArn,
    streamLabel: d.StreamLabel ?? "",
    status: d.StreamStatus as StreamDescription["status"],
    viewType: d.StreamViewType as ViewType,
    tableName: d.TableName,
    keySchema,
    creationTimeMs: d.CreationRequestDateTime?.getTime() ?? 0,
    shards,
    ...(d.LastEvaluatedShardId === undefined ? {} : { lastEvaluatedShardId: d.LastEvaluatedShardId })
  })
}

export const make: Effect.Effect<StreamSource["Type"], never, DynamoDBStreams> = Effect.map(
  DynamoDBStreams,
  (client) => {
    const send = <A>(call: Call, run: (signal: AbortSignal) => Promise<A>) =>
      Effect.tryPromise({ try: run, catch: (error) => toStreamSourceError(call, error) })

    return StreamSource.of({
      listStreams: (request) => {
        const call: Call = { action: "dynamodb:ListStreams", resource: "table", name: request.tableName ?? "*" }
        return send(call, (abortSignal) =>
          client.send(
            new ListStreamsCommand({
              TableName: request.tableName,
              ExclusiveStartStreamArn: request.exclusiveStartStreamArn,
              Limit: request.limit
            }),
            { abortSignal }
          )).pipe(Effect.flatMap((output) => {
            const streams = []
            for (const stream of output.Streams ?? []) {
              if (stream.StreamArn === undefined || stream.TableName === undefined) {
                return Effect.fail(malformed(call.action, "a stream without its ARN or table name"))
              }
              streams.push({
                streamArn: stream.StreamArn,
                tableName: stream.TableName,
                streamLabel: stream.StreamLabel ?? ""
              })
            }
            return Effect.succeed({
              streams,
              ...(output.LastEvaluatedStreamArn === undefined
                ? {}
                : { lastEvaluatedStreamArn: output.LastEvaluatedStreamArn })
            })
          }))
      },

      describeStream: (request) => {
        const call: Call = { action: "dynamodb:DescribeStream", resource: "stream", name: request.streamArn }
        return send(call, (abortSignal) =>
          client.send(
            new DescribeStreamCommand({
              StreamArn: request.streamArn,
              ExclusiveStartShardId: request.exclusiveStartShardId,
              Limit: request.limit
            }),
            { abortSignal }
          )).pipe(Effect.flatMap((output) => description(output, call.action)))
      },

      getShardIterator: (request) => {
        const call: Call = {
          action: "dynamodb:GetShardIterator",
          resource: "stream",
          name: request.streamArn,
          shardId: request.shardId
        }
        const start = request.start
        return send(call, (abortSignal) =>
          client.send(
            new GetShardIteratorCommand({
              StreamArn: request.streamArn,
              ShardId: request.shardId,
              ShardIteratorType: start.type,
              SequenceNumber: start.type === "AT_SEQUENCE_NUMBER" || start.type === "AFTER_SEQUENCE_NUMBER"
                ? start.sequenceNumber
                : undefined
            }),
            { abortSignal }
          )).pipe(
            Effect.flatMap((output) =>
              output.ShardIterator === undefined
                ? Effect.fail(malformed(call.action, "no ShardIterator"))
                : Effect.succeed(output.ShardIterator)
            )
          )
      },

      getRecords: (request) => {
        const call: Call = { action: "dynamodb:GetRecords", resource: "shard", name: "(the iterator's shard)" }
        return send(
          call,
          (abortSignal) =>
            client.send(new GetRecordsCommand({ ShardIterator: request.iterator, Limit: request.limit }), {
              abortSignal
            })
        ).pipe(
          Effect.flatMap((output): Effect.Effect<RecordsPage, Unavailable | InvalidAttributeValue> => {
            // An answer without its record list (an empty body reads as `{}`) would otherwise pass for a closed shard
            // read to its end, and the records after it would be lost.
            if (!Array.isArray(output.Records)) return Effect.fail(malformed(call.action, "no Records list"))
            const next: unknown = output.NextShardIterator
            if (next !== undefined && next !== null && typeof next !== "string") {
              return Effect.fail(malformed(call.action, "NextShardIterator is not a string"))
            }
            return Either.match(FromSdk.records(output.Records), {
              onLeft: (invalid) => Effect.fail(invalid),
              onRight: (records) =>
                Effect.succeed(typeof next === "string" ? { records, nextIterator: next } : { records })
            })
          })
        )
      }
    })
  }
)

export const layer: Layer.Layer<StreamSource, never, DynamoDBStreams> = Layer.effect(StreamSource, make)
