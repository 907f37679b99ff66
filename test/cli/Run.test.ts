/**
 * `backstream run` as a user runs it: the CLI as a subprocess, the emulator as its own process, the table written
 * with the SDK, the replica compared with the table item by item.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import pg from "pg"
import * as PgliteSink from "../../adapters/sinks/PgliteSink.ts"
import * as Checkpoint from "../../core/Checkpoint.ts"
import * as SequenceNumber from "../../core/SequenceNumber.ts"
import { assertSameItems, read, type SinkTarget } from "../contract/SinkContract.ts"
import { type RunningEmulator, startEmulatorProcess } from "../support/EmulatorProcess.ts"
import * as Postgres from "../support/Postgres.ts"
import { describeWithPostgres } from "../support/PostgresSuite.ts"
import {
  ATTRIBUTES,
  duplicates,
  type Finished,
  KEY_SCHEMA,
  readEvents,
  replayFile,
  runCli,
  source,
  spawnCli,
  waitFor
} from "./support/Replication.ts"

const BUCKET = "exports"
let emulator: RunningEmulator
let src: ReturnType<typeof source>
let dir: string
let tables = 0

beforeAll(async () => {
  emulator = await startEmulatorProcess(["--clock", "real", "--export-seconds", "1"])
  src = source(emulator.url)
  await src.createBucket(BUCKET)
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "backstream-run-"))
}, 60_000)

afterAll(async () => {
  src?.destroy()
  await emulator?.stop()
  if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true })
})

const freshTable = async (options?: Parameters<typeof src.createTable>[1]) => {
  const name = `orders-${++tables}`
  await src.createTable(name, options)
  return name
}

const sourceFlags = (table: string) => ["--table", table, "--endpoint", emulator.url, "--export-bucket", BUCKET]

const noStackTrace = (run: Finished) => {
  assert.notMatch(run.stderr, /\n\s+at /, `a stack trace in:\n${run.stderr}`)
  assert.notMatch(run.stdout, /\n\s+at /)
}

const ok = (run: Finished) => assert.strictEqual(run.code, 0, `exit ${run.code}:\n${run.stderr}`)

const pgliteRows = async (dataDir: string, table: string) => {
  const db = await PgliteSink.openDatabase(dataDir)
  try {
    const target: SinkTarget = {
      fresh: () => table,
      layer: () => {
        throw new Error("not used")
      },
      sql: async (text, params) =>
        (await db.query<Record<string, unknown>>(text, params === undefined ? [] : [...params])).rows
    }
    return await read(target, table, KEY_SCHEMA, ATTRIBUTES)
  } finally {
    await db.close()
  }
}

/** Runs at most three test bodies at a time: each starts CLI processes of its own, which compete for the cores. */
const limited = (() => {
  let free = 3
  const waiting: Array<() => void> = []
  return async (body: () => Promise<void>): Promise<void> => {
    if (free > 0) free--
    else await new Promise<void>((resolve) => waiting.push(resolve))
    try {
      await body()
    } finally {
      const next = waiting.shift()
      if (next === undefined) free++
      else next()
    }
  }
})()

// The tests of each suite run concurrently (each with its own table, files and folders): most of their time is spent
// waiting on the CLI processes, the export and the stream polls, which then overlap.
describe.concurrent("backstream run", { timeout: 480_000 }, () => {
  // Its own server and tables; its two tests one after the other (the second watches the server's lock waits), while
  // the tests below run.
  describeWithPostgres("into Postgres", () => {
    let server: Postgres.PostgresServer
    let pool: pg.Pool
    beforeAll(async () => {
      server = await Postgres.start()
      pool = new pg.Pool({ connectionString: server.url, max: 2 })
    }, 120_000)
    afterAll(async () => {
      await pool?.end()
      await server?.stop()
    })

    const postgresRows = (table: string) =>
      read(
        {
          fresh: () => table,
          layer: () => {
            throw new Error("not used")
          },
          sql: async (text, params) => (await pool.query(text, params === undefined ? undefined : [...params])).rows
        },
        table,
        KEY_SCHEMA,
        ATTRIBUTES
      )

    it.sequential(
      "a replica equal to the table, resumed from the checkpoint in the database",
      { timeout: 480_000 },
      async () => {
        const table = await freshTable()
        await src.write(table, 60)
        const flags = [...sourceFlags(table), "--sink", server.url, "--spool", `dir:${dir}/${table}-spool`]
        const first = await runCli(["run", ...flags, "--until", "caught-up"])
        ok(first)
        assertSameItems(await postgresRows(table), await src.items(table))

        await src.write(table, 30)
        const second = await runCli(["run", ...flags, "--until", "caught-up"])
        ok(second)
        assertSameItems(await postgresRows(table), await src.items(table))
        const third = await runCli(["run", ...flags, "--until", "caught-up"])
        ok(third)
        assert.match(third.stderr, /caught up: 0 stream changes/)
      }
    )

    it.sequential(
      "a batch stuck in the database: the run exits after its grace period, or at once on a second signal",
      {
        timeout: 480_000
      },
      async () => {
        const table = await freshTable()
        await src.write(table, 10)
        const flags = [...sourceFlags(table), "--sink", server.url, "--spool", `dir:${dir}/${table}-spool`]
        ok(await runCli(["run", ...flags, "--until", "caught-up"]))

        /** Starts a run, holds a lock on its table and writes: the next batch waits for the lock, inside its commit. */
        const stuck = async (body: (running: ReturnType<typeof spawnCli>) => Promise<void>) => {
          const running = spawnCli(["run", ...flags, "--until", "forever"])
          await waitFor("the stream", () => running.stderr().includes("streaming:"), 120_000)
          const locker = await pool.connect()
          try {
            await locker.query("BEGIN")
            await locker.query(`LOCK TABLE "${table}" IN ACCESS EXCLUSIVE MODE`)
            await src.write(table, 3)
            await waitFor("a batch waiting for the lock", async () => {
              const waiting = await pool.query("SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted")
              return waiting.rows[0].n > 0
            }, 120_000)
            await body(running)
          } finally {
            await locker.query("ROLLBACK").catch(() => undefined)
            locker.release()
          }
        }

        await stuck(async (running) => {
          running.child.kill("SIGTERM")
          const stopped = await running.finished
          assert.strictEqual(stopped.code, 143, stopped.stderr)
          assert.include(stopped.stderr, "did not stop within 9 s")
        })
        await stuck(async (running) => {
          running.child.kill("SIGINT")
          await waitFor("the first signal's notice", () => running.stderr().includes("SIGINT: stopping"), 120_000)
          running.child.kill("SIGINT")
          const stopped = await running.finished
          assert.strictEqual(stopped.code, 130, stopped.stderr)
          assert.include(stopped.stderr, "SIGINT again: exiting now")
        })
        // Nothing was lost: the next run applies the batches that did not commit.
        ok(await runCli(["run", ...flags, "--until", "caught-up"]))
        assertSameItems(await postgresRows(table), await src.items(table))
      }
    )
  })

  it("SIGTERM while following the stream: exit 143 with the checkpoint committed; a restart loses nothing", () =>
    limited(async () => {
      const table = await freshTable()
      await src.write(table, 50)
      const output = path.join(dir, `${table}.jsonl`)
      const checkpointFile = path.join(dir, `${table}-checkpoint.json`)
      const flags = [
        ...sourceFlags(table),
        "--sink",
        `jsonl:${output}`,
        "--checkpoint",
        `file:${checkpointFile}`,
        "--spool",
        `dir:${dir}/${table}-spool`
      ]
      const running = spawnCli(["run", ...flags, "--until", "forever"])
      await waitFor("the backfill", () => running.stderr().includes("loading export"), 120_000)
      // Writes while it follows the stream, and the signal while they are being applied.
      let writing = true
      const writer = (async () => {
        while (writing) await src.write(table, 5)
      })()
      await waitFor("stream changes in the file", () => readEvents(output).some((event) => event.op !== "r"), 60_000)
      running.child.kill("SIGTERM")
      const stopped = await running.finished
      writing = false
      await writer
      assert.strictEqual(stopped.code, 143, stopped.stderr)
      assert.include(stopped.stderr, "stopped (SIGTERM)")
      assert.notInclude(stopped.stderr, "did not stop within")
      noStackTrace(stopped)

      // Every event in the file is covered by the checkpoint: the batch in flight was written and checkpointed.
      const saved = Checkpoint.decode(fs.readFileSync(checkpointFile, "utf8"))
      assert.strictEqual(saved._tag, "Right")
      if (saved._tag !== "Right") return
      assert.strictEqual(saved.right.backfill._tag, "Done")
      for (const event of readEvents(output)) {
        if (event.position._tag !== "Stream") continue
        const { shardId, sequenceNumber } = event.position
        const position = saved.right.capture.positions.get(shardId)
        assert.isTrue(
          saved.right.capture.finished.has(shardId)
            || (position !== undefined && SequenceNumber.compare(sequenceNumber, position.sequenceNumber) <= 0),
          `${shardId} ${sequenceNumber} is in the file but after the checkpoint`
        )
      }

      await src.write(table, 20)
      const restarted = await runCli(["run", ...flags, "--until", "caught-up"])
      ok(restarted)
      const events = readEvents(output)
      assert.deepStrictEqual(duplicates(events), [])
      assertSameItems(replayFile(output), await src.items(table))
    }))

  it("into a JSON-lines file: a replica equal to the table; a second run resumes with nothing repeated", () =>
    limited(async () => {
      const table = await freshTable()
      await src.write(table, 80)
      const output = path.join(dir, `${table}.jsonl`)
      const flags = [...sourceFlags(table), "--sink", `jsonl:${output}`, "--spool", `dir:${dir}/${table}-spool`]

      const first = await runCli(["run", ...flags, "--until", "caught-up"])
      ok(first)
      noStackTrace(first)
      assert.match(first.stderr, /caught up: \d+ items from the export/)
      assertSameItems(replayFile(output), await src.items(table))
      const afterFirst = readEvents(output)
      assert.isAbove(afterFirst.filter((event) => event.op === "r").length, 0, "the backfill wrote snapshot reads")
      assert.isTrue(fs.existsSync(`${output}.checkpoint.json`), "the checkpoint beside the file (the default)")

      await src.write(table, 40)
      const second = await runCli(["run", ...flags, "--until", "caught-up"])
      ok(second)
      const events = readEvents(output)
      assert.deepStrictEqual(duplicates(events), [])
      assert.strictEqual(
        events.filter((event) => event.op === "r").length,
        afterFirst.filter((e) => e.op === "r").length
      )
      assert.isAbove(events.length, afterFirst.length)
      assertSameItems(replayFile(output), await src.items(table))

      const third = await runCli(["run", ...flags, "--until", "caught-up"])
      ok(third)
      assert.match(third.stderr, /caught up: 0 stream changes/)
      assert.strictEqual(readEvents(output).length, events.length)
    }))

  it("into PGlite, configured from BACKSTREAM_* variables: equal to the table, then resumed", () =>
    limited(async () => {
      const table = await freshTable()
      await src.write(table, 60)
      const dataDir = path.join(dir, "pglite", table)
      const env = {
        BACKSTREAM_TABLE: table,
        BACKSTREAM_ENDPOINT: emulator.url,
        BACKSTREAM_EXPORT_BUCKET: BUCKET,
        BACKSTREAM_EXPORT_PREFIX: "cli",
        BACKSTREAM_SINK: `pglite:${dataDir}`,
        BACKSTREAM_SPOOL: `dir:${dir}/${table}-spool`,
        BACKSTREAM_UNTIL: "caught-up"
      }
      const first = await runCli(["run"], { env })
      ok(first)
      assert.include(first.stderr, `pglite:${dataDir}`)
      assert.include(first.stderr, "checkpoint sink")
      assertSameItems(await pgliteRows(dataDir, table), await src.items(table))

      await src.write(table, 30)
      const second = await runCli(["run"], { env })
      ok(second)
      assert.match(second.stderr, /caught up: \d+ stream changes/)
      assert.notMatch(second.stderr, /items from the export|started export/)
      assertSameItems(await pgliteRows(dataDir, table), await src.items(table))
    }))

  it("on Deno: run --until caught-up into JSON lines gives the table, and a second run resumes", () =>
    limited(async () => {
      const table = await freshTable()
      await src.write(table, 40)
      const output = path.join(dir, `${table}-deno.jsonl`)
      const flags = [...sourceFlags(table), "--sink", `jsonl:${output}`, "--spool", `dir:${dir}/${table}-deno-spool`]
      const first = await runCli(["run", ...flags, "--until", "caught-up"], { runtime: "deno" })
      ok(first)
      noStackTrace(first)
      assert.match(first.stderr, /caught up: \d+ items from the export/)
      assertSameItems(replayFile(output), await src.items(table))
      await src.write(table, 15)
      ok(await runCli(["run", ...flags, "--until", "caught-up"], { runtime: "deno" }))
      assert.deepStrictEqual(duplicates(readEvents(output)), [])
      assertSameItems(replayFile(output), await src.items(table))
    }))

  it("bad flag values: exit 2 with a clear message", () =>
    limited(async () => {
      const cases: ReadonlyArray<[ReadonlyArray<string>, string]> = [
        [["--sink", "mysql://x"], "expected jsonl:- (standard output), jsonl:PATH"],
        [["--sink", "jsonl:"], "jsonl:PATH or jsonl:-"],
        [["--sink", "jsonl:-", "--checkpoint", "sink"], "a jsonl sink does not commit checkpoints"],
        [["--checkpoint", "ftp://x"], "expected file:PATH, s3://bucket/key or sink"],
        [["--checkpoint", "s3://bucket"], "s3://BUCKET/key"],
        [["--spool", "/tmp/x"], "expected dir:PATH or s3://bucket/prefix"],
        [["--sink", "jsonl:-", "--sink-mode", "document"], "--sink-mode is for SQL sinks"],
        [["--sink", "pglite:x", "--format", "plain"], "--format is for jsonl sinks"],
        [["--endpoint", "localhost:4566"], "expected an http:// or https:// URL"],
        [["--export-arn", "arn:aws:dynamodb:us-east-1:1:table/t/export/1", "--backfill", "never"], "--export-arn"],
        [["--until", "later"], "caught-up"],
        [["--backfill", "sometimes"], "never"]
      ]
      const calls: ReadonlyArray<() => Promise<Finished>> = [
        ...cases.map(([flags]) => () => runCli(["run", "--table", "t", "--region", "us-east-1", ...flags])),
        () => runCli(["run"]),
        () => runCli(["run", "--table", "t"], { env: { BACKSTREAM_UNTIL: "tomorrow" } })
      ]
      const runs: Array<Finished> = []
      for (let i = 0; i < calls.length; i += 4) {
        runs.push(...await Promise.all(calls.slice(i, i + 4).map((call) => call())))
      }
      cases.forEach(([flags, expected], i) => {
        const run = runs[i]!
        assert.strictEqual(run.code, 2, `${flags.join(" ")}: exit ${run.code}\n${run.stderr}`)
        assert.include(run.stdout + run.stderr, expected, flags.join(" "))
        noStackTrace(run)
      })
      const [noTable, badEnv] = runs.slice(cases.length)
      assert.strictEqual(noTable!.code, 2)
      assert.include(noTable!.stdout + noTable!.stderr, "--table")
      assert.strictEqual(badEnv!.code, 2, badEnv!.stderr)
    }))

  it("--metrics-port: /metrics parses as Prometheus text and its counters move; /healthz answers", () =>
    limited(async () => {
      const table = await freshTable()
      await src.write(table, 30)
      const output = path.join(dir, `${table}.jsonl`)
      const running = spawnCli([
        "run",
        ...sourceFlags(table),
        "--sink",
        `jsonl:${output}`,
        "--spool",
        `dir:${dir}/${table}-spool`,
        "--until",
        "forever",
        "--metrics-port",
        "0"
      ])
      try {
        await waitFor("the metrics URL", () => /metrics at http:\/\/127\.0\.0\.1:\d+/.test(running.stderr()), 120_000)
        const url = /metrics at (http:\/\/127\.0\.0\.1:\d+)/.exec(running.stderr())![1]!
        const scrape = async () => {
          const text = await (await fetch(`${url}/metrics`)).text()
          const samples = new Map<string, number>()
          for (const line of text.split("\n")) {
            if (line === "" || line.startsWith("#")) continue
            const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (-?[0-9.eE+-]+|NaN|\+Inf|-Inf)$/.exec(line)
            assert.isNotNull(match, `not a Prometheus sample line: ${line}`)
            samples.set(match![1]!, Number(match![2]))
          }
          return samples
        }
        const sum = (samples: Map<string, number>, name: string) =>
          [...samples].filter(([key]) => key === name || key.startsWith(`${name}{`)).reduce((n, [, v]) => n + v, 0)
        assert.strictEqual((await (await fetch(`${url}/healthz`)).text()).trim(), "ok")
        await waitFor(
          "the backfill applied",
          async () => sum(await scrape(), "backstream_events_applied_total") >= 30,
          120_000
        )
        const before = await scrape()
        assert.isAbove(sum(before, "backstream_capture_getrecords_calls_total"), 0)
        await src.write(table, 10)
        await waitFor(
          "stream changes counted",
          async () =>
            sum(await scrape(), "backstream_events_applied_total") > sum(before, "backstream_events_applied_total"),
          60_000
        )
      } finally {
        running.child.kill("SIGTERM")
        await running.finished
      }
    }))

  it("the defaults: PGlite in ./backstream-data/<table>, spool in ./backstream-spool/<table>", () =>
    limited(async () => {
      const table = await freshTable()
      await src.write(table, 20)
      const cwd = fs.mkdtempSync(path.join(dir, "cwd-"))
      const run = await runCli(["run", ...sourceFlags(table), "--until", "caught-up"], { cwd })
      ok(run)
      assert.isTrue(fs.existsSync(path.join(cwd, "backstream-spool", table)))
      assertSameItems(await pgliteRows(path.join(cwd, "backstream-data", table), table), await src.items(table))
    }))

  it("an engine error: exit 1 with what to fix, no stack trace", () =>
    limited(async () => {
      const [noStream, pitrOff] = await Promise.all([freshTable({ stream: false }), freshTable({ pitr: false })])
      const cwd = fs.mkdtempSync(path.join(dir, "cwd-"))
      const [run, noPitr, missing] = await Promise.all([
        runCli(["run", ...sourceFlags(noStream), "--sink", `jsonl:${dir}/x.jsonl`, "--until", "caught-up"]),
        runCli(["run", ...sourceFlags(pitrOff), "--sink", `jsonl:${dir}/y.jsonl`, "--until", "caught-up"]),
        runCli(["run", ...sourceFlags("no-such-table"), "--until", "caught-up"], { cwd })
      ])
      assert.strictEqual(run.code, 1, run.stderr)
      assert.include(run.stderr, `table ${noStream} has no stream`)
      assert.include(run.stderr, "StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES")
      noStackTrace(run)

      assert.strictEqual(noPitr.code, 1, noPitr.stderr)
      assert.include(noPitr.stderr, "PointInTimeRecoveryEnabled=true")

      assert.strictEqual(missing.code, 1, missing.stderr)
      assert.include(missing.stderr, "table no-such-table not found")
      assert.deepStrictEqual(fs.readdirSync(cwd), [], "nothing made for a table that is not there")
      noStackTrace(missing)
    }))

  it("a Postgres password never appears in the output", () =>
    limited(async () => {
      const secret = "SECRET-PASSWORD-123"
      const table = await freshTable()
      const url = `postgres://u:${secret}@127.0.0.1:1/db`
      const runs = await Promise.all([
        runCli(["run", ...sourceFlags(table), "--backfill", "never", "--sink", url, "--until", "caught-up"]),
        runCli(["run", ...sourceFlags(table), "--backfill", "never", "--until", "caught-up"], {
          env: { BACKSTREAM_SINK: url }
        }),
        runCli(["run", "--table", table, "--sink", `postgres://u:${secret}@/db`]),
        runCli(["run", "--table", table, "--sink", `postgres://u:${secret}@127.0.0.1:1/db`, "--format", "plain"]),
        runCli([
          "run",
          "--table",
          table,
          "--sink",
          `postgres://u:${secret}@127.0.0.1:1/db?password=${secret}`,
          "--sink-table",
          "a.b.c.d"
        ])
      ])
      const [failed, fromEnv, usage, usage2] = runs
      assert.strictEqual(failed!.code, 1, failed!.stderr)
      assert.include(failed!.stderr, "postgres://u:***@127.0.0.1:1/db")
      assert.strictEqual(fromEnv!.code, 1, fromEnv!.stderr)
      assert.strictEqual(usage!.code, 2, usage!.stderr)
      assert.strictEqual(usage2!.code, 2, usage2!.stderr)
      for (const run of runs) {
        assert.notInclude(run.stdout + run.stderr, secret)
        noStackTrace(run)
      }
    }))

  it("--help describes every flag and its environment variable", () =>
    limited(async () => {
      const run = await runCli(["run", "--help"])
      ok(run)
      for (const flag of ["--table", "--sink", "--checkpoint", "--spool", "--until", "--backfill", "--endpoint"]) {
        assert.include(run.stdout, flag)
      }
      assert.include(run.stdout, "BACKSTREAM_TABLE")
      assert.include(run.stdout, "BACKSTREAM_SINK")
    }))
})
