import { afterAll, assert, beforeAll, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import pg from "pg"
import * as PostgresSink from "../../adapters/sinks/PostgresSink.ts"
import * as AV from "../../core/AttributeValue.ts"
import * as Checkpoint from "../../core/Checkpoint.ts"
import type { SinkFailure } from "../../core/Errors.ts"
import { Sink, type SourceTable } from "../../core/Sink.ts"
import {
  assertSameItems,
  checkpointOf,
  key,
  model,
  read,
  type SinkTarget,
  sourceTable,
  stream,
  testSink
} from "../contract/SinkContract.ts"
import * as Postgres from "../support/Postgres.ts"
import { describeWithPostgres } from "../support/PostgresSuite.ts"

let counter = 0
const fresh = () => `t_${process.pid}_${counter++}`

describeWithPostgres("PostgresSink", () => {
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

  const target = (): SinkTarget => ({
    fresh,
    layer: (table, options) => PostgresSink.layer({ url: server.url, ...options, table: options?.table ?? table }),
    sql: async (text, params) => {
      const result = await pool.query(text, params === undefined ? undefined : [...params])
      return Array.isArray(result) ? result.at(-1)?.rows ?? [] : result.rows
    }
  })

  testSink("Postgres (server)", target, { transactional: true, propertyRuns: 10 })

  // Every batch by COPY through a staging table, as a backfill's large batches go.
  testSink("Postgres (server), every batch by COPY", () => ({
    ...target(),
    layer: (table, options) =>
      PostgresSink.layer({ url: server.url, ...options, table: options?.table ?? table, bulkRows: 1 })
  }), { transactional: true, propertyRuns: 5 })

  const openWith = (url: string, source: SourceTable = sourceTable()) =>
    Effect.gen(function* () {
      const sink = yield* Sink
      yield* sink.open(source)
    }).pipe(Effect.provide(PostgresSink.layer({ url, connectTimeoutMs: 5000 })), Effect.scoped, Effect.flip)

  const noSecret = (failure: SinkFailure, secret: string) => {
    assert.notInclude(failure.message, secret)
    assert.notInclude(JSON.stringify(failure.reason), secret)
  }

  it.live("a server that is not there: a retryable failure naming the URL without its password", () =>
    Effect.gen(function* () {
      const port = yield* Effect.promise(() => Postgres.freePort())
      const failure = yield* openWith(`postgres://alice:s3cret-pw@127.0.0.1:${port}/db`)
      assert.isTrue(failure.retryable)
      assert.include(failure.message, "connection refused")
      assert.include(failure.message, `postgres://alice@127.0.0.1:${port}/db`)
      noSecret(failure, "s3cret-pw")
    }))

  it.live("a malformed URL, a missing database, a role that may not log in: clear, not retryable, no password", () =>
    Effect.gen(function* () {
      const malformed = yield* openWith("mysql://bob:hunter22@localhost/db")
      assert.isFalse(malformed.retryable)
      assert.include(malformed.message, "expected postgres://")
      noSecret(malformed, "hunter22")
      const notUrl = yield* openWith("not a url hunter22")
      assert.include(notUrl.message, "is not a URL")
      noSecret(notUrl, "hunter22")

      const port = new URL(server.url).port
      const missing = yield* openWith(`postgres://postgres:hunter22@127.0.0.1:${port}/nowhere`)
      assert.isFalse(missing.retryable)
      assert.include(missing.message, '"nowhere" does not exist')
      noSecret(missing, "hunter22")

      yield* Effect.promise(() => pool.query("DROP ROLE IF EXISTS locked; CREATE ROLE locked NOLOGIN"))
      const locked = yield* openWith(`postgres://locked:hunter22@127.0.0.1:${port}/postgres`)
      assert.isFalse(locked.retryable)
      assert.include(locked.message, "authentication failed")
      assert.include(locked.message, '"locked"')
      noSecret(locked, "hunter22")
    }))

  it.live("a connection killed during a batch: retryable; nothing moved; the retry applies it", () => {
    const source = sourceTable()
    const table = fresh()
    return Effect.gen(function* () {
      const sink = yield* Sink
      yield* sink.open(source)
      const first = [stream("c", 1, AV.item({ pk: AV.s("a"), sk: AV.n("1"), v: AV.s("kept") }))]
      yield* sink.write({ events: first, checkpoint: checkpointOf(source, 1) })
      yield* Effect.promise(() =>
        pool.query(`
          CREATE FUNCTION ${table}_kill() RETURNS trigger LANGUAGE plpgsql AS
            $$ BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NEW; END $$;
          CREATE TRIGGER kill BEFORE INSERT ON ${table} FOR EACH ROW WHEN (NEW.pk = 'kill')
            EXECUTE FUNCTION ${table}_kill()`)
      )
      const second = [
        stream("u", 2, AV.item({ pk: AV.s("a"), sk: AV.n("1"), v: AV.s("changed") })),
        stream("c", 3, key("kill"))
      ]
      const failure = yield* Effect.flip(sink.write({ events: second, checkpoint: checkpointOf(source, 2) }))
      assert.isTrue(failure.retryable, failure.message)
      assertSameItems(
        yield* Effect.promise(() => read(target(), table, source.keySchema, ["v"])),
        model(source.keySchema, first)
      )
      assert.strictEqual(
        Checkpoint.encode(Option.getOrThrow(yield* sink.loadCheckpoint)),
        Checkpoint.encode(checkpointOf(source, 1))
      )
      yield* Effect.promise(() => pool.query(`DROP TRIGGER kill ON ${table}`))
      yield* sink.write({ events: second, checkpoint: checkpointOf(source, 2) })
      assertSameItems(
        yield* Effect.promise(() => read(target(), table, source.keySchema, ["v"])),
        model(source.keySchema, [...first, ...second])
      )
      assert.strictEqual(
        Checkpoint.encode(Option.getOrThrow(yield* sink.loadCheckpoint)),
        Checkpoint.encode(checkpointOf(source, 2))
      )
    }).pipe(Effect.provide(PostgresSink.layer({ url: server.url, table })), Effect.scoped)
  })

  it.live("describes itself by table and URL, without the password", () =>
    Effect.gen(function* () {
      const sink = yield* Sink
      assert.strictEqual(sink.description, "postgres table public.orders at postgres://u@db.example:5432/app")
    }).pipe(
      Effect.provide(PostgresSink.layer({ url: "postgres://u:pw-secret@db.example:5432/app", table: "orders" })),
      Effect.scoped
    ))
})
