/**
 * The benchmark harness: what a benchmark is, measuring in child processes (each with its own peak RSS), summary
 * statistics and the report's formatting. Benchmarks print ratios against a baseline measured in the same run, on the
 * same machine: absolute timings on shared machines are noise.
 */
import { spawn } from "node:child_process"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { build } from "esbuild"

export interface BenchOptions {
  /** A smaller workload, for fast iteration. */
  readonly quick: boolean
  /** How many times each measurement is repeated, alternating with the others. */
  readonly rounds: number
  /** Write a V8 CPU profile of each measured child into this folder. */
  readonly profileDir?: string
}

export interface Benchmark {
  readonly name: string
  readonly description: string
  readonly run: (options: BenchOptions) => Promise<void>
}

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..")

/** Where generated inputs and bundled children are kept between runs. */
export const cacheDir = path.join(root, "node_modules/.cache/backstream-bench")

/**
 * Bundles a child entry point with esbuild (packages external, as `bin/backstream.mjs` runs the CLI), cached by
 * content, so children run on plain `node`: no TypeScript loader in their timings or their RSS.
 */
export const bundle = async (entry: string): Promise<string> => {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    packages: "external",
    platform: "node",
    format: "esm",
    target: "node20",
    sourcemap: "inline",
    write: false,
    logLevel: "error"
  })
  const code = result.outputFiles[0]!.contents
  const base = path.basename(entry, ".ts")
  const name = `${base}-${createHash("sha256").update(code).digest("hex").slice(0, 16)}.mjs`
  const directory = path.join(cacheDir, "bundles")
  const file = path.join(directory, name)
  if (!fs.existsSync(file)) {
    fs.mkdirSync(directory, { recursive: true })
    for (const stale of fs.readdirSync(directory)) {
      if (stale.startsWith(`${base}-`) && stale.endsWith(".mjs")) {
        fs.rmSync(path.join(directory, stale), { force: true })
      }
    }
    const temporary = `${file}.${process.pid}.tmp`
    fs.writeFileSync(temporary, code)
    fs.renameSync(temporary, file)
  }
  return file
}

/** What a child reports on its last line of output. */
export interface ChildResult {
  readonly items: number
  readonly bytes?: number
  readonly seconds: number
  readonly cpuSeconds: number
  /** Peak resident set size of the child, in bytes. */
  readonly maxRss: number
  /** Its peak before the measured work, when the child reports it. */
  readonly openRss?: number
}

/** Runs a bundled child with `node` and returns the JSON it prints last; its stderr goes to ours. */
export const runChild = (
  script: string,
  args: ReadonlyArray<string>,
  options: {
    readonly profileDir?: string
    readonly profileName?: string
    /** V8 flags for the child. */
    readonly nodeFlags?: ReadonlyArray<string>
  } = {}
): Promise<ChildResult> =>
  new Promise((resolve, reject) => {
    const nodeArgs = options.profileDir === undefined ? [] : [
      "--cpu-prof",
      `--cpu-prof-dir=${options.profileDir}`,
      ...(options.profileName === undefined ? [] : [`--cpu-prof-name=${options.profileName}`])
    ]
    const child = spawn(process.execPath, [
      ...nodeArgs,
      ...(options.nodeFlags ?? []),
      "--enable-source-maps",
      script,
      ...args
    ], {
      stdio: ["ignore", "pipe", "inherit"]
    })
    let out = ""
    child.stdout.setEncoding("utf8")
    child.stdout.on("data", (text: string) => out += text)
    child.on("error", reject)
    child.on("close", (code, signal) => {
      const last = out.trim().split("\n").pop() ?? ""
      if (code !== 0) {
        return reject(new Error(`${path.basename(script)} ${args.join(" ")} exited with ${signal ?? code}\n${out}`))
      }
      try {
        resolve(JSON.parse(last) as ChildResult)
      } catch {
        reject(new Error(`${path.basename(script)} ${args.join(" ")} printed no result:\n${out}`))
      }
    })
  })

export const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

export const MB = 1024 * 1024

/** Formats rows as a left-aligned first column and right-aligned others. */
export const table = (rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0)))
  return rows.map((row) =>
    row.map((cell, column) => column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)).join("  ")
      .trimEnd()
  ).join("\n")
}

export const thousands = (value: number): string => Math.round(value).toLocaleString("en-US")
