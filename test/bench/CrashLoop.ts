/**
 * The crash loop's long mode (issue 7, point 1; the short mode is test/crash/CrashLoop.test.ts): for each sink —
 * PGlite, a Postgres server (when its binary is installed), a JSON-lines file — 50 SIGKILLs of `backstream run`
 * (8 with `--quick`) at random moments in every phase while a workload writes, each followed by a restart; then the
 * writes stop, a last run catches up and the replica is compared with the table item by item. The sinks run at once
 * against one emulator process, each on a table of its own. Prints per sink: kills survived (by phase), items lost,
 * duplicates (SQL: changes applied twice; JSON lines: lines re-sent after a restart, which the format allows), median
 * and max recovery time (from the restart to its first progress line: its first batch applied and checkpointed, or
 * the export wait resumed). `BACKSTREAM_CRASH_SINKS=pglite,jsonl` picks sinks; `BACKSTREAM_CRASH_SEED` fixes the seed.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { source } from "../support/CliProcess.ts"
import * as CrashLoop from "../crash/support/CrashLoop.ts"
import { PHASES } from "../crash/support/EngineRun.ts"
import * as Replicas from "../crash/support/Replicas.ts"
import { startEmulatorProcess } from "../support/EmulatorProcess.ts"
import * as Postgres from "../support/Postgres.ts"
import { type Benchmark, type BenchOptions, table } from "./support/Harness.ts"

const BUCKET = "crash-exports"

const run = async (options: BenchOptions) => {
  const kills = options.quick ? 8 : 50
  const preload = options.quick ? 3000 : 12_000
  const seed = Number(process.env.BACKSTREAM_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31))
  const wanted = (process.env.BACKSTREAM_CRASH_SINKS ?? "pglite,postgres,jsonl").split(",")
  const withPostgres = wanted.includes("postgres") && Postgres.binDir() !== undefined
  if (wanted.includes("postgres") && !withPostgres) console.log(`Postgres skipped: ${Postgres.missingMessage}`)

  const [emulator, server] = await Promise.all([
    startEmulatorProcess(["--clock", "real", "--export-seconds", options.quick ? "12" : "20"]),
    withPostgres ? Postgres.start() : Promise.resolve(undefined)
  ])
  const src = source(emulator.url)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "backstream-crash-bench-"))
  try {
    await src.createBucket(BUCKET)
    const sinks: Array<[string, (folder: string) => Replicas.Replica]> = [
      ["pglite", (folder) => Replicas.pglite(path.join(folder, "db"), "crash_pglite")],
      ["postgres", () => Replicas.postgres(server!.url, "crash_postgres")],
      ["jsonl", (folder) => Replicas.jsonl(path.join(folder, "out.jsonl"))]
    ]
    const selected = sinks.filter(([name]) => wanted.includes(name) && (name !== "postgres" || withPostgres))
    console.log(
      `${kills} kills per sink (${selected.map(([name]) => name).join(", ")}), ${preload} items preloaded, `
        + `seed ${seed}`
    )
    const reports = await Promise.all(selected.map(async ([name, replica], i) => {
      const folder = path.join(dir, name)
      fs.mkdirSync(folder, { recursive: true })
      const report = await CrashLoop.run({
        source: src,
        endpoint: emulator.url,
        bucket: BUCKET,
        dir: folder,
        table: `crash_${name}`,
        replica: replica(folder),
        kills,
        plan: options.quick
          ? ["waiting", "loading", "loading", "draining", "streaming"]
          : ["waiting", "waiting", "loading", "loading", "loading", "loading", "draining", "draining", "draining"],
        preload,
        pauseMs: 30,
        seed: seed + i,
        phaseTimeoutMs: 180_000,
        onKill: (kill) =>
          console.log(
            `  ${name} kill ${kill.kill}: aimed at ${kill.aimedAt}, hit ${kill.phase} after ${
              (kill.livedMs / 1000).toFixed(1)
            } s; recovered in ${(kill.recoveryMs / 1000).toFixed(2)} s`
          )
      })
      console.log(CrashLoop.summary(report))
      return report
    }))
    const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`
    console.log(table([
      ["sink", "kills", ...PHASES, "items", "lost", "wrong", "duplicates", "recovery median", "max", "problems"],
      ...reports.map((report) => {
        const recovery = report.recoveryMs.filter(Number.isFinite)
        return [
          report.sink,
          String(report.kills.length),
          ...PHASES.map((phase) => String(report.byPhase[phase])),
          String(report.tableItems),
          String(report.lost),
          String(report.wrong),
          report.exactlyOnce ? String(report.duplicates) : `${report.duplicates} re-sent`,
          seconds(CrashLoop.median(recovery)),
          seconds(Math.max(0, ...recovery)),
          String(report.problems.length)
        ]
      })
    ]))
    for (const report of reports) {
      for (const problem of [...report.differences, ...report.problems].slice(0, 10)) {
        console.log(`  ${report.sink}: ${problem}`)
      }
      const missed = PHASES.filter((phase) => report.byPhase[phase] === 0)
      if (missed.length > 0) console.log(`  ${report.sink}: no kill while ${missed.join(", ")}`)
    }
  } finally {
    src.destroy()
    await Promise.all([emulator.stop(), server?.stop()])
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

export const benchmark: Benchmark = {
  name: "CrashLoop",
  description: "SIGKILL `run` in every phase and restart it, per sink: items lost, duplicates, recovery time",
  run
}
