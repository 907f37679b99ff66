/**
 * The least-privilege audit: the engine asks AWS for nothing beyond the policy the product documents. The demo and
 * `run` / `check` (the CLI as a subprocess against the emulator as its own process) run with access key ids of their
 * own; the emulator's request log, which names each request's caller, shows every action they used. A new action
 * fails the test, listed with its count. (The demo covers a SQL sink with its checkpoint inside and a spool folder;
 * `run` here a JSON-lines sink with its checkpoint and spool in S3; Secrets.test.ts audits its Postgres runs too.)
 */
import { DescribeTableCommand, DynamoDBClient, ListTablesCommand } from "@aws-sdk/client-dynamodb"
import { DynamoDBStreamsClient, ListStreamsCommand } from "@aws-sdk/client-dynamodb-streams"
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Demo from "../../adapters/cli/Demo.ts"
import * as DemoWorkload from "../../adapters/cli/DemoWorkload.ts"
import type { LoggedRequest } from "../../emulator/Emulator.ts"
import * as EmulatorInstance from "../../emulator/EmulatorInstance.ts"
import type { EmulatorResponse } from "../../emulator/Http.ts"
import * as NodeServer from "../../emulator/NodeServer.ts"
import { type RunningEmulator, startEmulatorProcess } from "../support/EmulatorProcess.ts"
import { type Finished, runCli, source } from "../cli/support/Replication.ts"
import { assertAttributed, assertUsed, assertWithinPolicy, CORE, counts } from "./support/Policy.ts"

const ok = (run: Finished) => assert.strictEqual(run.code, 0, `exit ${run.code}:\n${run.stderr}\n${run.stdout}`)

const requestsOf = async (url: string): Promise<ReadonlyArray<LoggedRequest>> =>
  ((await (await fetch(`${url}/_backstream/requests`)).json()) as { requests: Array<LoggedRequest> }).requests

const root = fs.mkdtempSync(path.join(os.tmpdir(), "backstream-least-privilege-"))
afterAll(() => fs.rmSync(root, { recursive: true, force: true }))

describe("the request log names each request's caller", () => {
  it("by the access key id of its signature, on every service; never the secret key nor the session token", async () => {
    const scope = Effect.runSync(Scope.make())
    try {
      const instance = await Effect.runPromise(EmulatorInstance.make({ clock: "virtual" }))
      const server = await Effect.runPromise(Scope.extend(NodeServer.serve(instance.emulator), scope))
      const credentials = (accessKeyId: string) => ({
        accessKeyId,
        secretAccessKey: `secret-of-${accessKeyId}`,
        sessionToken: `token-of-${accessKeyId}`
      })
      const base = { endpoint: server.url, region: "us-east-1" }
      const dynamodb = new DynamoDBClient({ ...base, credentials: credentials("AKIDTABLES") })
      const streams = new DynamoDBStreamsClient({ ...base, credentials: credentials("AKIDSTREAMS") })
      const s3 = new S3Client({ ...base, credentials: credentials("AKIDOBJECTS"), forcePathStyle: true })
      try {
        await dynamodb.send(new ListTablesCommand({}))
        await dynamodb.send(new DescribeTableCommand({ TableName: "missing" })).catch(() => undefined)
        await streams.send(new ListStreamsCommand({}))
        await s3.send(new CreateBucketCommand({ Bucket: "audit" }))
        await s3.send(new PutObjectCommand({ Bucket: "audit", Key: "a", Body: "x" }))
        await fetch(`${server.url}/audit/a`) // unsigned
      } finally {
        dynamodb.destroy()
        streams.destroy()
        s3.destroy()
      }
      // The fast path of the item operations, given the Authorization header.
      const answered = await new Promise<EmulatorResponse>((resolve) => {
        const body = new TextEncoder().encode(JSON.stringify({ TableName: "missing", Key: { pk: { S: "a" } } }))
        const authorization = "AWS4-HMAC-SHA256 Credential=AKIDDIRECT/20260101/us-east-1/dynamodb/aws4_request, "
          + "SignedHeaders=host, Signature=0"
        assert.isTrue(instance.emulator.handleDirect("DynamoDB_20120810.GetItem", body, resolve, authorization))
      })
      assert.strictEqual(answered.status, 400)

      const entries = await requestsOf(server.url)
      assert.deepStrictEqual(entries.map((entry) => [entry.action, entry.accessKeyId, entry.status]), [
        ["dynamodb:ListTables", "AKIDTABLES", 200],
        ["dynamodb:DescribeTable", "AKIDTABLES", 400],
        ["dynamodb:ListStreams", "AKIDSTREAMS", 200],
        ["s3:CreateBucket", "AKIDOBJECTS", 200],
        ["s3:PutObject", "AKIDOBJECTS", 200],
        ["s3:GetObject", undefined, 200],
        ["dynamodb:GetItem", "AKIDDIRECT", 400]
      ])
      const text = JSON.stringify(entries)
      assert.notMatch(text, /secret-of|token-of/)
    } finally {
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }
  })
})

describe("least privilege: the engine calls only the documented policy's actions", { timeout: 120_000 }, () => {
  it("the audit fails on any action outside the policy, listed with its count", () => {
    const used = new Map([["dynamodb:GetRecords", 5], ["dynamodb:Scan", 2], ["dynamodb:PutItem", 1]])
    assert.throws(() => assertWithinPolicy("the engine", used), /dynamodb:PutItem ×1, dynamodb:Scan ×2 \(all:/)
    assert.throws(() => assertUsed("the engine", used, CORE), /never called dynamodb:DescribeTable/)
  })

  it("in the demo (its own writes and Scan told apart by their access key id)", async () => {
    const file = path.join(root, "demo-requests.json")
    const run = await runCli(["--items", "30", "--seconds", "0", "--dir", path.join(root, "demo"), "--quiet"], {
      env: { [Demo.REQUEST_LOG_ENV]: file }
    })
    ok(run)
    const entries = (JSON.parse(fs.readFileSync(file, "utf8")) as { requests: Array<LoggedRequest> }).requests
    assertAttributed(entries)
    const callers = new Set(entries.map((entry) => entry.accessKeyId))
    assert.deepStrictEqual(
      [...callers].sort(),
      [Demo.ENGINE_ACCESS_KEY_ID, DemoWorkload.ACCESS_KEY_ID].sort(),
      "only the engine and the demo's workload called the emulator"
    )
    const engine = counts(entries, Demo.ENGINE_ACCESS_KEY_ID)
    assertWithinPolicy("the demo's engine", engine)
    assertUsed("the demo's engine", engine, CORE)
    // The audit would see a Scan or a write: the workload's are in the same log, under its own key.
    const workload = counts(entries, DemoWorkload.ACCESS_KEY_ID)
    assertUsed("the demo's workload", workload, ["dynamodb:PutItem", "dynamodb:BatchWriteItem", "dynamodb:Scan"])
  })

  describe("in `run` and `check`", () => {
    const BUCKET = "audit"
    let emulator: RunningEmulator
    let src: ReturnType<typeof source>

    beforeAll(async () => {
      emulator = await startEmulatorProcess(["--clock", "real", "--export-seconds", "1"])
      src = source(emulator.url)
      await src.createBucket(BUCKET)
    }, 60_000)

    afterAll(async () => {
      src?.destroy()
      await emulator?.stop()
    })

    it("into JSON lines with its checkpoint and spool in S3, and `check`", async () => {
      await src.createTable("audit")
      await src.write("audit", 20)
      const as = (accessKeyId: string) => ({ env: { AWS_ACCESS_KEY_ID: accessKeyId } })
      const flags = ["--table", "audit", "--endpoint", emulator.url, "--export-bucket", BUCKET]
      const [run, check] = await Promise.all([
        runCli([
          "run",
          ...flags,
          "--sink",
          `jsonl:${path.join(root, "replica.jsonl")}`,
          "--checkpoint",
          `s3://${BUCKET}/checkpoints/audit.json`,
          "--spool",
          `s3://${BUCKET}/spool/audit`,
          "--until",
          "caught-up",
          "--quiet"
        ], as("engine-run")),
        runCli(["check", ...flags], as("engine-check"))
      ])
      ok(run)
      ok(check)

      const entries = await requestsOf(emulator.url)
      assertAttributed(entries)
      const used = { run: counts(entries, "engine-run"), check: counts(entries, "engine-check") }
      assertWithinPolicy("run", used.run)
      assertWithinPolicy("check", used.check)
      assertUsed("run", used.run, [...CORE, "s3:PutObject", "s3:ListBucket"])
      assertUsed("check", used.check, [
        "dynamodb:DescribeTable",
        "dynamodb:DescribeContinuousBackups",
        "dynamodb:DescribeStream",
        "s3:GetBucketLocation"
      ])
    })
  })
})
