/**
 * Sink load: how fast the SQL sinks apply backfill batches (`r` events of about 500 bytes, a few thousand a batch),
 * against a plain multi-row `INSERT … VALUES` of the same rows through the same client in the same run: PGlite (on
 * disk, the embedded default) and a Postgres server started for the run (fsync off, as the tests run it). The sink
 * does more per row (version guard, tombstone check, checkpoint, JSON-typed values); the ratio says what that costs.
 */
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import pg from "pg"
import type { SqlClient } from "../../adapters/sinks/internal/SqlClient.ts"
import * as SqlSink from "../../adapters/sinks/internal/SqlSink.ts"
import * as PgliteSink from "../../adapters/sinks/PgliteSink.ts"
import * as PostgresSink from "../../adapters/sinks/PostgresSink.ts"
import * as AV from "../../core/AttributeValue.ts"
import type { ChangeEvent } from "../../core/ChangeEvent.ts"
import * as Checkpoint from "../../core/Checkpoint.ts"
import * as DynamoJson from "../../core/DynamoJson.ts"
import * as Postgres from "../support/Postgres.ts"
import { type Benchmark, type BenchOptions, median, table, thousands } from "./support/Harness.ts"

const BATCH = 2000
const ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/Load"

const makeEvents = (count: number): ReadonlyArray<ChangeEvent> =>
  Array.from({ length: count }, (_, i) => ({
    op: "r" as const,
    newImage: AV.item({
      pk: AV.s(`customer#${(i * 7919) % 100_003}`),
      sk: AV.n(String(i)),
      name: AV.s(`Customer number ${i} with a name of a plausible length`),
      email: AV.s(`customer.${i}@example.com`),
      status: AV.s(i % 3 === 0 ? "ACTIVE" : "SUSPENDED"),
      balance: AV.n(`${i * 13}.${i % 100}`),
      points: AV.n(String(i * 31)),
      verified: AV.bool(i % 2 === 0),
      notes: AV.s("x".repeat(40 + (i % 40))),
      address: AV.m(AV.item({
        street: AV.s(`${i} Long Street Name Avenue`),
        city: AV.s("Springfield"),
        zip: AV.s(String(10000 + (i % 89999)))
      })),
      tags: AV.ss(["alpha", "beta", `t${i % 10}`])
    }),
    timestampMs: 1_768_000_000_000,
    position: { _tag: "Export" as const, exportArn: `${ARN}/export/1`, file: "data/1.json.gz", line: i + 1 }
  }))

const COLUMNS: ReadonlyArray<readonly [string, string]> = [
  ["pk", "text"],
  ["sk", "numeric"],
  ["name", "text"],
  ["email", "text"],
  ["status", "text"],
  ["balance", "numeric"],
  ["points", "numeric"],
  ["verified", "boolean"],
  ["notes", "text"],
  ["address", "jsonb"],
  ["tags", "jsonb"],
  ["_backstream_version", "numeric(40,0)"]
]

const plainValues = (event: ChangeEvent): ReadonlyArray<unknown> => {
  const image = event.newImage!
  const value = (name: string) => {
    const v = image.get(name)!
    switch (v._tag) {
      case "S":
      case "N":
        return v.value
      case "BOOL":
        return v.value
      default:
        return JSON.stringify(v._tag === "M" ? { M: v.value } : v)
    }
  }
  return [...COLUMNS.slice(0, -1).map(([name]) => value(name)), "0"]
}

/** The baseline: `INSERT … VALUES (…), (…)` of the batch's rows, one transaction a batch. */
const plainInsert = async (client: SqlClient, name: string, batches: ReadonlyArray<ReadonlyArray<ChangeEvent>>) => {
  await client.query(`CREATE TABLE ${name} (${COLUMNS.map(([c, t]) => `${c} ${t}`).join(", ")}, PRIMARY KEY (pk, sk))`)
  const width = COLUMNS.length
  for (const batch of batches) {
    await client.transaction(async (tx) => {
      const params: Array<unknown> = []
      const rows: Array<string> = []
      for (const event of batch) {
        const start = params.length
        params.push(...plainValues(event))
        rows.push(`(${COLUMNS.map((_, i) => `$${start + i + 1}`).join(", ")})`)
        if (params.length + width > 65_000) throw new Error("batch too large for one statement")
      }
      await tx.query(`INSERT INTO ${name} (${COLUMNS.map(([c]) => c).join(", ")}) VALUES ${rows.join(", ")}`, params)
    })
  }
}

const viaSink = async (
  client: SqlClient,
  kind: string,
  name: string,
  batches: ReadonlyArray<ReadonlyArray<ChangeEvent>>
) => {
  const sink = SqlSink.make({ client, kind, location: "bench", options: { table: name } })
  const source = {
    name,
    arn: ARN,
    keySchema: { hash: { name: "pk", type: "S" as const }, range: { name: "sk", type: "N" as const } }
  }
  await Effect.runPromise(sink.open(source))
  let n = 0
  for (const events of batches) {
    await Effect.runPromise(
      sink.write({ events, checkpoint: { ...Checkpoint.initial(ARN, `${ARN}/stream/1`), savedAtMs: n++ } })
    )
  }
}

interface Backend {
  readonly label: string
  readonly kind: string
  readonly client: SqlClient
  readonly close: () => Promise<void>
}

const backends = async (): Promise<ReadonlyArray<Backend>> => {
  const found: Array<Backend> = []
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "backstream-bench-pglite-"))
  const db = await PgliteSink.openDatabase(dataDir)
  found.push({
    label: "PGlite (disk)",
    kind: "pglite",
    client: PgliteSink.client(db),
    close: async () => {
      await db.close()
      fs.rmSync(dataDir, { recursive: true, force: true })
    }
  })
  if (Postgres.binDir() === undefined) {
    console.log(`  Postgres skipped: ${Postgres.missingMessage}`)
    return found
  }
  const server = await Postgres.start()
  const pool = new pg.Pool({ connectionString: server.url, max: 2 })
  found.push({
    label: "Postgres (server, fsync off)",
    kind: "postgres",
    client: PostgresSink.client(pool, server.url),
    close: async () => {
      await pool.end()
      await server.stop()
    }
  })
  return found
}

const run = async (options: BenchOptions): Promise<void> => {
  const count = options.quick ? 10_000 : 100_000
  const events = makeEvents(count)
  const batches: Array<ReadonlyArray<ChangeEvent>> = []
  for (let i = 0; i < events.length; i += BATCH) batches.push(events.slice(i, i + BATCH))
  const sample = events.slice(0, 1000)
  const bytes = sample.reduce((sum, e) => sum + JSON.stringify(DynamoJson.encodeItem(e.newImage!)).length, 0)
    / sample.length
  console.log(
    `${thousands(count)} snapshot rows of about ${
      bytes.toFixed(0)
    } bytes of DynamoDB JSON, ${BATCH} a batch, ${options.rounds} rounds`
  )

  const rows = [["", "sink rows/s", "plain INSERT rows/s", "ratio"]]
  let tables = 0
  for (const backend of await backends()) {
    const sinkRates: Array<number> = []
    const plainRates: Array<number> = []
    try {
      for (let round = 1; round <= options.rounds; round++) {
        let started = performance.now()
        await plainInsert(backend.client, `plain_${tables++}`, batches)
        const plain = count / ((performance.now() - started) / 1000)
        started = performance.now()
        await viaSink(backend.client, backend.kind, `sink_${tables++}`, batches)
        const sink = count / ((performance.now() - started) / 1000)
        plainRates.push(plain)
        sinkRates.push(sink)
        console.log(
          `  round ${round}/${options.rounds}  ${backend.label.padEnd(30)} sink ${thousands(sink).padStart(8)} rows/s  `
            + `plain ${thousands(plain).padStart(8)} rows/s`
        )
      }
    } finally {
      await backend.close()
    }
    const sink = median(sinkRates)
    const plain = median(plainRates)
    rows.push([backend.label, thousands(sink), thousands(plain), (sink / plain).toFixed(2)])
  }
  console.log()
  console.log("medians over the rounds; ratio: the sink's rows/s over the plain INSERT's")
  console.log(table(rows))
  if (options.quick) console.log("(quick run: 10,000 rows; run without --quick for the figures that count)")
}

export const benchmark: Benchmark = {
  name: "SinkLoad",
  description: "SQL sinks: backfill batches into PGlite and Postgres, against a plain multi-row INSERT",
  run
}
