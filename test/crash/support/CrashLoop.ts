/**
 * The crash loop for one sink: a table with a stream and PITR, preloaded, written all along by a workload; the CLI's
 * `run` killed with SIGKILL at random moments in every phase (the export wait, the load, the spool drain, the stream)
 * and restarted; then the writes stop, one last run goes `--until caught-up`, and the replica is compared with the
 * table item by item.
 *
 * The phase of a kill is read from the killed run's last progress line and confirmed by what the next run does first:
 * it waits for or loads the export (the backfill was not done: `waiting` when the export was not yet seen complete,
 * `loading` after), drains the spool (`draining`: the spool was not cleared) or streams (`streaming`).
 *
 * Recovery time of a restart: from spawning the next run to its first progress line, that is its first batch applied
 * and checkpointed (load, drain, stream), or the export wait resumed when killed while waiting. It includes the
 * process's start (Node, the bundle, the AWS SDK): what an operator waits after a crash.
 */
import { performance } from "node:perf_hooks"
import type { Item } from "../../../core/AttributeValue.ts"
import * as AV from "../../../core/AttributeValue.ts"
import type { Source } from "../../support/CliProcess.ts"
import * as EngineRun from "./EngineRun.ts"
import type { Phase, ProgressLine } from "./EngineRun.ts"
import type { Replica } from "./Replicas.ts"
import * as Workload from "./Workload.ts"

export interface LoopOptions {
  readonly source: Source
  readonly endpoint: string
  readonly bucket: string
  /** A folder of the loop's own (spool, cwd). */
  readonly dir: string
  readonly table: string
  readonly replica: Replica
  readonly kills: number
  /** The phase each kill aims at, in order; kills beyond the plan aim at the stream. */
  readonly plan: ReadonlyArray<Phase>
  readonly preload: number
  /** The workload's pause between writes. */
  readonly pauseMs: number
  readonly seed: number
  /** The longest wait for a run to reach its phase. */
  readonly phaseTimeoutMs?: number
  /** The longest random delay, per phase aimed at, between reaching it and the kill. */
  readonly maxDelayMs?: Partial<Record<Phase, number>>
  readonly onKill?: (kill: KillRecord) => void
}

export interface KillRecord {
  readonly kill: number
  readonly aimedAt: Phase
  readonly phase: Phase
  /** How long the killed run lived. */
  readonly livedMs: number
  /** From spawning the next run to its first progress line. */
  readonly recoveryMs: number
}

export interface LoopReport {
  readonly sink: string
  readonly kills: ReadonlyArray<KillRecord>
  readonly byPhase: Record<Phase, number>
  readonly tableItems: number
  /** Items of the table missing from the replica. */
  readonly lost: number
  /** Items the replica holds with other values than the table's, or that the table does not hold. */
  readonly wrong: number
  readonly differences: ReadonlyArray<string>
  readonly changes: number
  readonly duplicates: number
  readonly exactlyOnce: boolean
  readonly problems: ReadonlyArray<string>
  readonly writes: Workload.WorkloadCounts
  readonly recoveryMs: ReadonlyArray<number>
  readonly durationMs: number
}

const DEFAULT_DELAYS: Record<Phase, number> = { waiting: 600, loading: 400, draining: 40, streaming: 2500 }
const RANK: Record<Phase, number> = { waiting: 0, loading: 1, draining: 2, streaming: 3 }

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const isBackfill = (line: ProgressLine) => line.tag === "ExportWaiting" || line.tag === "ExportLoading"

/** The phase a kill hit: the killed run's last progress line, confirmed by the next run's first. */
export const classify = (last: ProgressLine | undefined, next: ProgressLine | undefined): Phase => {
  if (next === undefined || last === undefined) return "streaming"
  if (isBackfill(next)) return EngineRun.phaseOf(last) === "waiting" ? "waiting" : "loading"
  return next.tag === "SpoolDraining" ? "draining" : "streaming"
}

export const median = (values: ReadonlyArray<number>) => {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

const compare = (replica: ReadonlyMap<string, Item>, table: ReadonlyMap<string, Item>) => {
  let lost = 0, wrong = 0
  const differences: Array<string> = []
  for (const [key, item] of table) {
    const held = replica.get(key)
    if (held === undefined) {
      lost++
      differences.push(`missing ${key}`)
    } else if (!AV.itemEquals(held, item)) {
      wrong++
      differences.push(`different ${key}`)
    }
  }
  for (const key of replica.keys()) {
    if (!table.has(key)) {
      wrong++
      differences.push(`extra ${key}`)
    }
  }
  return { lost, wrong, differences: differences.slice(0, 10) }
}

export const run = async (options: LoopOptions): Promise<LoopReport> => {
  const began = performance.now()
  const { replica, source } = options
  const next = Workload.random(options.seed)
  const delays = { ...DEFAULT_DELAYS, ...options.maxDelayMs }
  const timeoutMs = options.phaseTimeoutMs ?? 90_000
  const args = [
    "--table",
    options.table,
    "--endpoint",
    options.endpoint,
    "--export-bucket",
    options.bucket,
    ...replica.flags,
    "--spool",
    `dir:${options.dir}/spool`
  ]

  await Promise.all([source.createTable(options.table), replica.prepare()])
  await Workload.preload(source.sdk.dynamodb, options.table, options.preload)
  const workload = Workload.start(source.sdk.dynamodb, options.table, {
    keys: options.preload,
    pauseMs: options.pauseMs,
    seed: options.seed
  })

  const kills: Array<KillRecord> = []
  let pending: { kill: number; aimedAt: Phase; last: ProgressLine | undefined; livedMs: number } | undefined
  const settle = (started: EngineRun.EngineRun) => {
    if (pending === undefined) return
    const first = started.progress[0]
    const record: KillRecord = {
      kill: pending.kill,
      aimedAt: pending.aimedAt,
      phase: classify(pending.last, first),
      livedMs: pending.livedMs,
      recoveryMs: first?.atMs ?? Number.NaN
    }
    kills.push(record)
    options.onKill?.(record)
    pending = undefined
  }

  /** The next phase to aim at: the plan's first one not yet hit as often as planned and still ahead of the engine. */
  const aim = (atRank: number): Phase => {
    const hit: Record<Phase, number> = { waiting: 0, loading: 0, draining: 0, streaming: 0 }
    for (const kill of kills) hit[kill.phase]++
    for (const phase of options.plan) {
      if (hit[phase] > 0) hit[phase]--
      else if (RANK[phase] >= atRank) return phase
    }
    return "streaming"
  }

  let started: EngineRun.EngineRun | undefined
  const restart = (
    until: "forever" | "caught-up"
  ) => (started = EngineRun.start([...args, "--until", until], options.dir))
  try {
    restart("forever")
    for (let kill = 1; kill <= options.kills; kill++) {
      const current = started!
      let atRank = 0
      if (pending !== undefined) {
        const first = await current.waitFor(`${replica.name} run ${kill} to show progress`, () => true, timeoutMs)
        settle(current)
        atRank = RANK[EngineRun.phaseOf(first)]
      }
      const aimedAt = aim(atRank)
      // The drain is aimed at once it has applied a first chunk: a load's last line comes before the backfill is
      // marked done, and a kill there is still one while loading.
      const reached = await current.waitFor(
        `${replica.name} run ${kill} to reach ${aimedAt}`,
        (line) =>
          aimedAt === "draining"
            ? line.tag === "SpoolDraining" || line.tag === "Streaming"
            : RANK[EngineRun.phaseOf(line)] >= RANK[aimedAt],
        timeoutMs
      )
      await sleep(Math.floor(next() * delays[aimedAt]))
      const finished = await current.kill()
      if (finished.signal !== "SIGKILL") {
        throw new Error(`${replica.name} run ${kill} ended before its kill (${finished.code}):\n${finished.stderr}`)
      }
      pending = {
        kill,
        aimedAt,
        last: current.progress.at(-1) ?? reached,
        livedMs: performance.now() - current.startedMs
      }
      await replica.afterKill(kill)
      if (kill < options.kills) restart("forever")
    }
    // The writes stop; the last restart catches up (and measures the last kill's recovery like the others).
    await workload.stop()
    const final = restart("caught-up")
    const ended = await Promise.race([
      final.running.finished,
      sleep(timeoutMs * 2).then(() => undefined)
    ])
    if (ended === undefined) {
      throw new Error(`${replica.name}: the last run did not catch up:\n${final.running.stderr()}`)
    }
    settle(final)
    if (ended.code !== 0) throw new Error(`${replica.name}: the last run failed (${ended.code}):\n${ended.stderr}`)
  } finally {
    await started?.kill()
    await workload.stop().catch(() => undefined)
  }

  const table = await source.items(options.table)
  const compared = compare(await replica.items(), table)
  const log = await replica.log()
  const byPhase: Record<Phase, number> = { waiting: 0, loading: 0, draining: 0, streaming: 0 }
  for (const kill of kills) byPhase[kill.phase]++
  return {
    sink: replica.name,
    kills,
    byPhase,
    tableItems: table.size,
    lost: compared.lost,
    wrong: compared.wrong,
    differences: compared.differences,
    changes: log.changes,
    duplicates: log.duplicates,
    exactlyOnce: replica.exactlyOnce,
    problems: log.problems,
    writes: workload.counts,
    recoveryMs: kills.map((kill) => kill.recoveryMs),
    durationMs: performance.now() - began
  }
}

/** One line: kills survived by phase, items lost, duplicates, median and max recovery. */
export const summary = (report: LoopReport) => {
  const recovery = report.recoveryMs.filter((ms) => Number.isFinite(ms))
  const phases = Object.entries(report.byPhase).map(([phase, n]) => `${phase} ${n}`).join(", ")
  const writes = report.writes
  return `crash loop ${report.sink}: ${report.kills.length} kills survived (${phases}); `
    + `${report.tableItems} items, ${report.lost} lost, ${report.wrong} wrong; `
    + (report.exactlyOnce
      ? `${report.duplicates} duplicates in ${report.changes} logged changes; `
      : `${report.duplicates} re-sent lines (after restarts, in order) in ${report.changes}; `)
    + `recovery median ${(median(recovery) / 1000).toFixed(2)} s, max ${
      (Math.max(0, ...recovery) / 1000).toFixed(2)
    } s; `
    + `${writes.puts + writes.updates + writes.deletes + writes.transactions} writes `
    + `(${writes.transactions} transactions); ${(report.durationMs / 1000).toFixed(1)} s`
}
