/**
 * A seed: tables (with their items) and buckets to create when an emulator starts, described in JSON with AWS's own
 * request shapes, so a table's definition can be copied from a CreateTable call:
 *
 * ```json
 * {
 *   "tables": [{
 *     "TableName": "orders",
 *     "KeySchema": [{ "AttributeName": "pk", "KeyType": "HASH" }],
 *     "AttributeDefinitions": [{ "AttributeName": "pk", "AttributeType": "S" }],
 *     "StreamSpecification": { "StreamEnabled": true, "StreamViewType": "NEW_AND_OLD_IMAGES" },
 *     "PointInTimeRecovery": true,
 *     "TimeToLive": { "AttributeName": "expiresAt" },
 *     "Items": [{ "pk": { "S": "order-1" }, "total": { "N": "12.5" } }]
 *   }],
 *   "buckets": ["exports"]
 * }
 * ```
 *
 * A table takes CreateTable's fields (BillingMode defaults to PAY_PER_REQUEST when no ProvisionedThroughput is given)
 * plus `PointInTimeRecovery`, `TimeToLive` and `Items` (DynamoDB JSON). The seed is applied through the emulator's
 * request handling, like requests over HTTP (CreateTable, UpdateContinuousBackups, UpdateTimeToLive, BatchWriteItem,
 * S3 CreateBucket), so the stream and the PITR history of a table record its seed items.
 */
import { Data, Effect, Either } from "effect"
import * as DynamoJson from "../core/DynamoJson.ts"
import type { Emulator } from "./Emulator.ts"
import { type EmulatorResponse, JSON_1_0 } from "./Http.ts"

/** A seed file that cannot be applied: which file, where in it (a JSON path) and why. */
export class SeedError extends Data.TaggedError("SeedError")<{
  readonly source: string
  readonly path: string
  readonly reason: string
}> {
  override get message() {
    return `seed ${this.source}: ${this.path}: ${this.reason}`
  }
}

export interface SeedTable {
  /** Where the table is in the seed file (`$.tables[0]`). */
  readonly path: string
  /** The CreateTable request, StreamSpecification included. */
  readonly createTable: Readonly<Record<string, unknown>>
  readonly pointInTimeRecovery: boolean
  readonly timeToLive?: string
  readonly items: ReadonlyArray<Readonly<Record<string, unknown>>>
}

export interface Seed {
  readonly tables: ReadonlyArray<SeedTable>
  readonly buckets: ReadonlyArray<string>
}

export interface SeedSummary {
  readonly tables: number
  readonly items: number
  readonly buckets: number
}

const CREATE_TABLE_FIELDS = [
  "TableName",
  "KeySchema",
  "AttributeDefinitions",
  "BillingMode",
  "ProvisionedThroughput",
  "OnDemandThroughput",
  "WarmThroughput",
  "GlobalSecondaryIndexes",
  "LocalSecondaryIndexes",
  "StreamSpecification",
  "SSESpecification",
  "TableClass",
  "Tags",
  "DeletionProtectionEnabled",
  "ResourcePolicy"
]
const SEED_FIELDS = ["PointInTimeRecovery", "TimeToLive", "Items"]
const TABLE_FIELDS = new Set([...CREATE_TABLE_FIELDS, ...SEED_FIELDS])
const BATCH = 25
const ACTIVE_ATTEMPTS = 1000

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const describe = (value: unknown): string =>
  value === null ? "null" : Array.isArray(value) ? "an array" : typeof value === "object" ? "an object" : typeof value

class Invalid {
  constructor(readonly path: string, readonly reason: string) {}
}

const invalid = (path: ReadonlyArray<string | number>, reason: string): never => {
  throw new Invalid(DynamoJson.formatPath(path), reason)
}

const parseTable = (
  json: unknown,
  at: ReadonlyArray<string | number>,
  seen: Map<string, string>
): SeedTable => {
  if (!isObject(json)) return invalid(at, `a table must be an object, not ${describe(json)}`)
  for (const field of Object.keys(json)) {
    if (!TABLE_FIELDS.has(field)) {
      invalid(
        [...at, field],
        `unknown field: a table takes CreateTable's fields (${CREATE_TABLE_FIELDS.join(", ")}) and ${
          SEED_FIELDS.join(", ")
        }`
      )
    }
  }
  const name = json.TableName
  if (typeof name !== "string" || name === "") {
    return invalid([...at, "TableName"], "TableName must be a non-empty string")
  }
  const previous = seen.get(name)
  if (previous !== undefined) invalid([...at, "TableName"], `table ${name} is already defined at ${previous}`)
  seen.set(name, DynamoJson.formatPath(at))
  for (const field of ["KeySchema", "AttributeDefinitions"]) {
    if (!Array.isArray(json[field])) invalid([...at, field], `${field} must be an array, as in CreateTable`)
  }
  const pitr = json.PointInTimeRecovery
  if (pitr !== undefined && typeof pitr !== "boolean") {
    invalid([...at, "PointInTimeRecovery"], `PointInTimeRecovery must be true or false, not ${describe(pitr)}`)
  }
  let timeToLive: string | undefined
  const ttl = json.TimeToLive
  if (ttl !== undefined) {
    const ttlAt = [...at, "TimeToLive"]
    if (!isObject(ttl)) return invalid(ttlAt, `TimeToLive must be an object like {"AttributeName": "expiresAt"}`)
    for (const field of Object.keys(ttl)) {
      if (field !== "AttributeName" && field !== "Enabled") {
        invalid([...ttlAt, field], "unknown field: TimeToLive takes AttributeName and Enabled")
      }
    }
    if (typeof ttl.AttributeName !== "string" || ttl.AttributeName === "") {
      invalid([...ttlAt, "AttributeName"], "AttributeName must be a non-empty string")
    }
    if (ttl.Enabled !== undefined && typeof ttl.Enabled !== "boolean") {
      invalid([...ttlAt, "Enabled"], "Enabled must be true or false")
    }
    if (ttl.Enabled !== false) timeToLive = ttl.AttributeName as string
  }
  const items = json.Items ?? []
  if (!Array.isArray(items)) return invalid([...at, "Items"], `Items must be an array of items, not ${describe(items)}`)
  items.forEach((item, index) => {
    if (!isObject(item)) invalid([...at, "Items", index], `an item must be an object, not ${describe(item)}`)
    const decoded = DynamoJson.decodeItemEither(item)
    if (Either.isLeft(decoded)) {
      const inner = decoded.left.path.slice(1)
      throw new Invalid(`${DynamoJson.formatPath([...at, "Items", index])}${inner}`, decoded.left.reason)
    }
  })
  const createTable: Record<string, unknown> = {}
  for (const field of CREATE_TABLE_FIELDS) {
    if (json[field] !== undefined) createTable[field] = json[field]
  }
  if (createTable.BillingMode === undefined && createTable.ProvisionedThroughput === undefined) {
    createTable.BillingMode = "PAY_PER_REQUEST"
  }
  return {
    path: DynamoJson.formatPath(at),
    createTable,
    pointInTimeRecovery: pitr === true,
    ...(timeToLive === undefined ? {} : { timeToLive }),
    items
  }
}

const parseDocument = (json: unknown): Seed => {
  if (!isObject(json)) {
    return invalid([], `a seed must be a JSON object with "tables" and "buckets", not ${describe(json)}`)
  }
  for (const field of Object.keys(json)) {
    if (field !== "tables" && field !== "buckets") invalid([field], `unknown field: a seed has "tables" and "buckets"`)
  }
  const tables = json.tables ?? []
  if (!Array.isArray(tables)) return invalid(["tables"], `tables must be an array, not ${describe(tables)}`)
  const seen = new Map<string, string>()
  const parsed = tables.map((table, index) => parseTable(table, ["tables", index], seen))
  const buckets = json.buckets ?? []
  if (!Array.isArray(buckets)) {
    return invalid(["buckets"], `buckets must be an array of names, not ${describe(buckets)}`)
  }
  const names = new Map<string, number>()
  buckets.forEach((bucket, index) => {
    if (typeof bucket !== "string" || bucket === "") invalid(["buckets", index], "a bucket is a non-empty name")
    const previous = names.get(bucket)
    if (previous !== undefined) {
      invalid(["buckets", index], `bucket ${bucket} is already listed at $.buckets[${previous}]`)
    }
    names.set(bucket, index)
  })
  return { tables: parsed, buckets }
}

/** Reads a seed from the text of a file (`source` names it in errors), checking its shape and every item. */
export const parse = (text: string, source: string): Either.Either<Seed, SeedError> => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    return Either.left(new SeedError({ source, path: "$", reason: `not JSON: ${(error as Error).message}` }))
  }
  try {
    return Either.right(parseDocument(json))
  } catch (error) {
    if (error instanceof Invalid) return Either.left(new SeedError({ source, path: error.path, reason: error.reason }))
    throw error
  }
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

const text = (response: EmulatorResponse): string =>
  typeof response.body === "string" ? response.body : decoder.decode(response.body)

const macrotask = Effect.async<void>((resume) => {
  const timer = setTimeout(() => resume(Effect.void), 1)
  return Effect.sync(() => clearTimeout(timer))
})

/** Applies a seed to an emulator through its request handling; stops at the first request that fails. */
export const apply = (emulator: Emulator, seed: Seed, source: string): Effect.Effect<SeedSummary, SeedError> =>
  Effect.gen(function* () {
    const fail = (path: string, reason: string) => new SeedError({ source, path, reason })
    const dynamodb = (operation: string, input: Record<string, unknown>, path: string) =>
      Effect.flatMap(
        emulator.handle({
          method: "POST",
          path: "/",
          query: new URLSearchParams(),
          headers: { "x-amz-target": `DynamoDB_20120810.${operation}`, "content-type": JSON_1_0 },
          body: encoder.encode(JSON.stringify(input))
        }),
        (response) => {
          let body: Record<string, unknown>
          try {
            body = JSON.parse(text(response) || "{}")
          } catch {
            return Effect.fail(fail(path, `${operation} failed: ${response.status}: ${text(response)}`))
          }
          if (response.status === 200) return Effect.succeed(body)
          const type = String(body.__type ?? "")
          return Effect.fail(
            fail(path, `${operation} failed: ${type.slice(type.indexOf("#") + 1)}: ${String(body.message ?? "")}`)
          )
        }
      )
    const putItems = (table: SeedTable, name: string, from: number, to: number) =>
      Effect.gen(function* () {
        let requests: Array<unknown> = table.items.slice(from, to).map((Item) => ({ PutRequest: { Item } }))
        const batch = yield* Effect.either(
          Effect.gen(function* () {
            while (requests.length > 0) {
              const out = yield* dynamodb("BatchWriteItem", { RequestItems: { [name]: requests } }, table.path)
              requests = (out.UnprocessedItems as Record<string, Array<unknown>> | undefined)?.[name] ?? []
            }
          })
        )
        if (Either.isRight(batch)) return
        // The batch failed as a whole: put its items one by one to name the one at fault.
        for (let index = from; index < to; index++) {
          yield* dynamodb("PutItem", { TableName: name, Item: table.items[index] }, `${table.path}.Items[${index}]`)
        }
        return yield* batch.left
      })
    let items = 0
    for (const [index, bucket] of seed.buckets.entries()) {
      const response = yield* emulator.handle({
        method: "PUT",
        path: `/${bucket}`,
        query: new URLSearchParams(),
        headers: {},
        body: new Uint8Array(0)
      })
      if (response.status !== 200) {
        const body = text(response)
        const code = /<Code>([^<]*)<\/Code>/.exec(body)?.[1] ?? String(response.status)
        const message = /<Message>([^<]*)<\/Message>/.exec(body)?.[1] ?? ""
        return yield* fail(`$.buckets[${index}]`, `CreateBucket ${bucket} failed: ${code}: ${message}`)
      }
    }
    for (const table of seed.tables) {
      const name = table.createTable.TableName as string
      yield* dynamodb("CreateTable", table.createTable, table.path)
      // dynalite makes a new table ACTIVE on its next turn of the event loop; its items wait until then.
      for (let attempt = 0;; attempt++) {
        const described = yield* dynamodb("DescribeTable", { TableName: name }, table.path)
        if ((described.Table as { TableStatus?: string } | undefined)?.TableStatus === "ACTIVE") break
        if (attempt >= ACTIVE_ATTEMPTS) return yield* fail(table.path, `table ${name} did not become ACTIVE`)
        yield* macrotask
      }
      if (table.pointInTimeRecovery) {
        yield* dynamodb(
          "UpdateContinuousBackups",
          { TableName: name, PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } },
          `${table.path}.PointInTimeRecovery`
        )
      }
      if (table.timeToLive !== undefined) {
        yield* dynamodb(
          "UpdateTimeToLive",
          { TableName: name, TimeToLiveSpecification: { Enabled: true, AttributeName: table.timeToLive } },
          `${table.path}.TimeToLive`
        )
      }
      for (let from = 0; from < table.items.length; from += BATCH) {
        yield* putItems(table, name, from, Math.min(from + BATCH, table.items.length))
      }
      items += table.items.length
    }
    return { tables: seed.tables.length, items, buckets: seed.buckets.length }
  })
