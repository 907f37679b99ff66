/**
 * Reads every record of a stream over HTTP, in a process of its own, in one of two ways through the same SDK client:
 *
 * - `plain`: the floor, a bare loop of GetShardIterator (TRIM_HORIZON) and GetRecords (Limit 1000) per shard until
 *   the shard ends, `pollers` shards at a time, counting the SDK's records and nothing else;
 * - `capture`: `Capture.stream` through the AWS adapter, `maxPollers` = `pollers`, counting the events of its batches.
 *
 * Usage: node CaptureReaderChild.mjs <plain|capture> <url> <stream arn> <pollers>
 */
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand
} from "@aws-sdk/client-dynamodb-streams"
import { Effect, Layer, Stream } from "effect"
import * as AwsClients from "../../../adapters/aws/AwsClients.ts"
import * as AwsStreamSource from "../../../adapters/aws/AwsStreamSource.ts"
import * as Capture from "../../../core/Capture.ts"
import { measure } from "./Measurement.ts"

const [mode, url, streamArn, pollersText] = process.argv.slice(2)
if (url === undefined || streamArn === undefined) throw new Error("usage: <plain|capture> <url> <stream arn> <pollers>")
const pollers = Number(pollersText ?? 16)
const clientOptions = {
  endpoint: url,
  region: "us-east-1",
  credentials: { accessKeyId: "test", secretAccessKey: "test" },
  maxAttempts: 1
}

const plain = async (): Promise<{ items: number }> => {
  const client = new DynamoDBStreamsClient(clientOptions)
  const shardIds: Array<string> = []
  let start: string | undefined
  do {
    const page = await client.send(new DescribeStreamCommand({ StreamArn: streamArn, ExclusiveStartShardId: start }))
    for (const shard of page.StreamDescription?.Shards ?? []) shardIds.push(shard.ShardId!)
    start = page.StreamDescription?.LastEvaluatedShardId
  } while (start !== undefined)
  let items = 0
  const readShard = async (shardId: string) => {
    let iterator = (await client.send(
      new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: shardId, ShardIteratorType: "TRIM_HORIZON" })
    )).ShardIterator
    while (iterator !== undefined) {
      const page = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }))
      items += page.Records?.length ?? 0
      iterator = page.NextShardIterator
    }
  }
  let next = 0
  await Promise.all(Array.from({ length: pollers }, async () => {
    while (next < shardIds.length) await readShard(shardIds[next++]!)
  }))
  client.destroy()
  return { items }
}

const capture = (): Promise<{ items: number }> => {
  let items = 0
  const source = AwsStreamSource.layer.pipe(
    Layer.provide(Layer.scoped(AwsClients.DynamoDBStreams, AwsClients.makeDynamoDBStreams(clientOptions)))
  )
  return Effect.runPromise(
    Capture.stream({ streamArn, maxPollers: pollers }).pipe(
      Stream.runForEach((element) =>
        Effect.sync(() => {
          if (element._tag === "Batch") items += element.events.length
        })
      ),
      Effect.provide(source)
    )
  ).then(() => ({ items }))
}

if (mode !== "plain" && mode !== "capture") throw new Error(`unknown mode ${mode}: expected plain or capture`)
await measure(mode === "plain" ? plain : capture)
