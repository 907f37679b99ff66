/**
 * The CLI as a subprocess with an AWS environment pointed at an emulator process, tables and writes made with the SDK,
 * and the table and its replicas read back for item-by-item comparison. Free of the test framework: the `run` and
 * `check` suites (through test/cli/support/Replication.ts), the crash loop and its bench use it.
 */
import {
  CreateTableCommand,
  DeleteItemCommand,
  PutItemCommand,
  UpdateContinuousBackupsCommand,
  UpdateItemCommand
} from "@aws-sdk/client-dynamodb"
import { CreateBucketCommand } from "@aws-sdk/client-s3"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type * as AV from "../../core/AttributeValue.ts"
import type { ChangeEvent } from "../../core/ChangeEvent.ts"
import * as DynamoJson from "../../core/DynamoJson.ts"
import * as Envelope from "../../core/Envelope.ts"
import * as ItemKey from "../../core/ItemKey.ts"
import { clients } from "../emulator/support/sdk.ts"
import { repoRoot } from "./fixtures.ts"
import { model } from "./ReplicaModel.ts"

// The pinned SDK supports Node 20: no deprecation warning in the test output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true"

export const KEY_SCHEMA: ItemKey.KeySchema = { hash: { name: "pk", type: "S" }, range: { name: "sk", type: "N" } }
/** Every attribute name the workload writes besides the key. */
export const ATTRIBUTES = ["total", "blob", "tags", "nums", "doc", "v", "hits", "note"]

export interface Finished {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

export interface Running {
  readonly child: ChildProcess
  readonly stdout: () => string
  readonly stderr: () => string
  readonly finished: Promise<Finished>
}

/** The AWS SDK's environment for an emulator: fixed credentials and region, no instance metadata lookups. */
export const awsEnv = (): Record<string, string> => ({
  AWS_ACCESS_KEY_ID: "test",
  AWS_SECRET_ACCESS_KEY: "test",
  AWS_REGION: "us-east-1",
  AWS_EC2_METADATA_DISABLED: "true"
})

const cleanEnv = () => {
  const env: Record<string, string> = {}
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !name.startsWith("BACKSTREAM_") && !name.startsWith("AWS_")) env[name] = value
  }
  return env
}

let scratch: string | undefined
/** A folder of its own for runs without a `cwd`, so that default paths (./backstream-data…) stay out of the repository. */
const scratchFolder = () => {
  if (scratch === undefined) {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), "backstream-cli-cwd-"))
    process.once("exit", () => fs.rmSync(folder, { recursive: true, force: true }))
    scratch = folder
  }
  return scratch
}

export interface CliOptions {
  readonly env?: Record<string, string>
  readonly cwd?: string
  readonly runtime?: "node" | "deno"
  /** `"ignore"`: standard output is dropped, not kept (long runs); `Finished.stdout` is then empty. */
  readonly stdout?: "pipe" | "ignore"
}

/** Starts `node bin/backstream.mjs …args` with the AWS environment and `env`, in `cwd` (default a scratch folder). */
export const spawnCli = (args: ReadonlyArray<string>, options: CliOptions = {}): Running => {
  const [command, prefix] = options.runtime === "deno"
    ? [`${repoRoot}/node_modules/deno/deno`, ["run", "-A", `${repoRoot}/adapters/cli/main.ts`]]
    : [process.execPath, [`${repoRoot}/bin/backstream.mjs`]]
  const child = spawn(command, [...prefix, ...args], {
    cwd: options.cwd ?? scratchFolder(),
    env: { ...cleanEnv(), ...awsEnv(), NO_COLOR: "1", ...options.env },
    stdio: ["ignore", options.stdout ?? "pipe", "pipe"]
  })
  let stdout = "", stderr = ""
  child.stdout?.setEncoding("utf8").on("data", (data: string) => (stdout += data))
  child.stderr!.setEncoding("utf8").on("data", (data: string) => (stderr += data))
  const finished = new Promise<Finished>((resolve, reject) => {
    child.on("error", reject)
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }))
  })
  return { child, stdout: () => stdout, stderr: () => stderr, finished }
}

/** Runs the CLI to its end. */
export const runCli = (args: ReadonlyArray<string>, options: CliOptions = {}) => spawnCli(args, options).finished

/** Polls `check` until it returns true (or throws after `timeoutMs`, with `what` in the message). */
export const waitFor = async (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000) => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await check()) return
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

export const adminPost = async (url: string, route: string, body: unknown) => {
  const response = await fetch(`${url}/_backstream/${route}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body)
  })
  if (!response.ok) throw new Error(`POST ${route}: ${response.status} ${await response.text()}`)
  return response.json() as Promise<unknown>
}

export const clearFaults = async (url: string) => {
  await fetch(`${url}/_backstream/faults`, { method: "DELETE" })
}

/** A source on the emulator: tables created, written and read back. */
export const source = (url: string) => {
  const sdk = clients(url)
  let counter = 0

  const createTable = async (
    name: string,
    options: {
      readonly stream?: false | "KEYS_ONLY" | "NEW_IMAGE" | "NEW_AND_OLD_IMAGES"
      readonly pitr?: boolean
    } = {}
  ) => {
    const stream = options.stream ?? "NEW_AND_OLD_IMAGES"
    await sdk.dynamodb.send(
      new CreateTableCommand({
        TableName: name,
        AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }, {
          AttributeName: "sk",
          AttributeType: "N"
        }],
        KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }, { AttributeName: "sk", KeyType: "RANGE" }],
        BillingMode: "PAY_PER_REQUEST",
        ...(stream === false ? {} : { StreamSpecification: { StreamEnabled: true, StreamViewType: stream } })
      })
    )
    if (options.pitr !== false) {
      await sdk.dynamodb.send(
        new UpdateContinuousBackupsCommand({
          TableName: name,
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true }
        })
      )
    }
  }

  const createBucket = (bucket: string) => sdk.s3.send(new CreateBucketCommand({ Bucket: bucket }))

  /** Puts (every attribute type), updates and deletes over `keys` items. */
  const write = async (table: string, writes: number, keys = 30) => {
    for (let i = 0; i < writes; i++) {
      const n = ++counter
      const Key = { pk: { S: `item-${n % keys}` }, sk: { N: String(n % 2) } }
      const kind = n % 10
      if (kind < 6) {
        await sdk.dynamodb.send(
          new PutItemCommand({
            TableName: table,
            Item: {
              ...Key,
              total: { N: n % 2 === 0 ? "12345678901234567890123456789012345678" : `${n}.25` },
              blob: { B: new Uint8Array([0, n % 256, 255]) },
              tags: { SS: ["a", `t${n}`] },
              nums: { NS: ["1", "1E-130", `${n + 1000}`] },
              doc: { M: { list: { L: [{ S: "x" }, { NULL: true }, { BOOL: n % 2 === 0 }] } } },
              note: { S: `naïve ☃ ${n}` }
            }
          })
        )
      } else if (kind < 9) {
        await sdk.dynamodb.send(
          new UpdateItemCommand({
            TableName: table,
            Key,
            UpdateExpression: "SET v = :v ADD hits :one",
            ExpressionAttributeValues: { ":v": { N: String(n) }, ":one": { N: "1" } }
          })
        )
      } else {
        await sdk.dynamodb.send(new DeleteItemCommand({ TableName: table, Key }))
      }
    }
  }

  /** The table's items, read with a raw Scan (DynamoDB JSON on the wire), by encoded key. */
  const items = async (table: string): Promise<Map<string, AV.Item>> => {
    const out = new Map<string, AV.Item>()
    let start: unknown = undefined
    do {
      const response = await fetch(url, {
        method: "POST",
        headers: {
          "content-type": "application/x-amz-json-1.0",
          "x-amz-target": "DynamoDB_20120810.Scan",
          authorization:
            "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=x"
        },
        body: JSON.stringify({ TableName: table, ...(start === undefined ? {} : { ExclusiveStartKey: start }) })
      })
      if (!response.ok) throw new Error(`Scan ${table}: ${response.status} ${await response.text()}`)
      const page = await response.json() as { Items: Array<unknown>; LastEvaluatedKey?: unknown }
      for (const wire of page.Items) {
        const item = DynamoJson.decodeItemUnsafe(wire)
        out.set(ItemKey.encode(KEY_SCHEMA, item), item)
      }
      start = page.LastEvaluatedKey
    } while (start !== undefined)
    return out
  }

  const destroy = () => {
    sdk.dynamodb.destroy()
    sdk.streams.destroy()
    sdk.s3.destroy()
  }

  return { sdk, createTable, createBucket, write, items, destroy }
}

export type Source = ReturnType<typeof source>

/** The change events of a JSON-lines file. */
export const readEvents = (file: string): ReadonlyArray<ChangeEvent> =>
  fs.existsSync(file)
    ? fs.readFileSync(file, "utf8").split("\n").filter((line) => line !== "").map((line) => {
      const decoded = Envelope.decode(line)
      if (decoded._tag === "Left") throw new Error(`${file}: ${decoded.left.message}`)
      return decoded.right
    })
    : []

/** The items that a JSON-lines file's events leave (each applied above the version held). */
export const replayFile = (file: string) => model(KEY_SCHEMA, readEvents(file))

/** Events that appear more than once (the same export line or stream record). */
export const duplicates = (events: ReadonlyArray<ChangeEvent>): ReadonlyArray<string> => {
  const seen = new Set<string>()
  const repeated: Array<string> = []
  for (const event of events) {
    const id = event.position._tag === "Stream"
      ? `stream ${event.position.shardId} ${event.position.sequenceNumber}`
      : `export ${event.position.file}:${event.position.line}`
    if (seen.has(id)) repeated.push(id)
    seen.add(id)
  }
  return repeated
}
