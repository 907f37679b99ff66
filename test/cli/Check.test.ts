/**
 * `backstream check` as a user runs it: the CLI as a subprocess against the emulator as its own process, with good
 * and bad setups made with the SDK and access denied injected with the emulator's fault API.
 */
import { afterAll, afterEach, assert, beforeAll, describe, it } from "@effect/vitest"
import { type RunningEmulator, startEmulatorProcess } from "../support/EmulatorProcess.ts"
import { adminPost, clearFaults, type Finished, runCli, source } from "./support/Replication.ts"

const BUCKET = "exports"
let emulator: RunningEmulator
let src: ReturnType<typeof source>
let tables = 0

beforeAll(async () => {
  emulator = await startEmulatorProcess(["--clock", "real", "--export-seconds", "1"])
  src = source(emulator.url)
  await src.createBucket(BUCKET)
}, 60_000)

afterAll(async () => {
  src?.destroy()
  await emulator?.stop()
})

afterEach(() => clearFaults(emulator.url))

const freshTable = async (options?: Parameters<typeof src.createTable>[1]) => {
  const name = `check-${++tables}`
  await src.createTable(name, options)
  return name
}

const check = (table: string, ...flags: ReadonlyArray<string>) =>
  runCli(["check", "--table", table, "--endpoint", emulator.url, "--export-bucket", BUCKET, ...flags])

interface Result {
  readonly requirement: string
  readonly action?: string
  readonly status: "pass" | "fail" | "skip"
  readonly detail: string
  readonly fix?: string
}

const json = (run: Finished) => JSON.parse(run.stdout) as { ok: boolean; results: ReadonlyArray<Result> }

const failures = (run: Finished) => json(run).results.filter((result) => result.status === "fail")

/** The line of a requirement in the text table, and the fix below it. */
const lineOf = (run: Finished, requirement: string) => {
  const lines = run.stdout.split("\n")
  const index = lines.findIndex((line) => line.slice(6).startsWith(requirement + " "))
  assert.notStrictEqual(index, -1, `no line for ${requirement} in\n${run.stdout}`)
  return `${lines[index]}\n${lines[index + 1] ?? ""}`
}

// The checks that inject no fault run concurrently (each on its own table); then, one at a time, those that do (a
// fault applies to the whole emulator).
describe.concurrent("backstream check", { timeout: 300_000 }, () => {
  it("--help describes the command and its flags", async () => {
    const run = await runCli(["check", "--help"])
    assert.strictEqual(run.code, 0)
    for (const text of ["--table", "--export-bucket", "--format", "BACKSTREAM_TABLE", "nothing is written"]) {
      assert.include(run.stdout, text)
    }
  })

  it("a good setup passes every requirement it checks: exit 0", async () => {
    const table = await freshTable()
    await src.write(table, 3)
    const [run, asJson] = await Promise.all([check(table), check(table, "--format", "json")])
    assert.strictEqual(run.code, 0, run.stdout + run.stderr)
    assert.notInclude(run.stdout, "FAIL")
    for (
      const action of [
        "dynamodb:DescribeTable",
        "dynamodb:DescribeContinuousBackups",
        "dynamodb:ListStreams",
        "dynamodb:DescribeStream",
        "dynamodb:GetShardIterator",
        "dynamodb:GetRecords",
        "dynamodb:ListExports",
        "s3:GetBucketLocation",
        "s3:ListBucket"
      ]
    ) {
      assert.match(run.stdout, new RegExp(`^ok +[a-z -]+ +${action} `, "m"), `${action} checked:\n${run.stdout}`)
    }
    assert.match(run.stdout, /^skip +export started +dynamodb:ExportTableToPointInTime +not called/m)

    assert.strictEqual(asJson.code, 0, asJson.stderr)
    const document = json(asJson)
    assert.isTrue(document.ok)
    assert.isTrue(
      document.results.some((result) => result.action === "dynamodb:ListExports" && result.status === "pass")
    )
  })

  it("no stream: fails with the command that enables one", async () => {
    const table = await freshTable({ stream: false })
    const run = await check(table)
    assert.strictEqual(run.code, 1)
    const line = lineOf(run, "stream")
    assert.include(line, `table ${table} has no stream`)
    assert.include(line, `aws dynamodb update-table --table-name ${table} --stream-specification StreamEnabled=true`)
    assert.include(run.stderr, "1 of")
  })

  it("a KEYS_ONLY stream: fails, saying which view type is needed", async () => {
    const table = await freshTable({ stream: "KEYS_ONLY" })
    const run = await check(table)
    assert.strictEqual(run.code, 1)
    assert.include(
      lineOf(run, "stream view type"),
      "stream view type is KEYS_ONLY: NEW_IMAGE or NEW_AND_OLD_IMAGES is needed"
    )
  })

  it("PITR off: fails with the command that enables it, unless --backfill never", async () => {
    const table = await freshTable({ pitr: false })
    const [run, streamOnly] = await Promise.all([
      check(table),
      runCli(["check", "--table", table, "--endpoint", emulator.url, "--backfill", "never"])
    ])
    assert.strictEqual(run.code, 1)
    assert.include(
      lineOf(run, "point-in-time recovery"),
      `enable PITR: aws dynamodb update-continuous-backups --table-name ${table} `
        + "--point-in-time-recovery-specification PointInTimeRecoveryEnabled=true"
    )
    assert.strictEqual(streamOnly.code, 0, streamOnly.stdout)
    assert.match(streamOnly.stdout, /^skip +point-in-time recovery .*not needed with --backfill never/m)
  })

  it("a missing bucket, or none given: fails with what to do", async () => {
    const table = await freshTable()
    const [run, none] = await Promise.all([
      runCli(["check", "--table", table, "--endpoint", emulator.url, "--export-bucket", "no-such-bucket"]),
      runCli(["check", "--table", table, "--endpoint", emulator.url, "--format", "json"])
    ])
    assert.strictEqual(run.code, 1)
    assert.include(lineOf(run, "bucket location"), "bucket no-such-bucket not found")
    assert.include(lineOf(run, "bucket location"), "aws s3 mb s3://no-such-bucket")

    assert.strictEqual(none.code, 1)
    const failed = failures(none)
    assert.deepStrictEqual(failed.map((result) => result.requirement), ["export bucket"])
    assert.include(failed[0]!.fix, "--export-bucket")
  })

  it("a table that does not exist, and bad flags", async () => {
    const [missing, badFormat, badEndpoint] = await Promise.all([
      check("no-such-table"),
      runCli(["check", "--table", "t", "--format", "yaml"]),
      runCli(["check", "--table", "t", "--endpoint", "nowhere"])
    ])
    assert.strictEqual(missing.code, 1)
    assert.include(lineOf(missing, "table"), "table no-such-table not found")

    assert.strictEqual(badFormat.code, 2)
    assert.strictEqual(badEndpoint.code, 2)
    assert.include(badEndpoint.stderr, "expected an http:// or https:// URL")
  })
})

describe.sequential("backstream check", { timeout: 300_000 }, () => {
  it("AccessDenied on dynamodb:ListExports: fails, naming the action to add to the policy", async () => {
    const table = await freshTable()
    await adminPost(emulator.url, "faults", { kind: "access-denied", action: "ListExports" })
    const run = await check(table, "--format", "json")
    assert.strictEqual(run.code, 1)
    const failed = failures(run)
    assert.strictEqual(failed.length, 1, JSON.stringify(failed))
    assert.strictEqual(failed[0]!.action, "dynamodb:ListExports")
    assert.strictEqual(failed[0]!.detail, "AccessDenied on dynamodb:ListExports")
    assert.include(failed[0]!.fix, "add dynamodb:ListExports to the IAM policy")
  })

  it("AccessDenied on S3 and on the stream: each action named", async () => {
    const table = await freshTable()
    await adminPost(emulator.url, "faults", { kind: "access-denied", action: "s3:ListBucket" })
    await adminPost(emulator.url, "faults", { kind: "access-denied", action: "GetRecords" })
    const run = await check(table)
    assert.strictEqual(run.code, 1)
    assert.include(lineOf(run, "bucket listed"), "AccessDenied on s3:ListBucket")
    assert.include(lineOf(run, "records read"), "add dynamodb:GetRecords to the IAM policy")
  })
})
