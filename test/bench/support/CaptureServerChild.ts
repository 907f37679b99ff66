/**
 * An emulator in a process of its own for the capture benchmark: a table whose stream has `shards` shards, preloaded
 * in-process with `records` records (about 150 bytes each, keys spread over every shard), then disabled so that
 * every shard is closed and a reader knows where the data ends. Virtual clock: nothing rolls over or expires while
 * it is read. Prints `{"url", "streamArn", "records", "shards"}` on one line once it serves; stops on SIGINT.
 *
 * Usage: node CaptureServerChild.mjs <records> <shards>
 */
import { Effect } from "effect"
import * as EmulatorInstance from "../../../emulator/EmulatorInstance.ts"
import * as NodeServer from "../../../emulator/NodeServer.ts"

const records = Number(process.argv[2] ?? 1_000_000)
const shards = Number(process.argv[3] ?? 64)
const TABLE = "bench_capture"

await Effect.runPromise(Effect.scoped(Effect.gen(function* () {
  const instance = yield* EmulatorInstance.make({ clock: "virtual", shardsPerStream: shards })
  const call = (operation: string, input: Record<string, unknown>) =>
    instance.tables.operations[operation]!(input).pipe(Effect.withClock(instance.clock), Effect.orDie)
  yield* call("CreateTable", {
    TableName: TABLE,
    AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }, { AttributeName: "sk", AttributeType: "N" }],
    KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }, { AttributeName: "sk", KeyType: "RANGE" }],
    BillingMode: "PAY_PER_REQUEST",
    StreamSpecification: { StreamEnabled: true, StreamViewType: "NEW_AND_OLD_IMAGES" }
  })
  const streamArn = instance.streams.current(TABLE)!.arn
  for (let i = 0; i < records; i++) {
    const pk = { S: `customer#${String(i % 50_000).padStart(6, "0")}` }
    const sk = { N: String(i) }
    const newImage = {
      pk,
      sk,
      status: { S: i % 3 === 0 ? "SHIPPED" : "PENDING" },
      total: { N: `${i % 997}.${i % 100}` },
      note: { S: "order placed through the web shop" }
    }
    instance.streams.append(TABLE, { keys: { pk, sk }, newImage, routingKey: `${pk.S}|${i}` })
  }
  yield* call("UpdateTable", { TableName: TABLE, StreamSpecification: { StreamEnabled: false } })
  const server = yield* NodeServer.serve(instance.emulator)
  process.stdout.write(`${JSON.stringify({ url: server.url, streamArn, records, shards })}\n`)
  yield* Effect.async<void>((resume) => {
    process.once("SIGINT", () => resume(Effect.void))
    process.once("SIGTERM", () => resume(Effect.void))
  })
})))
