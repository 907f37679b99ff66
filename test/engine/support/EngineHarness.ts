/**
 * The engine end to end: the emulator in-process on a real clock (exports take a few hundred ms), served over HTTP
 * and reached through the real AWS adapters; a workload written with the SDK; the replica read back and compared with
 * the table item by item.
 */
import {
  CreateTableCommand,
  DeleteItemCommand,
  PutItemCommand,
  TransactWriteItemsCommand,
  UpdateContinuousBackupsCommand,
  UpdateItemCommand
} from "@aws-sdk/client-dynamodb"
import { CreateBucketCommand } from "@aws-sdk/client-s3"
import { Effect, Layer } from "effect"
import * as AwsClients from "../../../adapters/aws/AwsClients.ts"
import * as AwsObjectStore from "../../../adapters/aws/AwsObjectStore.ts"
import * as AwsStreamSource from "../../../adapters/aws/AwsStreamSource.ts"
import * as AwsTableControl from "../../../adapters/aws/AwsTableControl.ts"
import * as AV from "../../../core/AttributeValue.ts"
import type { ChangeEvent } from "../../../core/ChangeEvent.ts"
import * as DynamoJson from "../../../core/DynamoJson.ts"
import * as ItemKey from "../../../core/ItemKey.ts"
import * as Version from "../../../core/Version.ts"
import type * as EmulatorConfig from "../../../emulator/EmulatorConfig.ts"
import * as EmulatorInstance from "../../../emulator/EmulatorInstance.ts"
import * as NodeServer from "../../../emulator/NodeServer.ts"
import { clients, credentials } from "../../emulator/support/sdk.ts"

export const TABLE = "orders"
export const BUCKET = "exports"
export const KEY_SCHEMA = ItemKey.make("pk", "sk")

/** Engine settings for tests: polling and batching in milliseconds. */
export const quick = {
  capture: {
    idleDelay: { min: "5 millis", max: "40 millis" },
    retry: { base: "5 millis", max: "40 millis", retries: 30 },
    discoveryInterval: "50 millis"
  },
  exportPoll: { min: "50 millis", max: "200 millis" },
  batch: { maxEvents: 200, maxDelay: "20 millis" }
} as const

export type Items = ReadonlyMap<string, AV.Item>

/** Folds change events into the items they leave, by key, an event applied only above the version held. */
export const replay = (events: Iterable<ChangeEvent>): Items => {
  const items = new Map<string, { version: string; item: AV.Item | undefined }>()
  for (const event of events) {
    const key = ItemKey.encode(KEY_SCHEMA, event.key!)
    const version = Version.of(event)
    const held = items.get(key)
    if (held !== undefined && !Version.isNewer(version, held.version)) continue
    items.set(key, { version, item: event.op === "d" ? undefined : event.newImage })
  }
  const out = new Map<string, AV.Item>()
  for (const [key, { item }] of items) if (item !== undefined) out.set(key, item)
  return out
}

/** What differs between two sets of items, for an assertion message; empty when equal. */
export const differences = (expected: Items, actual: Items): ReadonlyArray<string> => {
  const out: Array<string> = []
  for (const [key, item] of expected) {
    const other = actual.get(key)
    if (other === undefined) out.push(`missing ${key}`)
    else if (!AV.itemEquals(item, other)) out.push(`differs ${key}`)
  }
  for (const key of actual.keys()) if (!expected.has(key)) out.push(`extra ${key}`)
  return out
}

export const make = (overrides: Partial<EmulatorConfig.EmulatorConfig> = {}) =>
  Effect.gen(function* () {
    const instance = yield* EmulatorInstance.make({ clock: "real", exportDurationMs: 300, ...overrides })
    const server = yield* NodeServer.serve(instance.emulator)
    // As the `emulator` command does: exports complete and TTL deletes happen as time passes.
    yield* instance.tick.pipe(Effect.delay("50 millis"), Effect.forever, Effect.forkScoped)
    const sdk = clients(server.url)
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        sdk.dynamodb.destroy()
        sdk.streams.destroy()
        sdk.s3.destroy()
      })
    )
    const send = <A>(run: () => Promise<A>) => Effect.promise(run)

    const aws = AwsClients.layer({ endpoint: server.url, region: "us-east-1", credentials })
    const sources = (bucket = BUCKET) =>
      Layer.mergeAll(AwsTableControl.layer, AwsStreamSource.layer, AwsObjectStore.layer({ bucket })).pipe(
        Layer.provide(aws)
      )

    const setup = (options: {
      readonly viewType?: "NEW_AND_OLD_IMAGES" | "NEW_IMAGE" | "OLD_IMAGE" | "KEYS_ONLY"
      readonly stream?: boolean
      readonly pitr?: boolean
      readonly bucket?: boolean
    } = {}) =>
      Effect.gen(function* () {
        yield* send(() =>
          sdk.dynamodb.send(
            new CreateTableCommand({
              TableName: TABLE,
              AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }, {
                AttributeName: "sk",
                AttributeType: "N"
              }],
              KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }, { AttributeName: "sk", KeyType: "RANGE" }],
              BillingMode: "PAY_PER_REQUEST",
              ...(options.stream === false ? {} : {
                StreamSpecification: {
                  StreamEnabled: true,
                  StreamViewType: options.viewType ?? "NEW_AND_OLD_IMAGES"
                }
              })
            })
          )
        )
        if (options.pitr !== false) {
          yield* send(() =>
            sdk.dynamodb.send(
              new UpdateContinuousBackupsCommand({
                TableName: TABLE,
                PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true }
              })
            )
          )
        }
        if (options.bucket !== false) yield* send(() => sdk.s3.send(new CreateBucketCommand({ Bucket: BUCKET })))
      })

    let counter = 0
    /** A mixed workload over `keys` items: puts (every attribute type), updates, deletes and a transaction. */
    const workload = (writes: number, keys = 40) =>
      Effect.gen(function* () {
        for (let i = 0; i < writes; i++) {
          const n = ++counter
          const pk = `order-${n % keys}`
          const Key = { pk: { S: pk }, sk: { N: String(n % 3) } }
          const kind = n % 10
          if (kind < 5) {
            yield* send(() =>
              sdk.dynamodb.send(
                new PutItemCommand({
                  TableName: TABLE,
                  Item: {
                    ...Key,
                    total: { N: n % 2 === 0 ? "12345678901234567890123456789012345678" : `${n}.50` },
                    blob: { B: new Uint8Array([0, n % 256, 255]) },
                    tags: { SS: ["a", `t${n}`] },
                    nums: { NS: ["1", "1E-130", `${n + 1000}`] },
                    doc: { M: { nested: { L: [{ S: "x" }, { NULL: true }, { BOOL: n % 2 === 0 }] } } },
                    "naïve ☃": { S: `unicode ${n}` }
                  }
                })
              )
            )
          } else if (kind < 8) {
            yield* send(() =>
              sdk.dynamodb.send(
                new UpdateItemCommand({
                  TableName: TABLE,
                  Key,
                  UpdateExpression: "SET v = :v ADD hits :one",
                  ExpressionAttributeValues: { ":v": { N: String(n) }, ":one": { N: "1" } }
                })
              )
            )
          } else if (kind < 9) {
            yield* send(() => sdk.dynamodb.send(new DeleteItemCommand({ TableName: TABLE, Key })))
          } else {
            yield* send(() =>
              sdk.dynamodb.send(
                new TransactWriteItemsCommand({
                  TransactItems: [
                    { Put: { TableName: TABLE, Item: { pk: { S: `tx-${n}` }, sk: { N: "0" }, v: { N: String(n) } } } },
                    {
                      Update: {
                        TableName: TABLE,
                        Key: { pk: { S: `order-${(n + 1) % keys}` }, sk: { N: "1" } },
                        UpdateExpression: "SET tx = :n",
                        ExpressionAttributeValues: { ":n": { N: String(n) } }
                      }
                    }
                  ]
                })
              )
            )
          }
        }
      })

    /** The table's items now, read from the emulator's own table (not through the engine). */
    const tableItems = Effect.gen(function* () {
      const output = yield* Effect.orDie(instance.tables.dynalite.run("Scan", { TableName: TABLE }))
      const items = new Map<string, AV.Item>()
      for (const wire of (output.Items ?? []) as Array<unknown>) {
        const item = DynamoJson.decodeItemUnsafe(wire)
        const key = ItemKey.fromItem(KEY_SCHEMA, item)
        if (key._tag === "Right") items.set(ItemKey.encode(KEY_SCHEMA, key.right), item)
      }
      return items as Items
    })

    return { instance, server, sdk, sources, setup, workload, tableItems }
  })

export type Harness = Effect.Effect.Success<ReturnType<typeof make>>
