/**
 * Secrets and exposure: recognisable fake secrets (AWS credentials in the environment, a Postgres password in
 * `--sink` and in `BACKSTREAM_SINK`) go into the CLI, and every output is searched for them: standard output and
 * error of runs that succeed and fail (text and JSON logs), `--help`, `check` (text and JSON), `/metrics` and
 * `/healthz`, checkpoints (a file, an S3 object, the `_backstream_checkpoints` table), spools, replicas, the
 * emulator's request log and its saved state. The emulator and the metrics endpoint bind 127.0.0.1 unless told
 * otherwise; the run's configuration line shows the sink's password as `***`.
 */
import { GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3"
import { afterAll, assert, beforeAll, it } from "@effect/vitest"
import { Either } from "effect"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import pg from "pg"
import * as PostgresSink from "../../adapters/sinks/PostgresSink.ts"
import * as Targets from "../../adapters/cli/Targets.ts"
import type { LoggedRequest } from "../../emulator/Emulator.ts"
import { type RunningEmulator, startEmulatorProcess } from "../support/EmulatorProcess.ts"
import * as Postgres from "../support/Postgres.ts"
import { describeWithPostgres } from "../support/PostgresSuite.ts"
import { type Finished, runCli, source, spawnCli, waitFor } from "../cli/support/Replication.ts"
import { assertAttributed, assertUsed, assertWithinPolicy, CORE, counts } from "./support/Policy.ts"

const ACCESS_KEY_ID = "AKIAFAKEID7SECRETSCAN"
const SECRET_ACCESS_KEY = "fakeSecretKey/EXPOSED+wJalrXUtnFEMI0123456789"
const SESSION_TOKEN = "FakeSessionToken//EXPOSED//IQoJb3JpZ2luX2VjEJr=="
/** As written in the URL (percent-encoded) and as the server would get it. */
const PG_PASSWORD = "pg%40Passw0rd-EXPOSED"
const PG_PASSWORD_DECODED = "pg@Passw0rd-EXPOSED"

const SECRETS: Readonly<Record<string, string>> = {
  AWS_ACCESS_KEY_ID: ACCESS_KEY_ID,
  AWS_SECRET_ACCESS_KEY: SECRET_ACCESS_KEY,
  AWS_SESSION_TOKEN: SESSION_TOKEN,
  "the Postgres password": PG_PASSWORD,
  "the Postgres password (decoded)": PG_PASSWORD_DECODED
}

const AWS_SECRETS = {
  AWS_ACCESS_KEY_ID: ACCESS_KEY_ID,
  AWS_SECRET_ACCESS_KEY: SECRET_ACCESS_KEY,
  AWS_SESSION_TOKEN: SESSION_TOKEN
}

/** Fails naming each secret found in `text`, and where. */
const assertNoSecret = (where: string, text: string, secrets: Readonly<Record<string, string>> = SECRETS) => {
  const found = Object.entries(secrets).filter(([, secret]) => text.includes(secret)).map(([name]) => name)
  assert.deepStrictEqual(found, [], `${where} shows ${found.join(", ")}:\n${text.slice(0, 4000)}`)
}

const assertRunClean = (name: string, run: Finished) => {
  assertNoSecret(`${name}: standard output`, run.stdout)
  assertNoSecret(`${name}: standard error`, run.stderr)
}

/** Every file below `dir`, with its content. */
const filesOf = (dir: string): Array<readonly [string, string]> =>
  fs.existsSync(dir)
    ? fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile()).map((entry) => {
      const file = path.join(entry.parentPath, entry.name)
      return [file, fs.readFileSync(file, "latin1")] as const
    })
    : []

/** The machine's first address that is not loopback, to reach a server as another machine would. */
const lanAddress = (): string | undefined =>
  Object.values(os.networkInterfaces()).flat().find((address) =>
    address !== undefined && address.family === "IPv4" && !address.internal
  )?.address

/** Whether a TCP connection to `host:port` is accepted. */
const accepts = (host: string, port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect({ host, port })
    socket.setTimeout(3000)
    socket.once("connect", () => {
      socket.destroy()
      resolve(true)
    })
    socket.once("error", () => resolve(false))
    socket.once("timeout", () => {
      socket.destroy()
      resolve(false)
    })
  })

/** Runs the tasks, at most `limit` at a time (CLI processes are CPU-bound at start). */
const inPool = async (limit: number, tasks: ReadonlyArray<() => Promise<void>>) => {
  const queue = [...tasks]
  await Promise.all(Array.from({ length: limit }, async () => {
    for (let task = queue.shift(); task !== undefined; task = queue.shift()) await task()
  }))
}

const metricsUrlOf = (stderr: string) => /metrics at (http:\/\/\S+?)\/metrics/.exec(stderr)?.[1]

const TABLE = "secrets"
const BUCKET = "secrets"

describeWithPostgres("secrets and exposure", () => {
  let dir: string
  let emulator: RunningEmulator
  let server: Postgres.PostgresServer
  let src: ReturnType<typeof source>
  let closedPort: number
  const runs: Record<string, Finished> = {}
  const scraped: Record<string, string> = {}
  const metricsUrls: Record<string, string> = {}
  const reachableFromLan: Record<string, boolean> = {}
  let checkpointRows = ""
  let replicaRows = ""
  let requestLog: ReadonlyArray<LoggedRequest> = []
  let s3Objects: Array<readonly [string, string]> = []

  const sinkUrl = (port: number) => `postgres://postgres:${PG_PASSWORD}@127.0.0.1:${port}/postgres`

  /** Runs the CLI with the fake AWS credentials in its environment. */
  const cli = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
    runCli(args, { env: { ...AWS_SECRETS, ...env }, cwd: dir })

  const query = async (text: string) => {
    const client = new pg.Client({ connectionString: server.url })
    await client.connect()
    try {
      return (await client.query(text)).rows
    } finally {
      await client.end()
    }
  }

  /** A `run` that follows the stream until `ready`; then its metrics are scraped and it is stopped (SIGTERM). */
  const followed = async (
    name: string,
    args: ReadonlyArray<string>,
    env: Record<string, string>,
    ready: () => boolean | Promise<boolean>,
    onReady: () => void = () => undefined
  ) => {
    const running = spawnCli(["run", ...args, "--metrics-port", "0", "--until", "forever"], {
      env: { ...AWS_SECRETS, ...env },
      cwd: dir
    })
    await waitFor(
      `${name}: its checkpoint`,
      async () => running.child.exitCode !== null || (metricsUrlOf(running.stderr()) !== undefined && await ready()),
      90_000
    ).catch((error) => {
      running.child.kill("SIGKILL")
      throw new Error(`${error.message}; its standard error:\n${running.stderr()}`)
    })
    onReady()
    const url = metricsUrlOf(running.stderr())
    if (url !== undefined) {
      metricsUrls[name] = url
      scraped[`${name} /metrics`] = await (await fetch(`${url}/metrics`)).text()
      scraped[`${name} /healthz`] = await (await fetch(`${url}/healthz`)).text()
      const lan = lanAddress()
      if (lan !== undefined) reachableFromLan[name] = await accepts(lan, Number(new URL(url).port))
    }
    running.child.kill("SIGTERM")
    runs[name] = await running.finished
  }

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "backstream-secrets-"))
    ;[emulator, server, closedPort] = await Promise.all([
      startEmulatorProcess(["--clock", "real", "--export-seconds", "1", "--data-dir", path.join(dir, "emulator")]),
      Postgres.start(),
      Postgres.freePort()
    ])
    src = source(emulator.url)
    await src.createBucket(BUCKET)
    await src.createTable(TABLE)
    // More records than the engine's spool batch (64): the first read of the stream fills a batch and writes it to
    // the spool at once, while the run waits for its export (1 s).
    await src.write(TABLE, 100)

    const flagsOf = (table: string) => ["--table", table, "--endpoint", emulator.url, "--export-bucket", BUCKET]
    const flags = flagsOf(TABLE)
    /** Rows in the replica, and the checkpoint saved. */
    const replicated = (sinkTable: string, checkpointed: () => boolean | Promise<boolean>) => async () => {
      const rows = await query(`SELECT count(*)::int AS n FROM pg_tables WHERE tablename = '${sinkTable}'`)
      return rows[0]!.n > 0 && (await query(`SELECT count(*)::int AS n FROM ${sinkTable}`))[0]!.n > 0
        && await checkpointed()
    }
    const inPostgres = (sinkTable: string) => async () =>
      JSON.stringify(await query(`SELECT sink_table FROM _backstream_checkpoints`)).includes(sinkTable)
    let firstReady: () => void = () => undefined
    const first = new Promise<void>((resolve) => (firstReady = resolve))
    const once = (name: string, args: ReadonlyArray<string>, env: Record<string, string> = {}) => async () => {
      runs[name] = await cli(args, env)
    }
    await inPool(3, [
      async () => {
        await followed(
          "run into Postgres (--sink, JSON logs)",
          [
            ...flags,
            "--sink",
            sinkUrl(server.port),
            "--sink-table",
            "replica_flag",
            "--log-format",
            "json",
            "--spool",
            `dir:${dir}/spool`
          ],
          {},
          replicated("replica_flag", inPostgres("replica_flag")),
          firstReady
        ).finally(firstReady)
      },
      async () => {
        // After the first has made the sink's tables: two first runs at once would race to create them.
        await first
        await followed("run into Postgres (BACKSTREAM_SINK, text logs)", [
          ...flags,
          "--sink-table",
          "replica_env",
          "--checkpoint",
          `file:${dir}/checkpoint.json`,
          "--spool",
          `s3://${BUCKET}/spool/${TABLE}`,
          // Its own export: reusing the first run's, the backfill could end before the spool had written anything.
          "--export-prefix",
          "exports-env",
          "--metrics-host",
          "0.0.0.0"
        ], {
          BACKSTREAM_SINK: sinkUrl(server.port)
        }, replicated("replica_env", () => fs.existsSync(path.join(dir, "checkpoint.json"))))
      },
      once("run into JSON lines (S3 checkpoint)", [
        "run",
        ...flags,
        "--sink",
        `jsonl:${dir}/replica.jsonl`,
        "--checkpoint",
        `s3://${BUCKET}/checkpoints/${TABLE}.json`,
        "--spool",
        `dir:${dir}/spool-jsonl`,
        "--until",
        "caught-up"
      ]),
      once("run, Postgres unreachable (--sink, text logs)", ["run", ...flags, "--sink", sinkUrl(closedPort)]),
      // The password as people write it by mistake: its @ not encoded.
      once("run, Postgres unreachable (BACKSTREAM_SINK, JSON logs)", ["run", ...flags, "--log-format", "json"], {
        BACKSTREAM_SINK: `postgres://postgres:${PG_PASSWORD_DECODED}@127.0.0.1:${closedPort}/postgres`
      }),
      once("run, no such table (JSON logs)", [
        "run",
        ...flagsOf("missing"),
        "--sink",
        sinkUrl(server.port),
        "--log-format",
        "json"
      ]),
      once("check (text)", ["check", ...flags], { BACKSTREAM_SINK: sinkUrl(server.port) }),
      once("check (JSON)", ["check", ...flags, "--format", "json"], { BACKSTREAM_SINK: sinkUrl(server.port) }),
      once("run --help", ["run", "--help"], { BACKSTREAM_SINK: sinkUrl(server.port) })
    ])

    checkpointRows = JSON.stringify(await query("SELECT * FROM _backstream_checkpoints"))
    replicaRows = JSON.stringify([
      ...await query("SELECT * FROM public.replica_flag"),
      ...await query("SELECT * FROM public.replica_env")
    ])
    requestLog = ((await (await fetch(`${emulator.url}/_backstream/requests`)).json()) as {
      requests: Array<LoggedRequest>
    }).requests
    const listed = await src.sdk.s3.send(new ListObjectsV2Command({ Bucket: BUCKET }))
    s3Objects = await Promise.all(
      (listed.Contents ?? []).map(async (object) => {
        const got = await src.sdk.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: object.Key! }))
        return [object.Key!, Buffer.from(await got.Body!.transformToByteArray()).toString("latin1")] as const
      })
    )
  }, 240_000)

  afterAll(async () => {
    src?.destroy()
    await emulator?.stop()
    await server?.stop()
    if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true })
  })

  it("the runs did what they were asked: replicated, or failed with a message", () => {
    for (const name of ["run into Postgres (--sink, JSON logs)", "run into Postgres (BACKSTREAM_SINK, text logs)"]) {
      assert.strictEqual(runs[name]?.code, 143, `${name}: exit ${runs[name]?.code}\n${runs[name]?.stderr}`)
    }
    const jsonl = runs["run into JSON lines (S3 checkpoint)"]
    assert.strictEqual(jsonl?.code, 0, `exit ${jsonl?.code}\n${jsonl?.stderr}`)
    for (
      const name of [
        "run, Postgres unreachable (--sink, text logs)",
        "run, Postgres unreachable (BACKSTREAM_SINK, JSON logs)",
        "run, no such table (JSON logs)"
      ]
    ) {
      assert.strictEqual(runs[name]?.code, 1, `${name}: exit ${runs[name]?.code}\n${runs[name]?.stderr}`)
      assert.match(runs[name]!.stderr, /error/i)
    }
    assert.include(runs["run, Postgres unreachable (--sink, text logs)"]!.stderr, `127.0.0.1:${closedPort}`)
    assert.strictEqual(runs["check (text)"]?.code, 0, runs["check (text)"]?.stdout)
    assert.strictEqual(runs["check (JSON)"]?.code, 0, runs["check (JSON)"]?.stdout)
    assert.strictEqual(runs["run --help"]?.code, 0, runs["run --help"]?.stderr)
    assert.include(runs["run --help"]!.stdout, "BACKSTREAM_SINK")
    assert.isAbove(replicaRows.length, 100, "the Postgres runs replicated the table")
  })

  it("no secret in the standard output or error of any run, `check` or `--help`", () => {
    assert.strictEqual(Object.keys(runs).length, 9)
    for (const [name, run] of Object.entries(runs)) assertRunClean(name, run)
  })

  it("the configuration line at start shows the sink's password as ***", () => {
    const redacted = `postgres://postgres:***@127.0.0.1:${server.port}/postgres`
    const json = runs["run into Postgres (--sink, JSON logs)"]!.stderr.split("\n")[0]!
    const first = JSON.parse(json) as { level: string; message: string }
    assert.strictEqual(first.level, "info")
    assert.include(first.message, redacted)
    assert.include(first.message, `table ${TABLE}`)
    assert.include(first.message, `endpoint ${emulator.url}`)
    const text = runs["run into Postgres (BACKSTREAM_SINK, text logs)"]!.stderr.split("\n")[0]!
    assert.include(text, redacted)
    assert.include(runs["run, Postgres unreachable (--sink, text logs)"]!.stderr, "postgres://postgres:***@")
  })

  it("no secret in /metrics nor /healthz", () => {
    assert.deepStrictEqual(Object.keys(scraped).length, 4)
    for (const [where, body] of Object.entries(scraped)) assertNoSecret(where, body)
    assert.include(scraped["run into Postgres (--sink, JSON logs) /metrics"], "backstream_")
  })

  it("no secret in checkpoints, spools and replicas: files, S3 objects, Postgres tables", () => {
    assert.include(checkpointRows, "replica_flag")
    assertNoSecret("_backstream_checkpoints", checkpointRows)
    assertNoSecret("the Postgres replicas", replicaRows)
    const files = filesOf(dir).filter(([file]) => !file.startsWith(path.join(dir, "emulator")))
    for (const file of ["checkpoint.json", "replica.jsonl"]) {
      assert.isTrue(files.some(([name]) => name === path.join(dir, file)), file)
    }
    // The folder spool deletes its segments once drained: what is left of it (if anything) is scanned with the rest.
    assert.isTrue(fs.existsSync(path.join(dir, "spool")), "the spool folder")
    for (const [file, content] of files) assertNoSecret(file, content)
    assert.isTrue(s3Objects.some(([key]) => key === `checkpoints/${TABLE}.json`), "the checkpoint in S3")
    assert.isTrue(s3Objects.some(([key]) => key.startsWith("spool/")), "the spool in S3")
    for (const [key, content] of s3Objects) assertNoSecret(`s3://${BUCKET}/${key}`, content)
  })

  it("the emulator binds 127.0.0.1 by default", async () => {
    const url = new URL(emulator.url)
    assert.strictEqual(url.hostname, "127.0.0.1")
    assert.isTrue(await accepts("127.0.0.1", Number(url.port)))
    const lan = lanAddress()
    if (lan !== undefined) assert.isFalse(await accepts(lan, Number(url.port)), `the emulator answers on ${lan}`)
  })

  it("the emulator's request log names callers by access key id, never a secret; its saved state holds none", async () => {
    const text = JSON.stringify(requestLog)
    assertNoSecret("the emulator's request log", text, {
      AWS_SECRET_ACCESS_KEY: SECRET_ACCESS_KEY,
      AWS_SESSION_TOKEN: SESSION_TOKEN,
      "the Postgres password": PG_PASSWORD,
      "the Postgres password (decoded)": PG_PASSWORD_DECODED
    })
    // The access key id is an identifier, not a secret (CloudTrail records it): only in the field that says so.
    for (const entry of requestLog) {
      const { accessKeyId: _, ...rest } = entry
      assertNoSecret("an entry of the request log", JSON.stringify(rest))
    }
    // And these runs, into Postgres too, stayed within the least-privilege policy.
    assertAttributed(requestLog)
    const used = counts(requestLog, ACCESS_KEY_ID)
    assertWithinPolicy("the runs and checks of this suite", used)
    assertUsed("the runs and checks of this suite", used, [...CORE, "s3:PutObject", "s3:ListBucket"])
    await emulator.stop()
    const state = filesOf(path.join(dir, "emulator"))
    assert.isAbove(state.length, 0, "the emulator saved its state")
    for (const [file, content] of state) assertNoSecret(file, content)
  })

  it("the metrics endpoint binds 127.0.0.1 unless --metrics-host says otherwise", async () => {
    const local = new URL(metricsUrls["run into Postgres (--sink, JSON logs)"]!)
    assert.strictEqual(local.hostname, "127.0.0.1")
    const exposed = new URL(metricsUrls["run into Postgres (BACKSTREAM_SINK, text logs)"]!)
    assert.strictEqual(exposed.hostname, "0.0.0.0")
    if (lanAddress() !== undefined) {
      assert.deepStrictEqual(reachableFromLan, {
        "run into Postgres (--sink, JSON logs)": false,
        "run into Postgres (BACKSTREAM_SINK, text logs)": true
      }, `reachable on ${lanAddress()}`)
    }
  })
})

it("a connection string's password is hidden however it is written (@, space, /, #, ?, :, %-encoded, a parameter)", () => {
  const urls = [
    ...["p@ss-EXPOSED", "pa ss-EXPOSED", "pa/ss-EXPOSED", "pa#ss-EXPOSED", "pa?ss-EXPOSED", "pa:ss-EXPOSED"].flatMap(
      (password) => [password, encodeURIComponent(password)]
    ).map((password) => `postgres://app:${password}@db.example:5432/app?sslmode=require`),
    "postgresql://app@db.example/app?sslmode=require&password=pass-EXPOSED",
    "postgres://app:@db.example/app?sslpassword=key-EXPOSED"
  ]
  for (const url of urls) {
    const shown = [
      Either.match(Targets.parseSink(url), {
        onLeft: (error) => error.message,
        onRight: (sink) => Targets.describeSink(sink)
      }),
      Either.match(Targets.parseCheckpoint(url, { _tag: "Jsonl", path: "-" }), {
        onLeft: (error) => error.message,
        onRight: () => ""
      }),
      Either.match(Targets.parseSpool(url), { onLeft: (error) => error.message, onRight: () => "" }),
      Targets.scrub(`could not connect to ${url}: the server said no`, Targets.secretsOf(url)),
      PostgresSink.redact(url)
    ]
    for (const text of shown) assert.notInclude(text, "EXPOSED", `${url} shown as ${text}`)
  }
  assert.strictEqual(
    Targets.describeSink({ _tag: "Postgres", url: "postgres://app:p@ss@db.example:5432/app" }),
    "postgres://app:***@db.example:5432/app"
  )
})

it("the emulator binds elsewhere when --host says so", async () => {
  const exposed = await startEmulatorProcess(["--host", "0.0.0.0"])
  try {
    const url = new URL(exposed.url)
    assert.strictEqual(url.hostname, "0.0.0.0")
    const lan = lanAddress()
    if (lan !== undefined) assert.isTrue(await accepts(lan, Number(url.port)), `--host 0.0.0.0: no answer on ${lan}`)
  } finally {
    await exposed.stop()
  }
}, 60_000)
