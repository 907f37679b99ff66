/**
 * `npm run bench [-- [--quick] [--rounds N] [--profile [dir]] [name…]]`: runs the benchmarks of `test/bench/` (every
 * `*.ts` file here that exports a `benchmark`), or those named, and prints a report. Not part of `npm test`: timings
 * on shared machines are noise, so each benchmark compares against a baseline measured in the same run. The exit code
 * is 0 unless something crashes (2 for a usage error): a report, not a test.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import type { Benchmark, BenchOptions } from "./support/Harness.ts"

const usage = `usage: npm run bench -- [--quick] [--rounds N] [--profile [dir]] [--list] [benchmark…]
  --quick          a small workload, for fast iteration
  --rounds N       measurements of each variant, alternated (default 3)
  --profile [dir]  write a V8 CPU profile of every measured process (default dir: bench-profiles)
  --list           list the benchmarks
  benchmark…       run only these (by name, any case); default: all`

const usageError = (message: string): never => {
  console.error(`${message}\n${usage}`)
  return process.exit(2)
}

const parse = (args: ReadonlyArray<string>) => {
  let quick = false
  let rounds = 3
  let profileDir: string | undefined
  let list = false
  const names: Array<string> = []
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (arg === "--quick") quick = true
    else if (arg === "--list") list = true
    else if (arg === "--rounds") {
      rounds = Number(args[++i])
      if (!Number.isInteger(rounds) || rounds < 1) usageError("--rounds: expected a positive integer")
    } else if (arg === "--profile") {
      profileDir = path.resolve(
        args[i + 1] !== undefined && !args[i + 1]!.startsWith("-") ? args[++i]! : "bench-profiles"
      )
    } else if (arg === "--help" || arg === "-h") {
      console.log(usage)
      process.exit(0)
    } else if (arg.startsWith("-")) usageError(`unknown option ${arg}`)
    else names.push(arg)
  }
  const options: BenchOptions = { quick, rounds, ...(profileDir === undefined ? {} : { profileDir }) }
  return { options, names, list }
}

const discover = async (): Promise<ReadonlyArray<Benchmark>> => {
  const files = fs.readdirSync(import.meta.dirname).filter((name) => name.endsWith(".ts") && name !== "main.ts").sort()
  const found: Array<Benchmark> = []
  for (const file of files) {
    const module = await import(pathToFileURL(path.join(import.meta.dirname, file)).href) as { benchmark?: Benchmark }
    if (module.benchmark !== undefined) found.push(module.benchmark)
  }
  return found
}

const { list, names, options } = parse(process.argv.slice(2))
const all = await discover()
if (list) {
  for (const benchmark of all) console.log(`${benchmark.name}  ${benchmark.description}`)
  process.exit(0)
}
const unknown = names.filter((name) => !all.some((b) => b.name.toLowerCase() === name.toLowerCase()))
if (unknown.length > 0) {
  usageError(`no benchmark named ${unknown.join(", ")}; there are: ${all.map((b) => b.name).join(", ")}`)
}
const selected = names.length === 0
  ? all
  : all.filter((b) => names.some((n) => n.toLowerCase() === b.name.toLowerCase()))

console.log(`node ${process.version}, ${process.platform}/${process.arch}${options.quick ? ", quick" : ""}`)
for (const benchmark of selected) {
  console.log(`\n== ${benchmark.name}: ${benchmark.description}`)
  await benchmark.run(options)
}
if (options.profileDir !== undefined) console.log(`\nCPU profiles in ${options.profileDir}`)
