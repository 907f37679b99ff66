/**
 * Export decoding: how fast `ExportReader.read` turns a local export into verified change events, against the floor
 * measured in the same run on the same files (gunzip + line split + `JSON.parse`, nothing else). Each measurement
 * runs in a child process of its own (its peak RSS is its own), the variants alternating round by round.
 *
 * Targets: at least 0.8 of the floor's items/s, peak RSS under 200 MB.
 */
import * as path from "node:path"
import * as ExportFixture from "./support/ExportFixture.ts"
import {
  type Benchmark,
  type BenchOptions,
  bundle,
  type ChildResult,
  MB,
  median,
  runChild,
  table,
  thousands
} from "./support/Harness.ts"

const TARGET_RATIO = 0.8
const TARGET_RSS = 200 * MB

interface Variant {
  readonly name: string
  readonly label: string
  readonly child: "FloorChild" | "ReaderChild"
  readonly args: ReadonlyArray<string>
  /** Measured once, in the last round, for information. */
  readonly once?: boolean
}

const VARIANTS: ReadonlyArray<Variant> = [
  { name: "floor", label: "floor: gunzip + split + JSON.parse", child: "FloorChild", args: [] },
  { name: "node", label: "ExportReader, Node zlib + MD5", child: "ReaderChild", args: ["node"] },
  {
    name: "portable",
    label: "ExportReader, portable defaults",
    child: "ReaderChild",
    args: ["portable"],
    once: true
  }
]

const itemsPerSecond = (r: ChildResult) => r.items / r.seconds
const mb = (bytes: number) => `${(bytes / MB).toFixed(0)} MB`

const run = async (options: BenchOptions): Promise<void> => {
  const parameters = { items: options.quick ? 100_000 : 1_000_000, files: 10, seed: 1 }
  if (!ExportFixture.exists(parameters)) {
    console.log(`generating ${thousands(parameters.items)} items in ${parameters.files} files (once, then cached)…`)
  }
  const started = performance.now()
  const fixture = await ExportFixture.ensure(parameters)
  const generated = (performance.now() - started) / 1000
  if (generated > 1) console.log(`  generated in ${generated.toFixed(1)} s`)
  const children = {
    FloorChild: await bundle(path.join(import.meta.dirname, "support/FloorChild.ts")),
    ReaderChild: await bundle(path.join(import.meta.dirname, "support/ReaderChild.ts"))
  }

  const results = new Map<Variant, Array<ChildResult>>(VARIANTS.map((variant) => [variant, []]))
  for (let round = 1; round <= options.rounds; round++) {
    for (const variant of VARIANTS) {
      if (variant.once === true && round !== options.rounds) continue
      const result = await runChild(children[variant.child], [...variant.args, fixture.bucket, fixture.summaryKey], {
        ...(options.profileDir === undefined ? {} : {
          profileDir: options.profileDir,
          profileName: `ExportDecode-${variant.name}-${round}.cpuprofile`
        })
      })
      if (result.items !== fixture.items) {
        throw new Error(`${variant.label}: read ${result.items} items, expected ${fixture.items}`)
      }
      results.get(variant)!.push(result)
      console.log(
        `  round ${round}/${options.rounds}  ${variant.name.padEnd(8)}  ${
          thousands(itemsPerSecond(result)).padStart(9)
        } items/s  ${(1e6 * result.cpuSeconds / result.items).toFixed(2).padStart(6)} µs CPU/item  ${
          mb(result.maxRss).padStart(6)
        }`
      )
    }
  }

  const floor = results.get(VARIANTS[0]!)!
  const floorRate = median(floor.map(itemsPerSecond))
  const floorBest = Math.max(...floor.map(itemsPerSecond))
  const rows = [[
    "",
    "items/s",
    "µs/item",
    "CPU µs/item",
    "best items/s",
    "ratio",
    "best ratio",
    "peak RSS",
    "max RSS",
    "runs"
  ]]
  for (const [variant, runs] of results) {
    const rate = median(runs.map(itemsPerSecond))
    rows.push([
      variant.label,
      thousands(rate),
      (1e6 / rate).toFixed(2),
      median(runs.map((r) => 1e6 * r.cpuSeconds / r.items)).toFixed(2),
      thousands(Math.max(...runs.map(itemsPerSecond))),
      (rate / floorRate).toFixed(2),
      (Math.max(...runs.map(itemsPerSecond)) / floorBest).toFixed(2),
      mb(median(runs.map((r) => r.maxRss))),
      mb(Math.max(...runs.map((r) => r.maxRss))),
      String(runs.length)
    ])
  }
  const bytes = floor[0]!.bytes as number
  console.log()
  console.log(
    `${thousands(fixture.items)} items in ${fixture.files} data files: mean line ${(bytes / fixture.items).toFixed(0)} `
      + `bytes (${mb(bytes)} of JSON lines, ${mb(fixture.gzipBytes)} gzipped), every attribute type`
  )
  console.log("items/s, µs/item, CPU and peak RSS: medians over the runs; ratio: against the floor's median")
  console.log(table(rows))
  console.log()
  const ours = results.get(VARIANTS[1]!)!
  const ratio = median(ours.map(itemsPerSecond)) / floorRate
  const rss = median(ours.map((r) => r.maxRss))
  const verdict = (ok: boolean) => (ok ? "PASS" : "FAIL")
  console.log(
    `${verdict(ratio >= TARGET_RATIO)}  throughput ${ratio.toFixed(2)} of the floor (target ≥ ${TARGET_RATIO})`
  )
  console.log(
    `${verdict(rss < TARGET_RSS)}  peak RSS ${mb(rss)} (median of ${ours.length}; max ${
      mb(Math.max(...ours.map((r) => r.maxRss)))
    }; target < ${mb(TARGET_RSS)})`
  )
  if (options.quick) console.log("(quick run: 100,000 items; run without --quick for the figures that count)")
}

export const benchmark: Benchmark = {
  name: "ExportDecode",
  description: "decode a local export with ExportReader.read, against gunzip + line split + JSON.parse",
  run
}
