/**
 * Backfill: 1,000,000 items of a generated export (about 500 bytes each, every attribute type) loaded through the
 * engine's load path (export reader, batches of 2000, the next read while one is applied, each batch written with its
 * checkpoint) into PGlite on disk and into a Postgres server started for the run (fsync off, as the tests run it).
 * Baseline, measured in the same run: the same load path with no sink (reading alone). Each measurement runs in a
 * child process of its own, so its peak RSS is its own (the Postgres server's is not counted: it is another process).
 *
 * Targets, for the Postgres run: at least 30,000 rows/s; peak RSS under 300 MB. With PGlite most of the RSS is
 * PGlite's own (the process reaches about 800 MB making a fresh database, before any row): it is shown, as is the
 * RSS each run had before its first row.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import pg from "pg"
import * as Postgres from "../support/Postgres.ts"
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

/** As the engine loads exports (its default batch), and as `npm start` runs Node (no flags). */
const BATCH = 2000
const NODE_FLAGS: Array<string> = []

const TARGET_ROWS = 30_000
const TARGET_RSS = 300 * MB

const rate = (r: ChildResult) => r.items / r.seconds
const mb = (bytes: number) => `${(bytes / MB).toFixed(0)} MB`

const run = async (options: BenchOptions): Promise<void> => {
  const parameters = { items: options.quick ? 100_000 : 1_000_000, files: 10, seed: 1 }
  if (!ExportFixture.exists(parameters)) {
    console.log(`generating ${thousands(parameters.items)} items in ${parameters.files} files (once, then cached)…`)
  }
  const fixture = await ExportFixture.ensure(parameters)
  const child = await bundle(path.join(import.meta.dirname, "support/BackfillChild.ts"))
  const server = Postgres.binDir() === undefined ? undefined : await Postgres.start()
  if (server === undefined) console.log(`  Postgres skipped: ${Postgres.missingMessage}`)
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "backstream-bench-backfill-"))
  const variants = [
    { name: "read", label: "read only (baseline)" },
    { name: "pglite", label: "PGlite on disk" },
    ...(server === undefined ? [] : [{ name: "postgres", label: "Postgres server" }])
  ]
  const results = new Map(variants.map((v) => [v.name, [] as Array<ChildResult>]))
  let tables = 0
  try {
    for (let round = 1; round <= options.rounds; round++) {
      for (const variant of variants) {
        const name = `backfill_${++tables}`
        const where = variant.name === "pglite"
          ? path.join(scratch, name)
          : variant.name === "postgres"
          ? server!.url
          : "-"
        const result = await runChild(child, [
          variant.name,
          where,
          fixture.bucket,
          fixture.summaryKey,
          name,
          String(BATCH)
        ], {
          nodeFlags: NODE_FLAGS,
          ...(options.profileDir === undefined ? {} : {
            profileDir: options.profileDir,
            profileName: `Backfill-${variant.name}-${round}.cpuprofile`
          })
        })
        if (result.items !== fixture.items) {
          throw new Error(`${variant.label}: loaded ${result.items} items, expected ${fixture.items}`)
        }
        if (variant.name === "postgres") {
          const client = new pg.Client({ connectionString: server!.url })
          await client.connect()
          const rows = Number((await client.query(`SELECT count(*) AS n FROM ${name}`)).rows[0].n)
          await client.query(`DROP TABLE ${name}`)
          await client.end()
          if (rows !== fixture.items) throw new Error(`Postgres holds ${rows} rows, expected ${fixture.items}`)
        }
        if (variant.name === "pglite") fs.rmSync(where, { recursive: true, force: true })
        results.get(variant.name)!.push(result)
        console.log(
          `  round ${round}/${options.rounds}  ${variant.label.padEnd(22)} ${
            thousands(rate(result)).padStart(8)
          } rows/s  `
            + `${(1e6 * result.cpuSeconds / result.items).toFixed(1).padStart(5)} µs CPU/row  ${
              mb(result.maxRss).padStart(6)
            }`
        )
      }
    }
  } finally {
    await server?.stop()
    fs.rmSync(scratch, { recursive: true, force: true })
  }
  const baseline = median(results.get("read")!.map(rate))
  const rows = [["", "rows/s", "CPU µs/row (ours)", "vs read only", "peak RSS", "max RSS", "RSS before any row"]]
  for (const variant of variants) {
    const runs = results.get(variant.name)!
    rows.push([
      variant.label,
      thousands(median(runs.map(rate))),
      median(runs.map((r) => 1e6 * r.cpuSeconds / r.items)).toFixed(1),
      (median(runs.map(rate)) / baseline).toFixed(2),
      mb(median(runs.map((r) => r.maxRss))),
      mb(Math.max(...runs.map((r) => r.maxRss))),
      mb(median(runs.map((r) => r.openRss ?? 0)))
    ])
  }
  console.log()
  console.log(
    `${thousands(fixture.items)} items in ${fixture.files} gzip data files, batches of ${BATCH}, node ${
      NODE_FLAGS.length === 0 ? "without flags" : NODE_FLAGS.join(" ")
    }; medians over the rounds`
  )
  console.log(table(rows))
  console.log()
  const verdict = (ok: boolean) => (ok ? "PASS" : "FAIL")
  if (server !== undefined) {
    const postgres = results.get("postgres")!
    const rows = median(postgres.map(rate))
    console.log(
      `${verdict(rows >= TARGET_ROWS)}  Postgres ${thousands(rows)} rows/s (target ≥ ${thousands(TARGET_ROWS)})`
    )
  }
  if (server !== undefined) {
    const rss = Math.max(...results.get("postgres")!.map((r) => r.maxRss))
    console.log(
      `${verdict(rss < TARGET_RSS)}  peak RSS ${mb(rss)} with the Postgres sink (target < ${mb(TARGET_RSS)})`
    )
  }
  const pglite = results.get("pglite")!
  console.log(
    `info  PGlite: peak RSS ${mb(Math.max(...pglite.map((r) => r.maxRss)))}, of which ${
      mb(Math.max(...pglite.map((r) => r.openRss ?? 0)))
    } before the first row (PGlite making a fresh database in process: its initdb)`
  )
  if (options.quick) console.log("(quick run: 100,000 items; run without --quick for the figures that count)")
}

export const benchmark: Benchmark = {
  name: "Backfill",
  description: "1,000,000 export items through the engine's load path into PGlite and Postgres, against reading alone",
  run
}
