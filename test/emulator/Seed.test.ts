import {
  DescribeContinuousBackupsCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  QueryCommand,
  ScanCommand
} from "@aws-sdk/client-dynamodb"
import {
  type _Record,
  DescribeStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand
} from "@aws-sdk/client-dynamodb-streams"
import { HeadBucketCommand } from "@aws-sdk/client-s3"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as EmulatorInstance from "../../emulator/EmulatorInstance.ts"
import * as NodeServer from "../../emulator/NodeServer.ts"
import * as Seed from "../../emulator/Seed.ts"
import { repoRoot } from "../support/fixtures.ts"
import { clients } from "./support/sdk.ts"

const root = repoRoot
const T0 = Date.UTC(2026, 0, 14, 10, 0, 0)

const orders = {
  TableName: "orders",
  KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }, { AttributeName: "sk", KeyType: "RANGE" }],
  AttributeDefinitions: [
    { AttributeName: "pk", AttributeType: "S" },
    { AttributeName: "sk", AttributeType: "N" },
    { AttributeName: "status", AttributeType: "S" }
  ],
  GlobalSecondaryIndexes: [{
    IndexName: "by-status",
    KeySchema: [{ AttributeName: "status", KeyType: "HASH" }],
    Projection: { ProjectionType: "ALL" }
  }],
  StreamSpecification: { StreamEnabled: true, StreamViewType: "NEW_AND_OLD_IMAGES" },
  PointInTimeRecovery: true,
  TimeToLive: { AttributeName: "expiresAt" },
  Items: Array.from({ length: 30 }, (_, i) => ({
    pk: { S: `order-${i}` },
    sk: { N: String(i) },
    status: { S: i % 3 === 0 ? "open" : "closed" },
    tags: { SS: ["a", "b"] }
  }))
}

const seedText = JSON.stringify({
  tables: [orders, {
    TableName: "plain",
    KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
    AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }],
    ProvisionedThroughput: { ReadCapacityUnits: 5, WriteCapacityUnits: 5 }
  }],
  buckets: ["exports", "spool"]
})

const call = <A>(f: () => Promise<A>) => Effect.promise(f)

const readStream = (sdk: ReturnType<typeof clients>, streamArn: string) =>
  call(async () => {
    const description = await sdk.streams.send(new DescribeStreamCommand({ StreamArn: streamArn }))
    const records: Array<_Record> = []
    for (const shard of description.StreamDescription!.Shards!) {
      let iterator = (await sdk.streams.send(
        new GetShardIteratorCommand({
          StreamArn: streamArn,
          ShardId: shard.ShardId!,
          ShardIteratorType: "TRIM_HORIZON"
        })
      )).ShardIterator
      while (iterator !== undefined) {
        const page = await sdk.streams.send(new GetRecordsCommand({ ShardIterator: iterator }))
        records.push(...page.Records!)
        if (page.Records!.length === 0) break
        iterator = page.NextShardIterator
      }
    }
    return records
  })

const seeded = (text: string) =>
  Effect.gen(function* () {
    const instance = yield* EmulatorInstance.make({ clock: "virtual", startTimeMs: T0 })
    const seed = yield* Seed.parse(text, "seed.json")
    const summary = yield* Seed.apply(instance.emulator, seed, "seed.json")
    const server = yield* NodeServer.serve(instance.emulator)
    return { instance, summary, sdk: clients(server.url) }
  })

const errorOf = (text: string) =>
  Effect.gen(function* () {
    const parsed = Seed.parse(text, "bad.json")
    if (Either.isLeft(parsed)) return parsed.left
    const instance = yield* EmulatorInstance.make({ clock: "virtual", startTimeMs: T0 })
    return yield* Effect.flip(Seed.apply(instance.emulator, parsed.right, "bad.json"))
  })

const table = (extra: Record<string, unknown>) => ({
  TableName: "things",
  KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
  AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }],
  ...extra
})

describe("emulator seed", () => {
  it.scoped("creates the tables, items and buckets, with stream records and PITR history for the seed writes", () =>
    Effect.gen(function* () {
      const { sdk, summary } = yield* seeded(seedText)
      assert.deepStrictEqual(summary, { tables: 2, items: 30, buckets: 2 })
      const scanned = yield* call(() => sdk.dynamodb.send(new ScanCommand({ TableName: "orders" })))
      assert.strictEqual(scanned.Count, 30)
      const open = yield* call(() =>
        sdk.dynamodb.send(
          new QueryCommand({
            TableName: "orders",
            IndexName: "by-status",
            KeyConditionExpression: "#s = :open",
            ExpressionAttributeNames: { "#s": "status" },
            ExpressionAttributeValues: { ":open": { S: "open" } }
          })
        )
      )
      assert.strictEqual(open.Count, 10)
      const described = yield* call(() => sdk.dynamodb.send(new DescribeTableCommand({ TableName: "orders" })))
      assert.strictEqual(described.Table!.StreamSpecification!.StreamViewType, "NEW_AND_OLD_IMAGES")
      const records = yield* readStream(sdk, described.Table!.LatestStreamArn!)
      assert.strictEqual(records.length, 30)
      assert.isTrue(records.every((record) => record.eventName === "INSERT"))
      assert.deepStrictEqual(
        records.map((record) => record.dynamodb!.NewImage!.pk!.S).sort(),
        orders.Items.map((item) => item.pk.S).sort()
      )
      const backups = yield* call(() =>
        sdk.dynamodb.send(new DescribeContinuousBackupsCommand({ TableName: "orders" }))
      )
      assert.strictEqual(
        backups.ContinuousBackupsDescription!.PointInTimeRecoveryDescription!.PointInTimeRecoveryStatus,
        "ENABLED"
      )
      const ttl = yield* call(() => sdk.dynamodb.send(new DescribeTimeToLiveCommand({ TableName: "orders" })))
      assert.deepStrictEqual(ttl.TimeToLiveDescription, { TimeToLiveStatus: "ENABLED", AttributeName: "expiresAt" })
      const plain = yield* call(() => sdk.dynamodb.send(new DescribeTableCommand({ TableName: "plain" })))
      assert.strictEqual(plain.Table!.ProvisionedThroughput!.ReadCapacityUnits, 5)
      assert.isUndefined(plain.Table!.LatestStreamArn)
      for (const bucket of ["exports", "spool"]) {
        yield* call(() => sdk.s3.send(new HeadBucketCommand({ Bucket: bucket })))
      }
    }))

  it.scoped("the PITR history holds the seed items: an export at the seed time has them", () =>
    Effect.gen(function* () {
      const { instance } = yield* seeded(seedText)
      assert.strictEqual(instance.tables.history.snapshotAt("orders", T0).length, 30)
    }))

  const bad: ReadonlyArray<readonly [string, string, string]> = [
    ["not JSON", "{ tables: [", "$: not JSON"],
    ["not an object", "[]", "$: a seed must be a JSON object"],
    ["an unknown top-level field", JSON.stringify({ tabels: [] }), "$.tabels: unknown field"],
    ["an unknown table field", JSON.stringify({ tables: [table({ Itemz: [] })] }), "$.tables[0].Itemz: unknown field"],
    ["no KeySchema", JSON.stringify({ tables: [table({ KeySchema: undefined })] }), "$.tables[0].KeySchema"],
    [
      "an invalid item",
      JSON.stringify({ tables: [table({ Items: [{ id: { S: "a" } }, { id: { S: "b" }, n: { N: "twelve" } }] })] }),
      "$.tables[0].Items[1].n.N:"
    ],
    [
      "a duplicate table",
      JSON.stringify({ tables: [table({}), table({})] }),
      "$.tables[1].TableName: table things is already defined at $.tables[0]"
    ],
    ["a duplicate bucket", JSON.stringify({ buckets: ["b1", "b1"] }), "$.buckets[1]: bucket b1 is already listed"],
    [
      "PointInTimeRecovery not a boolean",
      JSON.stringify({ tables: [table({ PointInTimeRecovery: "yes" })] }),
      "$.tables[0].PointInTimeRecovery"
    ],
    [
      "an item without its key",
      JSON.stringify({ tables: [table({ Items: [{ id: { S: "a" } }, { other: { S: "b" } }] })] }),
      "$.tables[0].Items[1]: PutItem failed: ValidationException"
    ],
    [
      "a key attribute of the wrong type",
      JSON.stringify({ tables: [table({ Items: [{ id: { N: "1" } }] })] }),
      "$.tables[0].Items[0]: PutItem failed: ValidationException"
    ],
    [
      "a table CreateTable refuses",
      JSON.stringify({ tables: [table({ KeySchema: [{ AttributeName: "nope", KeyType: "HASH" }] })] }),
      "$.tables[0]: CreateTable failed: ValidationException"
    ],
    [
      "an invalid bucket name",
      JSON.stringify({ buckets: ["Not_A_Bucket"] }),
      "$.buckets[0]: CreateBucket Not_A_Bucket failed: InvalidBucketName"
    ]
  ]
  for (const [name, text, expected] of bad) {
    it.scoped(`a seed with ${name} is a SeedError naming the file and the JSON path`, () =>
      Effect.gen(function* () {
        const error = yield* errorOf(text)
        assert.strictEqual(error._tag, "SeedError")
        assert.include(error.message, `seed bad.json: ${expected}`)
      }))
  }
})

const run = (args: ReadonlyArray<string>) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, ["bin/backstream.mjs", ...args], {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = "", stderr = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
    child.on("error", reject)
    child.on("exit", (code) => resolve({ code, stdout, stderr }))
  })

describe("emulator --seed on the command line", () => {
  it("a bad seed file stops the emulator with exit code 1 and a one-line error, no stack trace", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "backstream-seed-"))
    try {
      const file = path.join(dir, "seed.json")
      fs.writeFileSync(file, JSON.stringify({ tables: [table({ Items: [{ id: { S: "a" }, n: { N: "x" } }] })] }))
      const result = await run(["emulator", "--port", "0", "--clock", "virtual", "--seed", file])
      assert.strictEqual(result.code, 1)
      const lines = result.stderr.trim().split("\n")
      assert.strictEqual(lines.length, 1)
      assert.isTrue(lines[0]!.startsWith(`error: seed ${file}: $.tables[0].Items[0].n.N: `), lines[0])
      const missing = await run(["emulator", "--port", "0", "--seed", path.join(dir, "missing.json")])
      assert.strictEqual(missing.code, 2)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)
})
