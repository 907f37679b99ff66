/**
 * What the crash loop writes to a source table with the AWS SDK: a preload (BatchWriteItem), then puts, updates,
 * deletes and transactions over the preloaded keys and a few new ones, until stopped.
 */
import {
  BatchWriteItemCommand,
  DeleteItemCommand,
  type DynamoDBClient,
  PutItemCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand
} from "@aws-sdk/client-dynamodb"
import type { AttributeValue } from "@aws-sdk/client-dynamodb"

/** Every attribute the workload writes besides the key (`pk` S, `sk` N). */
export const ATTRIBUTES = ["v", "note", "tags", "doc", "blob", "hits", "flag"]

type Wire = Record<string, AttributeValue>

const keyOf = (k: number): Wire => ({ pk: { S: `item-${k}` }, sk: { N: String(k % 3) } })

const itemOf = (k: number, n: number): Wire => ({
  ...keyOf(k),
  v: { N: String(n) },
  note: { S: `naïve ☃ ${k}/${n}` },
  tags: { SS: ["a", `t${n % 7}`] },
  doc: { M: { list: { L: [{ S: "x" }, { NULL: true }, { N: `${n}.5` }] }, at: { N: String(n) } } },
  blob: { B: new Uint8Array([0, n % 256, 255]) },
  flag: { BOOL: n % 2 === 0 }
})

/** A small seeded generator: the same seed gives the same choices. */
export const random = (seed: number) => {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Writes `count` items (keys 0…count-1) with BatchWriteItem, a few requests in flight. */
export const preload = async (db: DynamoDBClient, table: string, count: number) => {
  const batches: Array<Array<Wire>> = []
  for (let k = 0; k < count; k += 25) {
    batches.push(Array.from({ length: Math.min(25, count - k) }, (_, i) => itemOf(k + i, 0)))
  }
  const worker = async () => {
    for (let batch = batches.pop(); batch !== undefined; batch = batches.pop()) {
      let requests: Array<{ PutRequest: { Item: Wire } }> = batch.map((Item) => ({ PutRequest: { Item } }))
      while (requests.length > 0) {
        const out = await db.send(new BatchWriteItemCommand({ RequestItems: { [table]: requests } }))
        requests = (out.UnprocessedItems?.[table] ?? []) as typeof requests
      }
    }
  }
  await Promise.all(Array.from({ length: 4 }, worker))
}

export interface WorkloadCounts {
  puts: number
  updates: number
  deletes: number
  transactions: number
  cancelled: number
}

export interface Workload {
  readonly counts: WorkloadCounts
  /** Stops the writes and resolves once the last one is answered. */
  readonly stop: () => Promise<void>
}

/**
 * Writes until stopped, one request at a time with `pauseMs` between them, over keys 0…keys+keys/10 (some new):
 * 45% puts, 25% updates (SET and ADD), 15% deletes, 15% transactions (a put, an update and a delete together).
 */
export const start = (
  db: DynamoDBClient,
  table: string,
  options: { readonly keys: number; readonly pauseMs: number; readonly seed: number }
): Workload => {
  const next = random(options.seed)
  const pick = () => Math.floor(next() * (options.keys + Math.ceil(options.keys / 10)))
  const counts: WorkloadCounts = { puts: 0, updates: 0, deletes: 0, transactions: 0, cancelled: 0 }
  let stopped = false
  let n = 0
  const update = (k: number) => ({
    TableName: table,
    Key: keyOf(k),
    UpdateExpression: "SET v = :v, note = :note ADD hits :one",
    ExpressionAttributeValues: { ":v": { N: String(n) }, ":note": { S: `updated ${n}` }, ":one": { N: "1" } }
  })
  const loop = (async () => {
    while (!stopped) {
      n++
      const roll = next()
      if (roll < 0.45) {
        await db.send(new PutItemCommand({ TableName: table, Item: itemOf(pick(), n) }))
        counts.puts++
      } else if (roll < 0.7) {
        await db.send(new UpdateItemCommand(update(pick())))
        counts.updates++
      } else if (roll < 0.85) {
        await db.send(new DeleteItemCommand({ TableName: table, Key: keyOf(pick()) }))
        counts.deletes++
      } else {
        const a = pick(), b = pick(), c = pick()
        if (a === b || b === c || a === c) continue
        try {
          await db.send(
            new TransactWriteItemsCommand({
              TransactItems: [
                { Put: { TableName: table, Item: itemOf(a, n) } },
                { Update: update(b) },
                { Delete: { TableName: table, Key: keyOf(c) } }
              ]
            })
          )
          counts.transactions++
        } catch (error) {
          if ((error as Error).name !== "TransactionCanceledException") throw error
          counts.cancelled++
        }
      }
      if (options.pauseMs > 0) await sleep(options.pauseMs)
    }
  })()
  // A failed write surfaces from stop().
  loop.catch(() => undefined)
  return {
    counts,
    stop: async () => {
      stopped = true
      await loop
    }
  }
}
