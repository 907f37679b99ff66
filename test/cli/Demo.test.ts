import { afterAll, assert, describe, it } from "@effect/vitest"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as PgliteSink from "../../adapters/sinks/PgliteSink.ts"
import * as DynamoJson from "../../core/DynamoJson.ts"
import { repoRoot, type Run, runNode } from "./run.ts"

const root = fs.mkdtempSync(path.join(os.tmpdir(), "backstream-demo-test-"))
afterAll(() => fs.rmSync(root, { recursive: true, force: true }))

/** The demo on Deno with every permission (it starts a server, runs PGlite's WebAssembly, writes its folder). */
const runDeno = (...args: ReadonlyArray<string>) =>
  new Promise<Run>((resolve, reject) => {
    const child = spawn(path.join(repoRoot, "node_modules/deno/deno"), ["run", "-A", "adapters/cli/main.ts", ...args], {
      cwd: repoRoot,
      env: { ...process.env, NO_COLOR: "1" }
    })
    let stdout = "", stderr = ""
    child.stdout.setEncoding("utf8").on("data", (data: string) => (stdout += data))
    child.stderr.setEncoding("utf8").on("data", (data: string) => (stderr += data))
    child.on("error", reject)
    child.on("close", (code) => resolve({ code, stdout, stderr }))
  })

const MATCHES = /The replica matches the table: ([\d,]+) items, equal item by item\./

/** The replica's rows, read back from the PGlite folder the demo left. */
const replicaRows = async (dir: string) => {
  const db = await PgliteSink.openDatabase(path.join(dir, "replica"))
  try {
    const count = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM public.orders")
    const sample = await db.query<{ item: string }>(
      // A backfilled item (version 0) the stream has not changed since: updates remove its NULL attribute.
      "SELECT _backstream_item::text AS item FROM public.orders WHERE _backstream_item ? 'receipt' "
        + "ORDER BY _backstream_version LIMIT 1"
    )
    return { count: count.rows[0]!.n, sample: sample.rows[0]?.item }
  } finally {
    await db.close()
  }
}

const checkRun = async (run: Run, dir: string) => {
  assert.strictEqual(run.code, 0, `${run.stderr}\n${run.stdout}`)
  const matched = MATCHES.exec(run.stdout)
  assert.isNotNull(matched, run.stdout)
  const items = Number(matched![1]!.replace(/,/g, ""))
  assert.isAbove(items, 200)
  assert.match(run.stdout, /backfill {2}export arn:aws:dynamodb:us-east-1:000000000000:table\/orders\/export\//)
  assert.match(run.stdout, /stream {4}[\d,]+ events applied \(c [\d,]+, u [\d,]+, d [\d,]+\)/)
  assert.include(run.stdout, `replica   ${path.join(dir, "replica")} (PGlite`)
  assert.include(run.stdout, 'node --input-type=module -e \'import { PGlite } from "@electric-sql/pglite"')

  const rows = await replicaRows(dir)
  assert.strictEqual(rows.count, items, "the PGlite folder holds a row for every item of the table")
  const item = DynamoJson.decodeItemUnsafe(JSON.parse(rows.sample!))
  assert.deepStrictEqual(
    [...item.values()].map((value) => value._tag).filter((tag, i, all) => all.indexOf(tag) === i).sort(),
    ["B", "BOOL", "BS", "L", "M", "N", "NS", "NULL", "S", "SS"],
    "a backfilled item holds every attribute type"
  )
}

describe("the demo (a bare `npm start`)", () => {
  it("on Node: replicates the emulator's table into PGlite on disk while writes go on, and checks it", async () => {
    const dir = path.join(root, "node")
    const run = await runNode("--items", "300", "--seconds", "2", "--dir", dir)
    await checkRun(run, dir)
    // Standard error is not a terminal here: plain progress lines, no control codes.
    assert.match(run.stderr, /waiting for export \S+: COMPLETED/)
    assert.match(run.stderr, /loading export \S+: 100% \(files 4\/4, items [\d,]+\/[\d,]+/)
    assert.match(run.stderr, /streaming: [\d,]+ events/)
    assert.notInclude(run.stderr, "\x1b")
    assert.isTrue(fs.existsSync(path.join(dir, ".gitignore")))
  }, 300_000)

  it("runs again in the same folder (emptied first); --quiet leaves standard error empty", async () => {
    const dir = path.join(root, "node")
    const run = await runNode("--items", "250", "--seconds", "1", "--dir", dir, "--quiet")
    await checkRun(run, dir)
    assert.strictEqual(run.stderr, "")
  }, 300_000)

  it("on Deno: the same", async () => {
    const dir = path.join(root, "deno")
    const run = await runDeno("--items", "300", "--seconds", "2", "--dir", dir)
    await checkRun(run, dir)
  }, 300_000)

  it("leaves a folder it did not make alone (exit 1); a bad --items is a usage error (exit 2)", async () => {
    const dir = path.join(root, "someone-else")
    fs.mkdirSync(dir)
    fs.writeFileSync(path.join(dir, "notes.txt"), "mine")
    const [refused, usage] = await Promise.all([
      runNode("--dir", dir),
      runNode("--items", "0", "--dir", path.join(root, "unused"))
    ])
    assert.strictEqual(refused.code, 1)
    assert.include(
      refused.stderr,
      `${dir} is not empty and was not made by the demo: pass --dir with a new or empty folder`
    )
    assert.deepStrictEqual(fs.readdirSync(dir), ["notes.txt"])
    assert.strictEqual(usage.code, 2)
    assert.include(usage.stderr, "--items must be at least 1")
  }, 120_000)
})
