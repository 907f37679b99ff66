/**
 * The crash loop (issue 7, point 1), short mode: for each sink — PGlite, a Postgres server, a JSON-lines file — the
 * CLI's `run` is killed with SIGKILL at random moments in every phase while a workload writes, restarted, and at the
 * end compared with the table item by item. Nothing may be lost; a SQL sink may hold no change applied twice; a
 * JSON-lines file may repeat only re-sends after a restart, in order. The three sinks run at once against one
 * emulator process, each on a table of its own. `npx tsx test/bench/main.ts CrashLoop` is the long mode.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { type RunningEmulator, startEmulatorProcess } from "../support/EmulatorProcess.ts"
import * as Postgres from "../support/Postgres.ts"
import { source } from "../support/CliProcess.ts"
import * as CrashLoop from "./support/CrashLoop.ts"
import { PHASES } from "./support/EngineRun.ts"
import * as Replicas from "./support/Replicas.ts"

const BUCKET = "crash-exports"
const KILLS = 6
const PLAN = ["waiting", "loading", "draining", "streaming"] as const
const seed = Number(process.env.BACKSTREAM_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31))

const hasPostgres = Postgres.binDir() !== undefined
const ci = process.env.CI !== undefined && process.env.CI !== "" && process.env.CI !== "false"
if (!hasPostgres) {
  if (ci) throw new Error(`crash loop: ${Postgres.missingMessage}`)
  console.warn(`NOTICE: the crash loop skips Postgres: ${Postgres.missingMessage}`)
}

let emulator: RunningEmulator
let src: ReturnType<typeof source>
let server: Postgres.PostgresServer | undefined
let dir: string

beforeAll(async () => {
  ;[emulator, server] = await Promise.all([
    startEmulatorProcess(["--clock", "real", "--export-seconds", "12"]),
    hasPostgres ? Postgres.start() : Promise.resolve(undefined)
  ])
  src = source(emulator.url)
  await src.createBucket(BUCKET)
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "backstream-crash-"))
}, 90_000)

afterAll(async () => {
  src?.destroy()
  await Promise.all([emulator?.stop(), server?.stop()])
  if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true })
})

const loop = async (name: string, replica: (folder: string) => Replicas.Replica, offset: number) => {
  const folder = path.join(dir, name)
  fs.mkdirSync(folder, { recursive: true })
  const report = await CrashLoop.run({
    source: src,
    endpoint: emulator.url,
    bucket: BUCKET,
    dir: folder,
    table: `crash_${name}`,
    replica: replica(folder),
    kills: KILLS,
    plan: PLAN,
    preload: 2000,
    pauseMs: 50,
    seed: seed + offset
  })
  console.log(`${CrashLoop.summary(report)} (seed ${seed + offset})`)
  assert.strictEqual(report.kills.length, KILLS)
  assert.deepStrictEqual(report.differences, [], "the replica differs from the table")
  assert.strictEqual(report.lost, 0)
  assert.strictEqual(report.wrong, 0)
  assert.deepStrictEqual(report.problems, [])
  if (report.exactlyOnce) {
    assert.strictEqual(report.duplicates, 0)
    assert.isAbove(report.changes, 0, "the change log saw the sink's writes")
  }
  // The spool drain lasts a fraction of a second once a run has loaded the export, and comes once: a kill aimed at it
  // may land just after it (then the drain cannot be aimed at again). Each sink must be killed in the other phases;
  // the drain must be hit by at least one of them (the long mode in `npm run bench` hits it for every sink).
  for (const phase of PHASES) {
    if (phase === "draining") continue
    assert.isAbove(report.byPhase[phase], 0, `no kill while ${phase}: ${JSON.stringify(report.kills)}`)
  }
  drained.push(report.byPhase.draining)
}

const drained: Array<number> = []

describe.concurrent("crash loop: SIGKILL in every phase, restart, compare", { timeout: 600_000 }, () => {
  afterAll(() => {
    if (drained.length === 0) return
    assert.isAbove(drained.reduce((sum, n) => sum + n, 0), 0, "no sink was killed while draining the spool")
  })

  it("PGlite", () => loop("pglite", (folder) => Replicas.pglite(path.join(folder, "db"), "crash_pglite"), 0))

  it.skipIf(!hasPostgres)("Postgres", () => loop("postgres", () => Replicas.postgres(server!.url, "crash_postgres"), 1))

  it("JSON lines", () => loop("jsonl", (folder) => Replicas.jsonl(path.join(folder, "out.jsonl")), 2))
})
