/**
 * The CLI as a subprocess and the source table on the emulator, without vitest (the long mode runs under `npm run
 * bench`): the same as test/cli/support/Replication.ts, whose module imports the test framework.
 */
import { CreateTableCommand, UpdateContinuousBackupsCommand } from "@aws-sdk/client-dynamodb"
import { CreateBucketCommand } from "@aws-sdk/client-s3"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import type * as AV from "../../../core/AttributeValue.ts"
import type { ChangeEvent } from "../../../core/ChangeEvent.ts"
import * as DynamoJson from "../../../core/DynamoJson.ts"
import * as Envelope from "../../../core/Envelope.ts"
import * as ItemKey from "../../../core/ItemKey.ts"
import { clients } from "../../emulator/support/sdk.ts"
import { repoRoot } from "../../support/fixtures.ts"

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true"

export const KEY_SCHEMA: ItemKey.KeySchema = { hash: { name: "pk", type: "S" }, range: { name: "sk", type: "N" } }

export interface Finished {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stderr: string
}

export interface Running {
  readonly child: ChildProcess
  readonly stderr: () => string
  readonly finished: Promise<Finished>
}

const environment = () => {
  const env: Record<string, string> = {}
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !name.startsWith("BACKSTREAM_") && !name.startsWith("AWS_")) env[name] = value
  }
  return {
    ...env,
    AWS_ACCESS_KEY_ID: "test",
    AWS_SECRET_ACCESS_KEY: "test",
    AWS_REGION: "us-east-1",
    AWS_EC2_METADATA_DISABLED: "true",
    NO_COLOR: "1"
  }
}

/** Starts `node bin/backstream.mjs …args` in `cwd`, standard output ignored. */
export const spawnCli = (args: ReadonlyArray<string>, cwd: string): Running => {
  const child = spawn(process.execPath, [`${repoRoot}/bin/backstream.mjs`, ...args], {
    cwd,
    env: environment(),
    stdio: ["ignore", "ignore", "pipe"]
  })
  let stderr = ""
  child.stderr!.setEncoding("utf8").on("data", (data: string) => (stderr += data))
  const finished = new Promise<Finished>((resolve, reject) => {
    child.on("error", reject)
    child.on("close", (code, signal) => resolve({ code, signal, stderr }))
  })
  return { child, stderr: () => stderr, finished }
}

/** A source on the emulator: tables created and read back. */
export const source = (url: string) => {
  const sdk = clients(url)

  /** A table keyed `pk` (S) and `sk` (N), its stream NEW_AND_OLD_IMAGES, point-in-time recovery on. */
  const createTable = async (name: string) => {
    await sdk.dynamodb.send(
      new CreateTableCommand({
        TableName: name,
        AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }, {
          AttributeName: "sk",
          AttributeType: "N"
        }],
        KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }, { AttributeName: "sk", KeyType: "RANGE" }],
        BillingMode: "PAY_PER_REQUEST",
        StreamSpecification: { StreamEnabled: true, StreamViewType: "NEW_AND_OLD_IMAGES" }
      })
    )
    await sdk.dynamodb.send(
      new UpdateContinuousBackupsCommand({
        TableName: name,
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true }
      })
    )
  }

  const createBucket = (bucket: string) => sdk.s3.send(new CreateBucketCommand({ Bucket: bucket }))

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

  return { sdk, createTable, createBucket, items, destroy }
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
