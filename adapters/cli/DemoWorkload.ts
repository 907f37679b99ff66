/**
 * The demo's source table and what is written to it, through the emulator's endpoint as any DynamoDB client would
 * (the AWS JSON 1.0 protocol over `fetch`): a first load of orders, then a mixed workload of puts, updates, deletes,
 * transactions and items whose TTL has passed, until told to stop.
 */
import { Clock, Data, Effect, Ref } from "effect"
import * as AV from "../../core/AttributeValue.ts"
import * as DynamoJson from "../../core/DynamoJson.ts"
import * as ItemKey from "../../core/ItemKey.ts"

export const TABLE = "orders"
export const BUCKET = "backstream-demo-exports"
export const TTL_ATTRIBUTE = "expires"
export const KEY_SCHEMA: ItemKey.KeySchema = { hash: { name: "pk", type: "S" }, range: { name: "sk", type: "N" } }

export class DemoError extends Data.TaggedError("DemoError")<{ readonly reason: string }> {
  override get message() {
    return this.reason
  }
}

type Json = Record<string, unknown>

export interface Client {
  /** One DynamoDB action (`PutItem`, …); fails with the service's error type and message. */
  readonly call: (action: string, input: Json) => Effect.Effect<Json, DemoError>
  readonly createBucket: (name: string) => Effect.Effect<void, DemoError>
}

/**
 * The access key id of the demo's own requests (the setup, the workload, the final Scan): the engine has another, so
 * the emulator's request log tells them apart. The emulator checks no signature.
 */
export const ACCESS_KEY_ID = "backstream-demo-workload"

const AUTHORIZATION = `AWS4-HMAC-SHA256 Credential=${ACCESS_KEY_ID}/20260101/us-east-1/dynamodb/aws4_request, `
  + "SignedHeaders=host, Signature=0"

export const client = (endpoint: string): Client => {
  const request = (path: string, init: RequestInit, what: string) =>
    Effect.tryPromise({
      try: async () => {
        const response = await fetch(`${endpoint}${path}`, {
          ...init,
          headers: { ...init.headers as Record<string, string>, authorization: AUTHORIZATION }
        })
        return { status: response.status, text: await response.text() }
      },
      catch: (cause) => new DemoError({ reason: `${what}: the emulator did not answer (${String(cause)})` })
    })
  return {
    call: (action, input) =>
      Effect.flatMap(
        request("/", {
          method: "POST",
          headers: { "content-type": "application/x-amz-json-1.0", "x-amz-target": `DynamoDB_20120810.${action}` },
          body: JSON.stringify(input)
        }, action),
        ({ status, text }) => {
          const body = (text === "" ? {} : JSON.parse(text)) as Json
          if (status === 200) return Effect.succeed(body)
          const type = String(body.__type ?? status)
          return Effect.fail(
            new DemoError({ reason: `${action}: ${type.slice(type.indexOf("#") + 1)}: ${String(body.message ?? "")}` })
          )
        }
      ),
    createBucket: (name) =>
      Effect.flatMap(
        request(`/${name}`, { method: "PUT" }, "CreateBucket"),
        ({ status, text }) =>
          status === 200
            ? Effect.void
            : Effect.fail(new DemoError({ reason: `CreateBucket ${name}: ${status} ${text}` }))
      )
  }
}

/** The table with point-in-time recovery and TTL on `expires` (its stream comes later), and the export bucket. */
export const createTable = (db: Client) =>
  Effect.gen(function* () {
    yield* db.call("CreateTable", {
      TableName: TABLE,
      AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }, { AttributeName: "sk", AttributeType: "N" }],
      KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }, { AttributeName: "sk", KeyType: "RANGE" }],
      BillingMode: "PAY_PER_REQUEST"
    })
    for (;;) {
      const described = yield* db.call("DescribeTable", { TableName: TABLE })
      if ((described.Table as Json | undefined)?.TableStatus === "ACTIVE") break
      yield* Effect.sleep("10 millis")
    }
    yield* db.call("UpdateContinuousBackups", {
      TableName: TABLE,
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true }
    })
    yield* db.call("UpdateTimeToLive", {
      TableName: TABLE,
      TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true }
    })
    yield* db.createBucket(BUCKET)
  })

/** Enables the table's stream, NEW_AND_OLD_IMAGES. */
export const enableStream = (db: Client) =>
  db.call("UpdateTable", {
    TableName: TABLE,
    StreamSpecification: { StreamEnabled: true, StreamViewType: "NEW_AND_OLD_IMAGES" }
  })

/** A small seeded generator, so that a run's workload is the same each time (the interleaving aside). */
const generator = (seed: number) => {
  let state = seed >>> 0
  return (below: number) => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * below)
  }
}

const NAMES = ["Ada", "Grace", "Édouard", "王小明", "Zoë 🚀", "Ωmega"]
const TOTALS = ["12345678901234567890123456789012345678", "-0.000000000000000000000000000000000001", "1E+125", "19.99"]

const keyOf = (k: number) => ({ pk: { S: `customer#${Math.floor(k / 4)}` }, sk: { N: String((k % 4) + 1) } })

/** Order `k` at `version`: every attribute type, 38-digit numbers, binary, sets, nested maps and lists. */
const order = (k: number, version: number, expires?: number) =>
  DynamoJson.encodeItem(AV.item({
    pk: AV.s(`customer#${Math.floor(k / 4)}`),
    sk: AV.n(String((k % 4) + 1)),
    customer: AV.s(NAMES[k % NAMES.length]!),
    total: AV.n(TOTALS[(k + version) % TOTALS.length]!),
    receipt: AV.b(Uint8Array.of(0x25, 0x50, 0x44, 0x46, k & 255, version & 255)),
    paid: AV.bool((k + version) % 3 !== 0),
    coupon: AV.nul,
    address: AV.m(AV.item({
      city: AV.s("Stockholm"),
      zip: AV.n("11122"),
      geo: AV.l([AV.n("59.3293"), AV.n("18.0686")]),
      floor: AV.nul
    })),
    lines: AV.l([
      AV.m(AV.item({ sku: AV.s(`sku-${k % 50}`), qty: AV.n(String(1 + (version % 5))), price: AV.n("9.99") })),
      AV.m(AV.item({ sku: AV.s("gift-wrap"), qty: AV.n("1"), price: AV.n("0.000000000000000000000000000000000001") }))
    ]),
    tags: AV.ss(version === 0 ? ["demo", `cohort-${k % 7}`] : ["demo", `cohort-${k % 7}`, "changed"]),
    scores: AV.ns(["1", "2.5", "9.9999999999999999999999999999999999999E+125", String(1000 + version)]),
    attachments: AV.bs([Uint8Array.of(0), Uint8Array.of(1, 2, 3, k & 255)]),
    version: AV.n(String(version)),
    ...(expires === undefined ? {} : { [TTL_ATTRIBUTE]: AV.n(String(expires)) })
  }))

const nowSeconds = Effect.map(Clock.currentTimeMillis, (ms) => Math.floor(ms / 1000))

/**
 * Puts orders 0 to `items - 1` with BatchWriteItem, a few at a time; one in 40 gets a TTL a few seconds ahead (the
 * emulator deletes it then, as DynamoDB's TTL does, while the engine runs).
 */
export const load = (db: Client, items: number, onProgress: (done: number) => Effect.Effect<void>) =>
  Effect.gen(function* () {
    const now = yield* nowSeconds
    const done = yield* Ref.make(0)
    const batches = Array.from({ length: Math.ceil(items / 25) }, (_, i) => i * 25)
    yield* Effect.forEach(batches, (from) =>
      Effect.gen(function* () {
        let requests: Array<unknown> = []
        for (let k = from; k < Math.min(items, from + 25); k++) {
          requests.push({ PutRequest: { Item: order(k, 0, k % 40 === 39 ? now + 4 + (k % 5) : undefined) } })
        }
        const count = requests.length
        while (requests.length > 0) {
          const out = yield* db.call("BatchWriteItem", { RequestItems: { [TABLE]: requests } })
          requests = ((out.UnprocessedItems as Json | undefined)?.[TABLE] as Array<unknown> | undefined) ?? []
        }
        yield* onProgress(yield* Ref.updateAndGet(done, (n) => n + count))
      }), { concurrency: 4, discard: true })
  })

export interface Writes {
  puts: number
  updates: number
  deletes: number
  /** Puts of items whose TTL has already passed: the emulator's TTL deletes them moments later. */
  expiredPuts: number
  transactions: number
  /** Transactions the service cancelled (they changed nothing). */
  cancelled: number
}

export const total = (writes: Writes) =>
  writes.puts + writes.updates + writes.deletes + writes.expiredPuts + writes.transactions

/**
 * Writes a mixed workload over about `items` orders (a fifth more keys, so some puts are new items), at about
 * `perSecond` writes a second from a few concurrent writers, until `stop` holds true; returns what it wrote.
 */
export const mixed = (db: Client, options: { items: number; perSecond: number; stop: Ref.Ref<boolean> }) =>
  Effect.gen(function* () {
    const writes: Writes = { puts: 0, updates: 0, deletes: 0, expiredPuts: 0, transactions: 0, cancelled: 0 }
    const random = generator(20260114)
    const keys = Math.max(8, Math.ceil(options.items * 1.2))
    const startedMs = yield* Clock.currentTimeMillis
    let sequence = 0, version = 0

    const one = Effect.gen(function* () {
      const choice = random(100)
      const k = random(keys)
      version++
      if (choice < 35) {
        yield* db.call("PutItem", { TableName: TABLE, Item: order(k, version) })
        writes.puts++
      } else if (choice < 65) {
        yield* db.call("UpdateItem", {
          TableName: TABLE,
          Key: keyOf(k),
          UpdateExpression: "SET #total = :total, #paid = :paid, #v = :v ADD #visits :one, #tags :tag REMOVE #coupon",
          ExpressionAttributeNames: {
            "#total": "total",
            "#paid": "paid",
            "#v": "version",
            "#visits": "visits",
            "#tags": "tags",
            "#coupon": "coupon"
          },
          ExpressionAttributeValues: {
            ":total": { N: `${version}.${version % 100}` },
            ":paid": { BOOL: version % 2 === 0 },
            ":v": { N: String(version) },
            ":one": { N: "1" },
            ":tag": { SS: [`updated-${version % 3}`] }
          }
        })
        writes.updates++
      } else if (choice < 77) {
        yield* db.call("DeleteItem", { TableName: TABLE, Key: keyOf(k) })
        writes.deletes++
      } else if (choice < 85) {
        yield* db.call("PutItem", { TableName: TABLE, Item: order(k, version, (yield* nowSeconds) - 1) })
        writes.expiredPuts++
      } else {
        const [a, b, c] = [k, (k + 1 + random(keys - 2)) % keys, 0]
        const third = [c, c + 1, c + 2].find((x) => x !== a && x !== b)!
        const outcome = yield* Effect.either(db.call("TransactWriteItems", {
          TransactItems: [
            { Put: { TableName: TABLE, Item: order(a, version) } },
            {
              Update: {
                TableName: TABLE,
                Key: keyOf(b),
                UpdateExpression: "SET #total = :total ADD #visits :one",
                ExpressionAttributeNames: { "#total": "total", "#visits": "visits" },
                ExpressionAttributeValues: {
                  ":total": { N: "12345678901234567890123456789012345678" },
                  ":one": { N: "1" }
                }
              }
            },
            { Delete: { TableName: TABLE, Key: keyOf(third) } }
          ]
        }))
        if (outcome._tag === "Right") writes.transactions++
        else if (outcome.left.reason.includes("TransactionCanceled")) writes.cancelled++
        else return yield* outcome.left
      }
    })

    const writer = Effect.gen(function* () {
      while (!(yield* Ref.get(options.stop))) {
        const dueMs = startedMs + (sequence++ * 1000) / options.perSecond
        const waitMs = dueMs - (yield* Clock.currentTimeMillis)
        if (waitMs > 0) yield* Effect.sleep(waitMs)
        yield* one
      }
    })
    yield* Effect.all([writer, writer, writer, writer], { concurrency: "unbounded", discard: true })
    return writes
  })

/** Every item of the table, read with Scan through the endpoint (strongly consistent), by encoded key. */
export const scan = (db: Client) =>
  Effect.gen(function* () {
    const items = new Map<string, AV.Item>()
    let start: unknown = undefined
    do {
      const page: Json = yield* db.call("Scan", {
        TableName: TABLE,
        ConsistentRead: true,
        ...(start === undefined ? {} : { ExclusiveStartKey: start })
      })
      for (const wire of (page.Items ?? []) as Array<unknown>) {
        const item = DynamoJson.decodeItemUnsafe(wire)
        items.set(ItemKey.encode(KEY_SCHEMA, item), item)
      }
      start = page.LastEvaluatedKey
    } while (start !== undefined)
    return items
  })
