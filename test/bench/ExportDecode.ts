/**
 * Export decoding: how fast `ExportReader.read` turns a local export into verified change events, against the floor
 * measured in the same run on the same files (gunzip + line split + `JSON.parse`, nothing else).
 *
 * Target: at least 0.8 of the floor's items/s, peak RSS under 200 MB.
 */
import * as path from "node:path"
import { type Benchmark, type BenchOptions, bundle, type ChildResult, MB, median, runChild, table, thousands } from
  "./support/Harness.ts"
import * as ExportFixture from "./support/ExportFixture.ts"

const TARGET_RATIO = 0.8
const TARGET_RSS = 200 * MB

interface Variant {
  readonly mode: "floor" | "node" | "portable"
  readonly label: string
  /** Measured once, in the last round, for information. */
  readonly once?: boolean
}

const VARIANTS: ReadonlyArray<Variant> = [
  { mode: "floor", label: "floor: gunzip + split + JSON.parse" },
  { mode: "node", label: "backstream, Node zlib + MD5" },
  { mode: "portable", label: "backstream, portable defaults", once: true }
]

const run = async (options: BenchOptions): Promise<void> => {
  const parameters = { items: options.quick ? 100_000 : 1_000_000, files: 10, seed: 1 }
  if (!ExportFixture.exists(parameters)) {
    console.log(`generating ${thousands(parameters.items)} items in ${parameters.files} files (once; cached)…`)
  }
  const started = performance.now()
  const fixture = await ExportFixture.ensure(parameters)
  const generated = (performance.now() - started) / 1000
  if (generated > 1) console.log(`  generated in ${generated.toFixed(1)} s`)
  const child = await bundle(path.join(import.meta.dirname, "support/ExportDecodeChild.ts"))

  const results = new Map<Variant, Array<ChildResult>>(VARIANTS.map((variant) => [variant, []]))
  for (let round = 1; round <= options.rounds; round++) {
    for (const variant of VARIANTS) {
      if (variant.once === true && round !== options.rounds) continue
      const result = await runChild(child, [variant.mode, fixture.bucket, fixture.summaryKey], {
        ...(options.profileDir === undefined ? {} : {
          profileDir: options.profileDir,
          profileName: `export-decode-${variant.mode}-${round}.cpuprofile`
        })
      })
      if (result.items !== fixture.items) {
        throw new Error(`${variant.label}: read ${result.items} items, expected ${fixture.items}`)
      }
      results.get(variant)!.push(result)
      console.log(
        `  round ${round}/${options.rounds}  ${variant.mode.padEnd(8)}  ${
          thousands(result.items / result.seconds).padStart(9)
        } items/s  ${(result.maxRss / MB).toFixed(0).padStart(4)} MB`
      )
    }
  }

  const floorRuns = results.get(VARIANTS[0]!)!
  const bytes = floorRuns[0]!.bytes as number
  const rate = (runs: ReadonlyArray<ChildResult>) => median(runs.map((r) => r.items / r.seconds))
  const best = (runs: ReadonlyArray<ChildResult>) => Math.max(...runs.map((r) => r.items / r.seconds))
  const floorRate = rate(floorRuns)
  const floorBest = best(floorRuns)
  const rows = [["", "items/s (median)", "µs/item", "best items/s", "ratio", "best ratio", "peak RSS", "runs"]]
  for (const [variant, runs] of results) {
    rows.push([
      variant.label,
      thousands(rate(runs)),
      (1e6 / rate(runs)).toFixed(2),
      thousands(best(runs)),
      (rate(runs) / floorRate).toFixed(2),
      (best(runs) / floorBest).toFixed(2),
      `${(Math.max(...runs.map((r) => r.maxRss)) / MB).toFixed(0)} MB`,
      String(runs.length)
    ])
  }
  console.log()
  console.log(
    `${thousands(fixture.items)} items in ${fixture.files} files: mean line ${(bytes / fixture.items).toFixed(0)} bytes ` +
      `(${(bytes / MB).toFixed(0)} MB of JSON, ${(fixture.gzipBytes / MB).toFixed(0)} MB gzipped)`
  )
  console.log(table(rows))
  console.log()
  const ours = results.get(VARIANTS[1]!)!
  const ratio = rate(ours) / floorRate
  const rss = Math.max(...ours.map((r) => r.maxRss))
  const verdict = (ok: boolean) => ok ? "PASS" : "FAIL"
  console.log(`${verdict(ratio >= TARGET_RATIO)}  throughput: ${ratio.toFixed(2)} of the floor (target ≥ ${TARGET_RATIO})`)
  console.log(`${verdict(rss < TARGET_RSS)}  peak RSS: ${(rss / MB).toFixed(0)} MB (target < ${TARGET_RSS / MB} MB)`)
  if (options.quick) console.log("(quick run: 100,000 items; run without --quick for the figures that count)")
}

export const benchmark: Benchmark = {
  name: "ExportDecode",
  description: "decode a local export: ExportReader.read against gunzip + line split + JSON.parse",
  run
}
