/**
 * What the command line shows while the engine works, and its log lines, on standard error by default.
 *
 * - On a terminal (`tty`): a live line per phase, redrawn in place at most ten times a second — a bar for the export
 *   wait (its status and how long it has taken), a bar for the load (files, items, items/s, ETA), the spool drain,
 *   and the stream (events, events/s, lag). A phase's last state stays on screen when the next one starts; log lines
 *   are written above the live line.
 * - Otherwise: a plain line when a phase starts and then every few seconds (`every`) while it changes.
 * - `logFormat: "json"`: the same, one JSON object a line (`time`, `level`, `message`, and the fields; progress lines
 *   have `message: "progress"` and `phase`).
 * - `quiet`: nothing but errors.
 */
import { Clock, Duration, Effect, type Scope } from "effect"
import type * as Engine from "../../core/Engine.ts"

export type Level = "info" | "warn" | "error"

export interface Options {
  readonly quiet: boolean
  readonly logFormat: "text" | "json"
  readonly tty: boolean
  /** Default: standard error. */
  readonly out?: NodeJS.WritableStream
  /** Without a terminal: how often a changing phase is written again (default 5 seconds). */
  readonly every?: Duration.DurationInput
  /** The terminal's width (default: the stream's `columns`, or 100). */
  readonly columns?: number
}

export interface Reporter {
  readonly onProgress: (progress: Engine.Progress) => Effect.Effect<void>
  readonly log: (level: Level, message: string, fields?: Record<string, unknown>) => Effect.Effect<void>
}

const REDRAW = Duration.millis(100)
const RATE_WINDOW_MS = 5000
const BAR_WIDTH = 24

/** A phase as it was last reported, with what rates and elapsed times need. */
interface Phase {
  readonly key: string
  progress: Engine.Progress
  readonly startedMs: number
  readonly samples: Array<readonly [number, number]>
}

const phaseKey = (progress: Engine.Progress) =>
  progress._tag === "ExportWaiting" || progress._tag === "ExportLoading"
    ? `${progress._tag} ${progress.exportArn}`
    : progress._tag

const countOf = (progress: Engine.Progress): number | undefined => {
  switch (progress._tag) {
    case "ExportLoading":
      return progress.items
    case "SpoolDraining":
    case "Streaming":
      return progress.events
    case "ExportWaiting":
      return undefined
  }
}

/** Per second over the last few seconds (older samples are dropped); undefined until two samples. */
const rateOf = (phase: Phase, nowMs: number): number | undefined => {
  const samples = phase.samples
  if (samples.length < 2) return undefined
  const [lastMs, lastCount] = samples[samples.length - 1]!
  const from = Math.max(nowMs - RATE_WINDOW_MS, samples[0]![0])
  let base = samples[0]!
  for (const sample of samples) {
    if (sample[0] <= from) base = sample
    else break
  }
  const spanMs = Math.max(nowMs, lastMs) - base[0]
  return spanMs < 200 ? undefined : ((lastCount - base[1]) * 1000) / spanMs
}

const record = (phase: Phase, nowMs: number) => {
  const count = countOf(phase.progress)
  if (count === undefined) return
  // A count that goes down is a new run (the engine restarted): rates start again.
  if ((phase.samples.at(-1)?.[1] ?? 0) > count) phase.samples.length = 0
  if (phase.samples.at(-1)?.[0] === nowMs) phase.samples.pop()
  phase.samples.push([nowMs, count])
  while (phase.samples.length > 2 && phase.samples[1]![0] <= nowMs - RATE_WINDOW_MS) phase.samples.shift()
}

const integer = (n: number) => Math.round(n).toLocaleString("en-US")

const clockTime = (ms: number) => {
  const seconds = Math.max(0, Math.round(ms / 1000))
  const h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60
  const mm = h > 0 ? String(m).padStart(2, "0") : String(m)
  return `${h > 0 ? `${h}:` : ""}${mm}:${String(s).padStart(2, "0")}`
}

const seconds = (ms: number) => ms < 10_000 ? `${(ms / 1000).toFixed(1)}s` : clockTime(ms)

const bar = (fraction: number) => {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * BAR_WIDTH)
  return `[${"█".repeat(filled)}${"░".repeat(BAR_WIDTH - filled)}]`
}

/** A bar with a block moving back and forth: the export's progress is not known. */
const waitingBar = (elapsedMs: number) => {
  const span = BAR_WIDTH - 4
  const step = Math.floor(elapsedMs / 100) % (2 * span)
  const at = step < span ? step : 2 * span - step
  return `[${" ".repeat(at)}████${" ".repeat(span - at)}]`
}

const shortArn = (arn: string) => arn.slice(arn.lastIndexOf("/") + 1)

/** One line of text for a phase: with bars on a terminal, plain otherwise. */
const render = (phase: Phase, nowMs: number, tty: boolean): string => {
  const p = phase.progress
  const elapsedMs = nowMs - phase.startedMs
  const rate = rateOf(phase, nowMs)
  switch (p._tag) {
    case "ExportWaiting": {
      const what = `${p.reused ? "reusing" : "waiting for"} export ${shortArn(p.exportArn)}: ${p.status}`
      return tty
        ? `export    ${waitingBar(elapsedMs)} ${clockTime(elapsedMs)}  ${what}`
        : `${what} (${seconds(elapsedMs)})`
    }
    case "ExportLoading": {
      const fraction = p.itemsTotal > 0 ? p.items / p.itemsTotal : p.filesTotal > 0 ? p.filesDone / p.filesTotal : 1
      const eta = rate !== undefined && rate > 0 && p.items < p.itemsTotal
        ? clockTime(((p.itemsTotal - p.items) / rate) * 1000)
        : undefined
      const parts = [
        `files ${integer(p.filesDone)}/${integer(p.filesTotal)}`,
        `items ${integer(p.items)}/${integer(p.itemsTotal)}`,
        ...(rate === undefined ? [] : [`${integer(rate)} items/s`]),
        ...(eta === undefined ? [] : [`ETA ${eta}`])
      ]
      const percent = `${Math.floor(fraction * 100)}%`
      return tty
        ? `load      ${bar(fraction)} ${percent.padStart(4)}  ${parts.join("  ")}`
        : `loading export ${shortArn(p.exportArn)}: ${percent} (${parts.join(", ")})`
    }
    case "SpoolDraining": {
      const parts = [
        `${integer(p.events)} events`,
        ...(rate === undefined ? [] : [`${integer(rate)} events/s`])
      ]
      return tty
        ? `spool     ${parts.join("  ")}  (changes captured during the backfill)`
        : `applying changes captured during the backfill: ${parts.join(", ")}`
    }
    case "Streaming": {
      const parts = [
        `${integer(p.events)} events`,
        ...(rate === undefined ? [] : [`${integer(rate)} events/s`]),
        `lag ${seconds(p.lagMs)}`
      ]
      return tty ? `streaming ${parts.join("  ")}  ${clockTime(elapsedMs)}` : `streaming: ${parts.join(", ")}`
    }
  }
}

const progressFields = (phase: Phase, nowMs: number): Record<string, unknown> => {
  const { _tag, ...fields } = phase.progress
  const rate = rateOf(phase, nowMs)
  const extra: Record<string, unknown> = { elapsedSeconds: (nowMs - phase.startedMs) / 1000 }
  if (rate !== undefined) extra.perSecond = Math.round(rate * 10) / 10
  const p = phase.progress
  if (p._tag === "ExportLoading" && rate !== undefined && rate > 0) {
    extra.etaSeconds = Math.round(Math.max(0, p.itemsTotal - p.items) / rate)
  }
  return { phase: _tag, ...fields, ...extra }
}

const textValue = (value: unknown) => {
  const text = typeof value === "string" ? value : JSON.stringify(value) ?? String(value)
  return /^[^\s"=]+$/.test(text) ? text : JSON.stringify(text)
}

const textLine = (level: Level, message: string, fields: Record<string, unknown> | undefined) => {
  const prefix = level === "error" ? "error: " : level === "warn" ? "warning: " : ""
  const rest = Object.entries(fields ?? {}).map(([key, value]) => ` ${key}=${textValue(value)}`).join("")
  return `${prefix}${message}${rest}`
}

const jsonLine = (nowMs: number, level: Level, message: string, fields: Record<string, unknown> | undefined) =>
  JSON.stringify(
    { time: new Date(nowMs).toISOString(), level, message, ...fields },
    (_, value) => typeof value === "bigint" ? value.toString() : value
  )

export const make = (options: Options): Effect.Effect<Reporter, never, Scope.Scope> =>
  Effect.gen(function* () {
    const out = options.out ?? process.stderr
    const write = (text: string) => {
      out.write(text)
    }
    const json = options.logFormat === "json"
    const tty = options.tty && !json

    if (options.quiet) {
      return {
        onProgress: () => Effect.void,
        log: (level, message, fields) =>
          level !== "error"
            ? Effect.void
            : Effect.flatMap(Clock.currentTimeMillis, (nowMs) =>
              Effect.sync(() =>
                write(`${json ? jsonLine(nowMs, level, message, fields) : textLine(level, message, fields)}\n`)
              ))
      } satisfies Reporter
    }

    let phase: Phase | undefined
    /** Changes since the phase was last written (without a terminal). */
    let unwritten = false
    /** What the live line shows (on a terminal). */
    let live: string | undefined
    let closed = false

    const columns = () => options.columns ?? ((out as { columns?: number }).columns || 100)
    const fit = (line: string) => {
      const width = Math.max(20, columns() - 1)
      return line.length > width ? `${line.slice(0, width - 1)}…` : line
    }
    const clearLive = () => {
      if (live !== undefined) write("\r\x1b[2K")
    }
    const drawLive = (nowMs: number) => {
      if (phase === undefined || closed) return
      const line = fit(render(phase, nowMs, true))
      if (line === live) return
      write(`\r\x1b[2K${line}`)
      live = line
    }
    /** Leaves the phase's last state on screen, or writes it when it has not been written. */
    const settle = (nowMs: number) => {
      if (phase === undefined) return
      if (tty) {
        clearLive()
        write(`${fit(render(phase, nowMs, true))}\n`)
        live = undefined
      } else if (unwritten) {
        writePlain(nowMs)
      }
    }
    const writePlain = (nowMs: number) => {
      if (phase === undefined || closed) return
      write(
        `${json ? jsonLine(nowMs, "info", "progress", progressFields(phase, nowMs)) : render(phase, nowMs, false)}\n`
      )
      unwritten = false
    }

    const onProgress = (progress: Engine.Progress) =>
      Effect.flatMap(Clock.currentTimeMillis, (nowMs) =>
        Effect.sync(() => {
          const key = phaseKey(progress)
          if (phase !== undefined && phase.key === key) {
            // Without a terminal, a new status of the export and the end of the load are written at once.
            const notable = (phase.progress._tag === "ExportWaiting" && progress._tag === "ExportWaiting"
              && phase.progress.status !== progress.status)
              || (progress._tag === "ExportLoading" && progress.filesDone === progress.filesTotal)
            phase.progress = progress
            record(phase, nowMs)
            unwritten = true
            if (notable && !tty) writePlain(nowMs)
            return
          }
          settle(nowMs)
          phase = { key, progress, startedMs: nowMs, samples: [] }
          record(phase, nowMs)
          if (tty) drawLive(nowMs)
          else writePlain(nowMs)
        }))

    const log = (level: Level, message: string, fields?: Record<string, unknown>) =>
      Effect.flatMap(Clock.currentTimeMillis, (nowMs) =>
        Effect.sync(() => {
          if (json) return write(`${jsonLine(nowMs, level, message, fields)}\n`)
          if (!tty) return write(`${textLine(level, message, fields)}\n`)
          const shown = live !== undefined
          clearLive()
          live = undefined
          write(`${textLine(level, message, fields)}\n`)
          if (shown) drawLive(nowMs)
        }))

    const tick = tty
      ? Effect.flatMap(Clock.currentTimeMillis, (nowMs) => Effect.sync(() => drawLive(nowMs)))
      : Effect.flatMap(Clock.currentTimeMillis, (nowMs) => Effect.sync(() => unwritten && writePlain(nowMs)))
    yield* tick.pipe(
      Effect.delay(tty ? REDRAW : Duration.decode(options.every ?? "5 seconds")),
      Effect.forever,
      Effect.forkScoped
    )
    yield* Effect.addFinalizer(() =>
      Effect.flatMap(Clock.currentTimeMillis, (nowMs) =>
        Effect.sync(() => {
          settle(nowMs)
          closed = true
        }))
    )

    return { onProgress, log } satisfies Reporter
  })
