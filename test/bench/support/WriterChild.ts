/**
 * A DynamoDB writer in a process of its own: PutItem through the JS SDK with a fixed number of requests in flight,
 * random keys, items of about 200 bytes; a warm-up, then a measured run of a fixed length. Fails on any error.
 *
 * Usage: node WriterChild.mjs <endpoint url> <table> <seconds> <in flight> <warm-up seconds>
 */
import { DynamoDBClient, PutItemCommand } from "@aws-sdk/client-dynamodb"
import { randomBytes } from "node:crypto"
import { measure } from "./Measurement.ts"

const [url, table, seconds, inFlight, warmUp] = process.argv.slice(2)
if (url === undefined || table === undefined) throw new Error("usage: <url> <table> <seconds> <in flight> <warm-up>")
const concurrency = Number(inFlight ?? 32)

const client = new DynamoDBClient({
  endpoint: url,
  region: "us-east-1",
  credentials: { accessKeyId: "test", secretAccessKey: "test" },
  maxAttempts: 1
})

const PAYLOAD = "p".repeat(96)

/** About 200 bytes by DynamoDB's item size: names plus values. */
const item = () => ({
  pk: { S: randomBytes(12).toString("hex") },
  sk: { N: String(Math.floor(Math.random() * 1e9)) },
  customer: { S: `customer-${randomBytes(6).toString("hex")}` },
  amount: { N: (Math.random() * 1000).toFixed(2) },
  status: { S: "PENDING" },
  payload: { S: PAYLOAD }
})

const writeFor = async (ms: number): Promise<number> => {
  const deadline = performance.now() + ms
  let count = 0
  const worker = async () => {
    while (performance.now() < deadline) {
      await client.send(new PutItemCommand({ TableName: table, Item: item() }))
      count++
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return count
}

await writeFor(Number(warmUp ?? 1) * 1000)
await measure(async () => ({ items: await writeFor(Number(seconds ?? 5) * 1000) }))
client.destroy()
