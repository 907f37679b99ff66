/**
 * One `backstream run --log-format json` as a subprocess, watched: its progress lines (adapters/cli/Progress.ts) as
 * they come, the phase they show, and a SIGKILL.
 */
import { performance } from "node:perf_hooks"
import { type Finished, type Running, spawnCli } from "../../support/CliProcess.ts"

/** The engine's phases, as the crash loop counts its kills. */
export type Phase = "waiting" | "loading" | "draining" | "streaming"

export const PHASES: ReadonlyArray<Phase> = ["waiting", "loading", "draining", "streaming"]

export interface ProgressLine {
  /** Since the run was spawned. */
  readonly atMs: number
  readonly tag: "ExportWaiting" | "ExportLoading" | "SpoolDraining" | "Streaming"
  readonly status?: string
  readonly items?: number
  readonly itemsTotal?: number
}

/** Where a progress line puts the engine: a completed export is being loaded; a load at its end goes on to the spool. */
export const phaseOf = (line: ProgressLine): Phase => {
  switch (line.tag) {
    case "ExportWaiting":
      return line.status === "COMPLETED" ? "loading" : "waiting"
    case "ExportLoading":
      return line.items !== undefined && line.items >= (line.itemsTotal ?? 0) ? "draining" : "loading"
    case "SpoolDraining":
      return "draining"
    case "Streaming":
      return "streaming"
  }
}

export interface EngineRun {
  readonly running: Running
  /** `performance.now()` at the spawn. */
  readonly startedMs: number
  readonly progress: ReadonlyArray<ProgressLine>
  /** Resolves with the first progress line that `test` accepts; rejects when the run exits or after `timeoutMs`. */
  readonly waitFor: (what: string, test: (line: ProgressLine) => boolean, timeoutMs: number) => Promise<ProgressLine>
  /** SIGKILL, and the run's end. */
  readonly kill: () => Promise<Finished>
}

const TAGS = new Set(["ExportWaiting", "ExportLoading", "SpoolDraining", "Streaming"])

/** Runs still alive: killed when this process exits (a test that times out leaves none behind). */
const alive = new Set<Running>()
let exitHook = false

export const start = (args: ReadonlyArray<string>, cwd: string): EngineRun => {
  const startedMs = performance.now()
  const running = spawnCli(["run", ...args, "--log-format", "json"], { cwd, stdout: "ignore" })
  alive.add(running)
  if (!exitHook) {
    exitHook = true
    process.once("exit", () => {
      for (const run of alive) run.child.kill("SIGKILL")
    })
  }
  const progress: Array<ProgressLine> = []
  const listeners = new Set<() => void>()
  let partial = ""
  running.child.stderr!.on("data", (chunk: string) => {
    const atMs = performance.now() - startedMs
    partial += chunk
    const lines = partial.split("\n")
    partial = lines.pop()!
    for (const text of lines) {
      if (!text.startsWith("{")) continue
      let json: Record<string, unknown>
      try {
        json = JSON.parse(text) as Record<string, unknown>
      } catch {
        continue
      }
      if (json.message !== "progress" || !TAGS.has(String(json.phase))) continue
      progress.push({
        atMs,
        tag: json.phase as ProgressLine["tag"],
        ...(typeof json.status === "string" ? { status: json.status } : {}),
        ...(typeof json.items === "number" ? { items: json.items } : {}),
        ...(typeof json.itemsTotal === "number" ? { itemsTotal: json.itemsTotal } : {})
      })
    }
    for (const listener of listeners) listener()
  })
  let exited = false
  void running.finished.then(() => {
    alive.delete(running)
    exited = true
    for (const listener of listeners) listener()
  })

  const waitFor = (what: string, test: (line: ProgressLine) => boolean, timeoutMs: number) =>
    new Promise<ProgressLine>((resolve, reject) => {
      const check = () => {
        const found = progress.find(test)
        if (found !== undefined) done(() => resolve(found))
        else if (exited) done(() => reject(new Error(`the run exited before ${what}:\n${running.stderr()}`)))
      }
      const timer = setTimeout(
        () => done(() => reject(new Error(`timed out waiting for ${what}:\n${running.stderr()}`))),
        timeoutMs
      )
      const done = (settle: () => void) => {
        clearTimeout(timer)
        listeners.delete(check)
        settle()
      }
      listeners.add(check)
      check()
    })

  const kill = async () => {
    if (!exited) running.child.kill("SIGKILL")
    return running.finished
  }

  return { running, startedMs, progress, waitFor, kill }
}
