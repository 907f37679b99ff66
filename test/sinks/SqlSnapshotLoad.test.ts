/**
 * The SQL sinks' fast path for backfills (adapters/sinks/internal/SqlSnapshotLoad.ts): a batch of snapshot reads into
 * a replica without tombstones goes by one `COPY` straight into the table, with the checkpoint, in one transaction;
 * an item the table already holds makes it fall back to the guarded statements (SqlBatch). Run against PGlite in
 * memory and a Postgres server, the same cases on both. Which way a batch went is read from the statements the sink
 * sent, through a recording wrapper around the real client (support/SqlPathRecorder.ts).
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect, Either, FastCheck as fc, Option } from "effect"
import pg from "pg"
import type { SqlClient } from "../../adapters/sinks/internal/SqlClient.ts"
import * as SqlIdentifier from "../../adapters/sinks/internal/SqlIdentifier.ts"
import * as SqlSink from "../../adapters/sinks/internal/SqlSink.ts"
import * as PgliteSink from "../../adapters/sinks/PgliteSink.ts"
import * as PostgresSink from "../../adapters/sinks/PostgresSink.ts"
import type { SqlOptions } from "../../adapters/sinks/SqlOptions.ts"
import * as AV from "../../core/AttributeValue.ts"
import type { AttributeValue, Item } from "../../core/AttributeValue.ts"
import type { ChangeEvent } from "../../core/ChangeEvent.ts"
import * as Checkpoint from "../../core/Checkpoint.ts"
import { SinkFailure } from "../../core/Errors.ts"
import type { KeySchema } from "../../core/ItemKey.ts"
import type { Sink, SourceTable } from "../../core/Sink.ts"
import {
  assertSameItems,
  checkpointOf,
  exactItems,
  keySchema,
  seq,
  snapshot,
  sourceTable,
  stream
} from "../contract/SinkContract.ts"
import * as Postgres from "../support/Postgres.ts"
import { describeWithPostgres } from "../support/PostgresSuite.ts"
import * as ReplicaModel from "../support/ReplicaModel.ts"
import { observe, type Observed, record } from "./support/SqlPathRecorder.ts"
import * as PgliteMemory from "../support/PgliteMemory.ts"

interface Backend {
  readonly kind: string
  readonly location: string
  readonly client: SqlClient
  readonly sql: ReplicaModel.Query
}

const q = SqlIdentifier.quote

// ---------------------------------------------------------------------------------------------------------------
// Items

/** Every character COPY's text format escapes, and the sequences it gives a meaning (`\N` NULL, `\.` end of data). */
const tricky = "tab\there, newline\nthere, CR\rhere, CRLF\r\n, backslash\\ \\N \\. \\t \\\\ \\x41, quotes \"'` "
  + "ünïcödé 日本語 emoji 😀👍🏽"

const trickyItems: ReadonlyArray<Item> = [
  new Map<string, AttributeValue>([
    ["pk", AV.s(tricky)],
    ["sk", AV.n("1")],
    ["s", AV.s(tricky)],
    ["name\twith\ttabs\nand a newline\\", AV.s("odd name")],
    [
      "m",
      AV.m(AV.item({
        [tricky]: AV.s(tricky),
        l: AV.l([AV.s(tricky), AV.s("\\u0000 is six characters here"), AV.nul, AV.n("-1E-130"), AV.bool(true)])
      }))
    ],
    ["ss", AV.ss([tricky, "\\N", "\\."])],
    ["lonely newline", AV.s("\n")],
    ["backslashes", AV.s("\\\\\\")],
    ["end of data", AV.s("\\.")],
    ["not null", AV.s("\\N")],
    ["escaped nul", AV.s("\\u0000")],
    ["yes", AV.bool(true)],
    ["no", AV.bool(false)],
    ["nothing", AV.nul]
  ]),
  AV.item({ pk: AV.s("\\N"), sk: AV.n("2"), s: AV.s("\\N") }),
  AV.item({ pk: AV.s("\\."), sk: AV.n("3"), s: AV.s("\\.\n\\.") }),
  AV.item({ pk: AV.s("😀\t\n\r\\"), sk: AV.n("-12345678901234567890123456789012345678"), s: AV.s("") })
]

const binaryKeySchema: KeySchema = { hash: { name: "id", type: "B" }, range: { name: "n", type: "N" } }
const binaryKeyItems: ReadonlyArray<Item> = [
  AV.item({
    id: AV.b(Uint8Array.from({ length: 256 }, (_, i) => i)),
    n: AV.n("12345678901234567890123456789012345678"),
    v: AV.s("every byte")
  }),
  AV.item({ id: AV.b(Uint8Array.of(9, 10, 13, 92, 78)), n: AV.n("-1E-130"), bytes: AV.b(Uint8Array.of(92, 78, 10)) }),
  AV.item({ id: AV.b(Uint8Array.of(0)), n: AV.n("0"), v: AV.nul, w: AV.bs([Uint8Array.of(0), Uint8Array.of(92)]) })
]

const numericKeySchema: KeySchema = { hash: { name: "id", type: "N" } }
const numericKeyItems: ReadonlyArray<Item> = [
  AV.item({ id: AV.n("1E-130"), v: AV.n("12345678901234567890123456789012345678") }),
  AV.item({ id: AV.n("-99999999999999999999999999999999999999"), ns: AV.ns(["1", "1E+125", "-0.5"]) }),
  AV.item({ id: AV.n("0.5"), l: AV.l([AV.m(new Map()), AV.l([])]) })
]

const layouts: ReadonlyArray<SqlOptions> = [
  { mode: "columns", deletes: "hard" },
  { mode: "columns", deletes: "soft" },
  { mode: "document", deletes: "hard" },
  { mode: "document", deletes: "soft" }
]

const describeLayout = (options: SqlOptions) => `${options.mode ?? "columns"}, ${options.deletes ?? "hard"} deletes`

const item = (pk: string, attributes: Record<string, AttributeValue> = {}, sk = "1"): Item =>
  AV.item({ pk: AV.s(pk), sk: AV.n(sk), ...attributes })

const snapshots = (...items: ReadonlyArray<Item>) => items.map((image, i) => snapshot(image, i + 1))

const attributeNames = (events: ReadonlyArray<ChangeEvent>) => {
  const names = new Set<string>()
  for (const event of events) event.newImage?.forEach((_, name) => names.add(name))
  return names
}

const withoutNulls = (image: Item): Item => new Map([...image].filter(([, value]) => value._tag !== "NULL"))

const keyJson = (pk: string, sk = "1") => JSON.stringify({ pk: { S: pk }, sk: { N: sk } })

const EXPORT_TIME = new Date(snapshot(item("x")).timestampMs).toISOString()

// ---------------------------------------------------------------------------------------------------------------
// The cases, for one backend

const suite = (backend: () => Backend) => {
  let tables = 0
  const fresh = () => `snap_${process.pid}_${tables++}`
  const sql: ReplicaModel.Query = (text, params) => backend().sql(text, params)
  const run = (text: string, params?: ReadonlyArray<unknown>) => Effect.promise(() => sql(text, params))

  interface Replica {
    readonly sink: Sink["Type"]
    readonly source: SourceTable
    readonly table: string
    readonly options: SqlOptions
    /** Writes a batch with the checkpoint `n`; fails the test when it is refused. */
    readonly write: (events: ReadonlyArray<ChangeEvent>, n: number) => Effect.Effect<Observed>
    /** Writes a batch with the checkpoint `n` that must be refused. */
    readonly refuse: (
      events: ReadonlyArray<ChangeEvent>,
      n: number
    ) => Effect.Effect<{ readonly failure: SinkFailure; readonly observed: Observed }>
  }

  /** A sink on a table (a fresh one unless named), opened, its statements recorded. */
  const openReplica = (options: SqlOptions = {}, schema: KeySchema = keySchema, table = fresh()) =>
    Effect.gen(function* () {
      const { client, kind, location } = backend()
      const source = sourceTable(schema)
      const recorder = record(client)
      const sink = SqlSink.make({ client: recorder.client, kind, location, options: { ...options, table } })
      yield* Effect.orDie(sink.open(source))
      const qualified = SqlIdentifier.qualified({ schema: "public", name: table })
      const attempt = (events: ReadonlyArray<ChangeEvent>, n: number) =>
        Effect.suspend(() => {
          const from = recorder.transactions.length
          return Effect.either(sink.write({ events, checkpoint: checkpointOf(source, n) })).pipe(
            Effect.map((result) => ({ result, observed: observe(recorder.transactions.slice(from), qualified) }))
          )
        })
      const replica: Replica = {
        sink,
        source,
        table,
        options,
        write: (events, n) =>
          Effect.flatMap(
            attempt(events, n),
            ({ observed, result }) =>
              Either.isLeft(result)
                ? Effect.dieMessage(`the batch was refused: ${result.left.message}`)
                : Effect.succeed(observed)
          ),
        refuse: (events, n) =>
          Effect.flatMap(
            attempt(events, n),
            ({ observed, result }) =>
              Either.isRight(result)
                ? Effect.dieMessage("the batch was applied; expected a refusal")
                : Effect.succeed({ failure: result.left, observed })
          )
      }
      return replica
    })

  /** The items the replica holds (soft-deleted rows left out) are those the events give by the version rule. */
  const assertItems = (replica: Replica, events: ReadonlyArray<ChangeEvent>) =>
    Effect.gen(function* () {
      const schema = replica.source.keySchema
      const actual = yield* Effect.promise(() =>
        ReplicaModel.read({ sql }, replica.table, schema, attributeNames(events))
      )
      const expected = ReplicaModel.model(schema, events)
      assertSameItems(
        actual,
        replica.options.mode === "document"
          ? expected
          : new Map([...expected].map(([k, image]) => [k, withoutNulls(image)]))
      )
    })

  const assertCheckpoint = (replica: Replica, n: number | undefined) =>
    Effect.gen(function* () {
      const loaded = yield* Effect.orDie(replica.sink.loadCheckpoint)
      if (n === undefined) return assert.isTrue(Option.isNone(loaded), "no checkpoint expected")
      assert.strictEqual(
        Checkpoint.encode(Option.getOrThrow(loaded)),
        Checkpoint.encode(checkpointOf(replica.source, n))
      )
    })

  /** Columns as text (jsonb parsed), in key order. */
  const rows = (replica: Replica, columns: ReadonlyArray<string>) =>
    Effect.map(
      run(`SELECT ${columns.map((c) => `${q(c)}::text AS ${q(c)}`).join(", ")} FROM ${q(replica.table)} ORDER BY 1`),
      (found) =>
        found.map((row) =>
          Object.fromEntries(
            columns.map((c) => {
              const value = row[c] ?? null
              return [c, c === "_backstream_other" && typeof value === "string" ? JSON.parse(value) : value]
            })
          )
        )
    )

  /** pk, version, deleted (soft deletes) and `v` as a string, whatever the mode. */
  const states = (replica: Replica) =>
    Effect.map(
      run(
        `SELECT pk, _backstream_version::text AS version, ${
          replica.options.deletes === "soft" ? "_backstream_deleted" : "false"
        } AS deleted, ${replica.options.mode === "document" ? `_backstream_item #>> '{v,S}'` : "v"} AS v FROM ${
          q(replica.table)
        } ORDER BY pk`
      ),
      (found) => found.map((row) => ({ pk: row.pk, version: row.version, deleted: row.deleted, v: row.v ?? null }))
    )

  const columnNames = (replica: Replica) =>
    Effect.map(Effect.promise(() => ReplicaModel.columnsOf({ sql }, replica.table)), (cs) => cs.map((c) => c.name))

  it.live("1. a backfill into an empty replica goes by one COPY into the table; every value comes back exactly", () =>
    Effect.forEach(layouts, (options) =>
      Effect.forEach([
        { schema: keySchema, items: [...exactItems, ...trickyItems] },
        { schema: binaryKeySchema, items: binaryKeyItems },
        { schema: numericKeySchema, items: numericKeyItems }
      ], ({ items, schema }) =>
        Effect.gen(function* () {
          const replica = yield* openReplica(options, schema)
          const events = snapshots(...items)
          const observed = yield* replica.write(events, 1)
          const label = `${describeLayout(options)}, key ${JSON.stringify(schema)}`
          assert.strictEqual(observed.path, "direct", label)
          assert.strictEqual(observed.copyTargets.length, 1, label)
          assert.strictEqual(observed.tombstoneChecks, options.deletes === "hard" ? 1 : 0, label)
          yield* assertItems(replica, events)
          yield* assertCheckpoint(replica, 1)
          const [bookkeeping] = yield* run(
            `SELECT count(*)::int AS rows, count(*) FILTER (WHERE _backstream_version = 0
               AND _backstream_updated_at = $1::timestamptz
               AND ${options.deletes === "soft" ? "_backstream_deleted = false" : "true"}
               AND ${options.mode === "document" ? "_backstream_item IS NOT NULL" : "_backstream_other IS NULL"}
             )::int AS exact FROM ${q(replica.table)}`,
            [EXPORT_TIME]
          )
          assert.deepStrictEqual({ ...bookkeeping }, { rows: items.length, exact: items.length }, label)
        }))))

  it.live("1b. odd schema, table and ARN names, and a checkpoint with quotes and backslashes, go with the COPY exactly", () =>
    Effect.forEach(["hard", "soft"] as const, (deletes) =>
      Effect.gen(function* () {
        const { client, kind, location } = backend()
        const recorder = record(client)
        const table = { schema: `Sch'ema\\ ${fresh()}`, name: `Tab"le 😀 '\\N` }
        const source: SourceTable = {
          name: "odd",
          arn: `arn:aws:dynamodb:us-east-1:123456789012:table/it's\\odd ${fresh()}`,
          keySchema
        }
        const sink = SqlSink.make({
          client: recorder.client,
          kind,
          location,
          options: { deletes, table: `${q(table.schema)}.${q(table.name)}` }
        })
        yield* Effect.orDie(sink.open(source))
        const checkpoint: Checkpoint.Checkpoint = {
          ...checkpointOf(source, 1),
          backfill: {
            _tag: "Loading",
            exportArn: "arn:aws:dynamodb:us-east-1:123456789012:table/x/export/'\\\"😀\\N",
            exportTimeMs: 1,
            filesDone: 2,
            linesDone: 3
          }
        }
        const events = snapshots(item("a", { v: AV.s(tricky) }), item(tricky, { v: AV.s("b") }))
        const from = recorder.transactions.length
        yield* Effect.orDie(sink.write({ events, checkpoint }))
        const observed = observe(recorder.transactions.slice(from), SqlIdentifier.qualified(table))
        assert.strictEqual(observed.path, "direct")
        const loaded = yield* Effect.orDie(sink.loadCheckpoint)
        assert.strictEqual(Checkpoint.encode(Option.getOrThrow(loaded)), Checkpoint.encode(checkpoint))
        const found = yield* run(`SELECT pk, v FROM ${SqlIdentifier.qualified(table)} ORDER BY pk`)
        assert.deepStrictEqual(found.map((row) => ({ ...row })), [{ pk: "a", v: tricky }, { pk: tricky, v: "b" }])
      })))

  it.live("1c. a large batch goes in one COPY; the same with a duplicate as its last row falls back through staging", () =>
    Effect.gen(function* () {
      const images = Array.from(
        { length: 2000 },
        (_, i) => item(`item-${i}`, { payload: AV.s(`${"é😀\\\t".repeat(40)}${i}`), n: AV.n(`${i}.5`) })
      )
      const direct = yield* openReplica()
      const events = snapshots(...images)
      const observed = yield* direct.write(events, 1)
      assert.strictEqual(observed.path, "direct")
      assert.strictEqual(observed.copyTargets.length, 1)
      yield* assertItems(direct, events)
      yield* assertCheckpoint(direct, 1)

      const fallback = yield* openReplica()
      const duplicated = snapshots(...images, item("item-0", { payload: AV.s("a later copy") }))
      const fellBack = yield* fallback.write(duplicated, 1)
      assert.strictEqual(fellBack.path, "fallback")
      assert.include(fellBack.copyTargets, "pg_temp._backstream_stage")
      yield* assertItems(fallback, duplicated)
      yield* assertCheckpoint(fallback, 1)
    }))

  it.live("2. new attributes in the middle of a batch and in a later one: columns added, earlier rows NULL there", () =>
    Effect.forEach(["hard", "soft"] as const, (deletes) =>
      Effect.gen(function* () {
        // A column of a type the sink does not fill (made by hand): its attribute's values go aside.
        const made = yield* openReplica({ deletes })
        yield* run(`ALTER TABLE ${q(made.table)} ADD COLUMN handmade integer`)
        const replica = yield* openReplica({ deletes }, keySchema, made.table)
        const first = snapshots(
          item("a", { a: AV.s("1") }),
          item("b", { a: AV.s("2"), b: AV.n("2") }),
          item("c", { a: AV.s("3"), c: AV.nul, z: AV.nul }),
          item("d", { c: AV.bool(true), handmade: AV.n("4") }),
          item("e", { a: AV.n("5"), b: AV.s("five") })
        )
        const firstObserved = yield* replica.write(first, 1)
        assert.strictEqual(firstObserved.path, "direct")
        assert.strictEqual(firstObserved.tombstoneChecks, deletes === "hard" ? 1 : 0)
        const second = snapshots(
          item("f", { d: AV.m(AV.item({ x: AV.s("y") })), a: AV.s("6") }),
          item("g", { e: AV.b(Uint8Array.of(1, 2)), d: AV.s("not a map") }),
          item("h", { c: AV.nul, b: AV.n("8"), z: AV.s("later") })
        )
        const secondObserved = yield* replica.write(second, 2)
        assert.strictEqual(secondObserved.path, "direct")
        assert.strictEqual(secondObserved.tombstoneChecks, 0, "the tombstone check is remembered")

        const columns = yield* Effect.promise(() => ReplicaModel.columnsOf({ sql }, replica.table))
        assert.deepStrictEqual(columns, [
          ...ReplicaModel.fixedColumns({ softDeletes: deletes === "soft" }),
          { name: "handmade", type: "integer" },
          { name: "a", type: "text" },
          { name: "b", type: "numeric" },
          { name: "c", type: "boolean" },
          { name: "d", type: "jsonb" },
          { name: "e", type: "bytea" },
          { name: "z", type: "text" }
        ])
        const none = { a: null, b: null, c: null, d: null, e: null, z: null, handmade: null, _backstream_other: null }
        assert.deepStrictEqual(
          yield* rows(replica, ["pk", "a", "b", "c", "d", "e", "z", "handmade", "_backstream_other"]),
          [
            { ...none, pk: "a", a: "1" },
            { ...none, pk: "b", a: "2", b: "2" },
            { ...none, pk: "c", a: "3" },
            { ...none, pk: "d", c: "true", _backstream_other: { handmade: { N: "4" } } },
            { ...none, pk: "e", _backstream_other: { a: { N: "5" }, b: { S: "five" } } },
            { ...none, pk: "f", a: "6", d: `{"M": {"x": {"S": "y"}}}` },
            { ...none, pk: "g", e: "\\x0102", _backstream_other: { d: { S: "not a map" } } },
            { ...none, pk: "h", b: "8", z: "later" }
          ]
        )
        yield* assertItems(replica, [...first, ...second])
        yield* assertCheckpoint(replica, 2)
      })))

  it.live("3. an item twice in one snapshot batch: the guarded way instead, the first of equals kept, nothing lost", () =>
    Effect.forEach(layouts, (options) =>
      Effect.gen(function* () {
        const replica = yield* openReplica(options)
        const events = snapshots(
          item("a", { v: AV.s("first") }),
          item("b", { v: AV.s("b") }),
          item("a", { v: AV.s("second"), extra: AV.n("1") }, "1.0"),
          item("c", { v: AV.s("c") }),
          item("a", { v: AV.s("third") })
        )
        const observed = yield* replica.write(events, 1)
        assert.strictEqual(observed.path, "fallback", describeLayout(options))
        yield* assertItems(replica, events)
        assert.deepStrictEqual(yield* states(replica), [
          { pk: "a", version: "0", deleted: false, v: "first" },
          { pk: "b", version: "0", deleted: false, v: "b" },
          { pk: "c", version: "0", deleted: false, v: "c" }
        ])
        assert.deepStrictEqual(yield* rows(replica, ["pk", "sk"]), [
          { pk: "a", sk: "1" },
          { pk: "b", sk: "1" },
          { pk: "c", sk: "1" }
        ])
        // The direct attempt's new column went with its transaction; the guarded way adds only the winners'.
        assert.notInclude(yield* columnNames(replica), "extra")
        yield* assertCheckpoint(replica, 1)
        // The fallback does not stick: the next batch of new items goes direct again.
        const next = snapshots(item("d", { v: AV.s("d") }))
        assert.strictEqual((yield* replica.write(next, 2)).path, "direct")
        yield* assertItems(replica, [...events, ...next])
        yield* assertCheckpoint(replica, 2)
      })))

  it.live("4. a snapshot read of an item held from a stream event (or an earlier batch) keeps the held row", () =>
    Effect.forEach(layouts, (options) =>
      Effect.gen(function* () {
        const replica = yield* openReplica(options)
        const first = [stream("c", 5, item("a", { v: AV.s("stream"), w: AV.n("5") }))]
        assert.strictEqual((yield* replica.write(first, 1)).path, "guarded")
        const second = snapshots(
          item("b", { v: AV.s("b") }),
          item("a", { v: AV.s("snapshot") }),
          item("c", { v: AV.s("c") })
        )
        const secondObserved = yield* replica.write(second, 2)
        assert.strictEqual(secondObserved.path, "fallback", describeLayout(options))
        yield* assertCheckpoint(replica, 2)
        const third = snapshots(item("c", { v: AV.s("c again") }), item("d", { v: AV.s("d") }))
        assert.strictEqual((yield* replica.write(third, 3)).path, "fallback", describeLayout(options))
        yield* assertCheckpoint(replica, 3)
        yield* assertItems(replica, [...first, ...second, ...third])
        assert.deepStrictEqual(yield* states(replica), [
          { pk: "a", version: seq(5), deleted: false, v: "stream" },
          { pk: "b", version: "0", deleted: false, v: "b" },
          { pk: "c", version: "0", deleted: false, v: "c" },
          { pk: "d", version: "0", deleted: false, v: "d" }
        ])
      })))

  it.live("5. hard deletes: a tombstone keeps a snapshot read out (guarded), and a delete makes the sink check again", () =>
    Effect.forEach(["columns", "document"] as const, (mode) =>
      Effect.gen(function* () {
        const buried = yield* openReplica({ mode })
        const history = [
          stream("c", 1, item("a", { v: AV.s("live") })),
          stream("c", 2, item("b", { v: AV.s("b") }))
        ]
        yield* buried.write(history, 1)
        const deleted = [stream("d", 3, item("a"))]
        assert.strictEqual((yield* buried.write(deleted, 2)).path, "guarded")
        const backfill = snapshots(item("a", { v: AV.s("snapshot") }), item("c", { v: AV.s("c") }))
        const observed = yield* buried.write(backfill, 3)
        assert.strictEqual(observed.path, "guarded", mode)
        assert.isFalse(observed.directTried)
        assert.strictEqual(observed.tombstoneChecks, 1)
        const more = snapshots(item("d", { v: AV.s("d") }))
        const moreObserved = yield* buried.write(more, 4)
        assert.strictEqual(moreObserved.path, "guarded", "a tombstone found is remembered")
        assert.strictEqual(moreObserved.tombstoneChecks, 0)
        yield* assertItems(buried, [...history, ...deleted, ...backfill, ...more])
        assert.deepStrictEqual((yield* states(buried)).map((row) => row.pk), ["b", "c", "d"])
        yield* assertCheckpoint(buried, 4)

        // The check is remembered while no delete is written, and forgotten when one is.
        const replica = yield* openReplica({ mode })
        const one = snapshots(item("x", { v: AV.s("x") }), item("y", { v: AV.s("y") }))
        const oneObserved = yield* replica.write(one, 1)
        assert.strictEqual(oneObserved.path, "direct")
        assert.strictEqual(oneObserved.tombstoneChecks, 1)
        const two = snapshots(item("z", { v: AV.s("z") }))
        const twoObserved = yield* replica.write(two, 2)
        assert.strictEqual(twoObserved.path, "direct")
        assert.strictEqual(twoObserved.tombstoneChecks, 0)
        const three = [stream("d", 10, item("x"))]
        assert.strictEqual((yield* replica.write(three, 3)).path, "guarded")
        const four = snapshots(item("x", { v: AV.s("brought back?") }), item("w", { v: AV.s("w") }))
        const fourObserved = yield* replica.write(four, 4)
        assert.strictEqual(fourObserved.tombstoneChecks, 1, "checked again after a delete")
        assert.strictEqual(fourObserved.path, "guarded")
        yield* assertItems(replica, [...one, ...two, ...three, ...four])
        assert.deepStrictEqual((yield* states(replica)).map((row) => row.pk), ["w", "y", "z"])
        yield* assertCheckpoint(replica, 4)

        // Tombstones of another sink table in the same schema do not count.
        const neighbour = yield* openReplica({ mode })
        const alone = snapshots(item("n", { v: AV.s("n") }))
        assert.strictEqual((yield* neighbour.write(alone, 1)).path, "direct")
        yield* assertItems(neighbour, alone)
      })))

  it.live("6. soft deletes: a snapshot read of an item marked deleted keeps it deleted", () =>
    Effect.forEach(["columns", "document"] as const, (mode) =>
      Effect.gen(function* () {
        const replica = yield* openReplica({ mode, deletes: "soft" })
        const history = [
          stream("c", 1, item("a", { v: AV.s("live") })),
          stream("d", 2, item("a")),
          stream("d", 3, item("n"))
        ]
        yield* replica.write(history, 1)
        const backfill = snapshots(
          item("a", { v: AV.s("snapshot") }),
          item("n", { v: AV.s("snapshot") }),
          item("b", { v: AV.s("b") })
        )
        const observed = yield* replica.write(backfill, 2)
        assert.strictEqual(observed.path, "fallback", mode)
        assert.strictEqual(observed.tombstoneChecks, 0)
        yield* assertItems(replica, [...history, ...backfill])
        assert.deepStrictEqual(yield* states(replica), [
          { pk: "a", version: seq(2), deleted: true, v: "live" },
          { pk: "b", version: "0", deleted: false, v: "b" },
          { pk: "n", version: seq(3), deleted: true, v: null }
        ])
        yield* assertCheckpoint(replica, 2)
      })))

  it.live("7. a batch the table refuses on the direct path: a typed failure naming the item, nothing of it kept", () =>
    Effect.forEach(
      [
        { mode: "columns", constraint: "CHECK (length(v) < 5)" },
        { mode: "document", constraint: "CHECK (length(_backstream_item #>> '{v,S}') < 5)" }
      ] as const,
      ({ constraint, mode }) =>
        Effect.gen(function* () {
          const replica = yield* openReplica({ mode })
          const first = snapshots(item("a", { v: AV.s("ok") }))
          assert.strictEqual((yield* replica.write(first, 1)).path, "direct")
          yield* run(`ALTER TABLE ${q(replica.table)} ADD CONSTRAINT v_short ${constraint}`)
          const batch = snapshots(
            item("b", { v: AV.s("fine") }),
            item("c", { v: AV.s("too long") }),
            item("d", { v: AV.s("x"), w: AV.n("1") })
          )
          const { failure, observed } = yield* replica.refuse(batch, 2)
          assert.instanceOf(failure, SinkFailure)
          assert.strictEqual(failure._tag, "SinkFailure")
          assert.isFalse(failure.retryable, failure.message)
          assert.include(failure.message, `refuses the item ${keyJson("c")} (constraint v_short)`)
          assert.include(failure.message, "Nothing of this batch was written")
          assert.include(failure.message, "SQLSTATE 23514")
          assert.isTrue(observed.directTried, "the direct path was tried")
          assert.strictEqual(observed.path, "none")
          yield* assertItems(replica, first)
          assert.notInclude(yield* columnNames(replica), "w")
          yield* assertCheckpoint(replica, 1)

          yield* run(`ALTER TABLE ${q(replica.table)} DROP CONSTRAINT v_short`)
          assert.strictEqual((yield* replica.write(batch, 2)).path, "direct")
          yield* assertItems(replica, [...first, ...batch])
          yield* assertCheckpoint(replica, 2)
        })
    ))

  it.live("7b. a NOT NULL the snapshot rows lack: refused on the direct path, naming the item and the column", () =>
    Effect.gen(function* () {
      const replica = yield* openReplica()
      const first = snapshots(item("a", { v: AV.s("ok") }))
      yield* replica.write(first, 1)
      yield* run(`ALTER TABLE ${q(replica.table)} ALTER COLUMN v SET NOT NULL`)
      const batch = snapshots(item("b", { v: AV.s("b") }), item("c", { w: AV.s("no v") }))
      const { failure, observed } = yield* replica.refuse(batch, 2)
      assert.isFalse(failure.retryable)
      assert.include(failure.message, `refuses the item ${keyJson("c")} (column v)`)
      assert.include(failure.message, "DROP NOT NULL")
      assert.isTrue(observed.directTried)
      yield* assertItems(replica, first)
      yield* assertCheckpoint(replica, 1)
    }))

  it.live("8. U+0000 in a string on the direct path: a failure naming the item and the path, nothing written", () =>
    Effect.forEach(["columns", "document"] as const, (mode) =>
      Effect.gen(function* () {
        const replica = yield* openReplica({ mode })
        const first = snapshots(item("a", { v: AV.s("ok"), m: AV.m(AV.item({ inner: AV.s("ok") })), n: AV.n("1") }))
        assert.strictEqual((yield* replica.write(first, 1)).path, "direct")
        const columnsBefore = yield* columnNames(replica)
        const cases: ReadonlyArray<readonly [Item, string]> = [
          [
            item("c", { v: AV.s("a\u0000b") }),
            `${keyJson("c")} holds the character U+0000 at the attribute path $."v"`
          ],
          [
            item("d", { m: AV.m(AV.item({ inner: AV.l([AV.s("x"), AV.s("y\u0000")]) })) }),
            `${keyJson("d")} holds the character U+0000 at the attribute path $."m"."inner"[1]`
          ],
          [item("e", { n: AV.s("\u0000") }), `${keyJson("e")} holds the character U+0000 at the attribute path $."n"`],
          [
            item("f", { fresh: AV.s("new column \u0000") }),
            `${keyJson("f")} holds the character U+0000 at the attribute path $."fresh"`
          ],
          [
            item("g", { set: AV.ss(["fine", "not\u0000fine"]) }),
            `${keyJson("g")} holds the character U+0000 at the attribute path $."set"`
          ],
          [
            item("h", { m: AV.m(AV.item({ "name\u0000": AV.s("x") })) }),
            `${keyJson("h")} holds the character U+0000 at the attribute path $."m"."name\\u0000"`
          ],
          [item("i\u0000"), `${keyJson("i\u0000")} holds the character U+0000 at its key attribute pk`]
        ]
        for (const [bad, expected] of cases) {
          const batch = snapshots(item("b", { v: AV.s("fine") }), bad)
          const { failure } = yield* replica.refuse(batch, 2)
          assert.instanceOf(failure, SinkFailure)
          assert.isFalse(failure.retryable, failure.message)
          assert.include(failure.message, expected, mode)
          assert.include(failure.message, "JSON-lines sink")
          yield* assertItems(replica, first)
          assert.deepStrictEqual(yield* columnNames(replica), columnsBefore)
          yield* assertCheckpoint(replica, 1)
        }
        const after = snapshots(item("b", { v: AV.s("fine") }))
        assert.strictEqual((yield* replica.write(after, 2)).path, "direct")
        yield* assertItems(replica, [...first, ...after])
        yield* assertCheckpoint(replica, 2)
      })))

  /**
   * The reference for the property: the same table layout where a COPY into the replica is refused by the database
   * with the very error the sink takes for "an item already there" (a unique violation, raised by a statement trigger
   * only for COPY statements). The sink then rolls the direct attempt back and applies every snapshot batch the
   * guarded way, whatever the deletes mode; the guarded path's own COPY goes into its staging table, untouched. The
   * recorder confirms that no direct COPY ever commits there.
   */
  const openGuardedReference = (options: SqlOptions) =>
    Effect.gen(function* () {
      const made = yield* openReplica(options)
      const guard = q(`${made.table}_no_copy`)
      yield* run(`CREATE FUNCTION ${guard}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF current_query() ~* '(^|;)\\s*COPY\\s' THEN
            RAISE EXCEPTION 'the reference takes no COPY' USING ERRCODE = 'unique_violation';
          END IF;
          RETURN NULL;
        END $$`)
      yield* run(
        `CREATE TRIGGER no_copy BEFORE INSERT ON ${q(made.table)} FOR EACH STATEMENT EXECUTE FUNCTION ${guard}()`
      )
      return yield* openReplica(options, keySchema, made.table)
    })

  /** Every column of every row as text, rows in key order, for two tables compared column by column. */
  const everything = (table: string) =>
    Effect.gen(function* () {
      const columns = yield* Effect.promise(() => ReplicaModel.columnsOf({ sql }, table))
      const found = yield* run(
        `SELECT ${columns.map((c) => `${q(c.name)}::text AS ${q(c.name)}`).join(", ")} FROM ${q(table)}
         ORDER BY pk, sk`
      )
      return {
        columns: [...columns].sort((x, y) => (x.name < y.name ? -1 : 1)),
        rows: found.map((row) => Object.fromEntries(columns.map((c) => [c.name, row[c.name] ?? null])))
      }
    })

  const noNul = (s: string) => !s.includes("\u0000")
  const valueArbitrary: fc.Arbitrary<AttributeValue> = fc.oneof(
    fc.string().filter(noNul).map(AV.s),
    fc.constantFrom(tricky, "\\N", "\\.", "").map(AV.s),
    fc.integer().map((i) => AV.n(String(i))),
    fc.constantFrom("12345678901234567890123456789012345678", "1E-130", "-0.5").map(AV.n),
    fc.uint8Array({ maxLength: 4 }).map(AV.b),
    fc.boolean().map(AV.bool),
    fc.constant(AV.nul),
    fc.string().filter(noNul).map((s) => AV.m(AV.item({ inner: AV.s(s) }))),
    fc.uniqueArray(fc.string().filter(noNul), { minLength: 1, maxLength: 3 }).map(AV.ss)
  )
  const imageArbitrary = fc.record({
    pk: fc.constantFrom("a", "b", "c", "d", "e", "f"),
    sk: fc.constantFrom("1", "1.0", "2"),
    attributes: fc.dictionary(fc.constantFrom("v", "w", "x"), valueArbitrary, { maxKeys: 3 })
  })
  const batchArbitrary = fc.oneof(
    { weight: 3, arbitrary: fc.record({ snapshot: fc.array(imageArbitrary, { minLength: 1, maxLength: 6 }) }) },
    {
      weight: 1,
      arbitrary: fc.record({
        stream: fc.array(
          fc.record({ op: fc.constantFrom("c" as const, "u" as const, "d" as const), image: imageArbitrary }),
          {
            minLength: 1,
            maxLength: 4
          }
        )
      })
    }
  )

  it.live.prop(
    "property: random backfill and stream batches leave the replica as the guarded path alone does",
    [fc.record({
      mode: fc.constantFrom("columns" as const, "document" as const),
      deletes: fc.constantFrom("hard" as const, "soft" as const),
      bulkRows: fc.constantFrom(1, 500),
      batches: fc.array(batchArbitrary, { minLength: 1, maxLength: 6 })
    })],
    ([{ batches, bulkRows, deletes, mode }]) =>
      Effect.gen(function* () {
        const options: SqlOptions = { mode, deletes, bulkRows }
        const subject = yield* openReplica(options)
        const reference = yield* openGuardedReference(options)
        let n = 0
        const all: Array<ChangeEvent> = []
        for (const batch of batches) {
          const events = "snapshot" in batch
            ? snapshots(...batch.snapshot.map((s) => item(s.pk, s.attributes, s.sk)))
            : batch.stream.map((s) =>
              stream(s.op, ++n, item(s.image.pk, s.op === "d" ? {} : s.image.attributes, s.image.sk))
            )
          all.push(...events)
          const at = all.length
          const observed = yield* subject.write(events, at)
          assert.notStrictEqual(observed.path, "both")
          const referenceObserved = yield* reference.write(events, at)
          assert.notInclude(["direct", "both"], referenceObserved.path, "the reference never commits a direct COPY")
          yield* assertCheckpoint(subject, at)
          yield* assertCheckpoint(reference, at)
        }
        const [actual, expected] = [yield* everything(subject.table), yield* everything(reference.table)]
        assert.deepStrictEqual(actual, expected)
        yield* assertItems(subject, all)
      }),
    {
      timeout: 300_000,
      fastCheck: {
        numRuns: 15,
        // Each way at least once, whatever the seed: direct, then a duplicate, an item held, a delete.
        examples: [[{
          mode: "columns",
          deletes: "hard",
          bulkRows: 500,
          batches: [
            { snapshot: [{ pk: "a", sk: "1", attributes: { v: AV.s(tricky) } }, { pk: "b", sk: "1", attributes: {} }] },
            { stream: [{ op: "u", image: { pk: "c", sk: "2", attributes: { v: AV.n("1") } } }] },
            {
              snapshot: [{ pk: "c", sk: "2", attributes: {} }, { pk: "d", sk: "1", attributes: { w: AV.bool(true) } }]
            },
            { snapshot: [{ pk: "e", sk: "1", attributes: {} }, { pk: "e", sk: "1.0", attributes: { v: AV.s("x") } }] },
            { stream: [{ op: "d", image: { pk: "a", sk: "1", attributes: {} } }] },
            { snapshot: [{ pk: "a", sk: "1", attributes: { v: AV.s("back?") } }, { pk: "f", sk: "1", attributes: {} }] }
          ]
        }], [{
          mode: "document",
          deletes: "soft",
          bulkRows: 1,
          batches: [
            {
              stream: [{ op: "c", image: { pk: "a", sk: "1", attributes: {} } }, {
                op: "d",
                image: { pk: "a", sk: "1", attributes: {} }
              }]
            },
            { snapshot: [{ pk: "a", sk: "1", attributes: { v: AV.nul } }, { pk: "b", sk: "1", attributes: {} }] },
            { snapshot: [{ pk: "c", sk: "1", attributes: { x: AV.ss(["\\N"]) } }] }
          ]
        }]]
      }
    }
  )

  /**
   * The direct path writes (and checks) every event of the batch, a later copy of an item too, where the guarded path
   * writes the first of equals alone: a later copy that the table refuses (a CHECK, a NOT NULL) or that holds U+0000
   * must not fail a batch the guarded path applies (it falls back on any data error, and on U+0000).
   */
  const duplicateRefused = (
    prepare: (table: string) => string | undefined,
    first: Item,
    later: Item
  ) =>
    Effect.gen(function* () {
      const replica = yield* openReplica()
      // The reference holds the tombstone of an item of no concern: its snapshot batches go the guarded way only.
      const reference = yield* openReplica()
      yield* reference.write([stream("c", 1, item("buried")), stream("d", 2, item("buried"))], 0)
      const events = snapshots(first, later)
      for (const target of [reference, replica]) {
        yield* target.write(snapshots(item("z", { v: AV.s("ok") })), 1)
        const statement = prepare(target.table)
        if (statement !== undefined) yield* run(statement)
      }
      assert.strictEqual((yield* reference.write(events, 2)).path, "guarded", "the guarded path applies the batch")
      yield* replica.write(events, 2)
      yield* assertItems(replica, [snapshot(item("z", { v: AV.s("ok") })), ...events])
      yield* assertCheckpoint(replica, 2)
    })

  it.live("an item twice in a batch, its later copy refused by a CHECK: applied as the guarded path applies it", () =>
    duplicateRefused(
      (table) => `ALTER TABLE ${q(table)} ADD CONSTRAINT v_short CHECK (length(v) < 5)`,
      item("a", { v: AV.s("ok") }),
      item("a", { v: AV.s("too long") })
    ))

  it.live("an item twice in a batch, its later copy with U+0000: applied as the guarded path applies it", () =>
    duplicateRefused(() => undefined, item("a", { v: AV.s("ok") }), item("a", { v: AV.s("a\u0000b") })))
}

// ---------------------------------------------------------------------------------------------------------------
// The backends

describe("SqlSnapshotLoad: PGlite in memory", () => {
  const db = PgliteMemory.inMemory()
  suite(() => ({ kind: "pglite", location: "memory", client: PgliteSink.client(db()), sql: PgliteMemory.sqlOf(db) }))
})

describeWithPostgres("SqlSnapshotLoad: Postgres server", () => {
  let server: Postgres.PostgresServer
  let pool: pg.Pool
  let client: SqlClient
  beforeAll(async () => {
    server = await Postgres.start()
    pool = new pg.Pool({ connectionString: server.url, max: 4 })
    pool.on("error", () => undefined)
    client = PostgresSink.client(pool, server.url)
  }, 120_000)
  afterAll(async () => {
    await pool?.end()
    await server?.stop()
  })
  suite(() => ({
    kind: "postgres",
    location: PostgresSink.redact(server.url),
    client,
    sql: async (text, params) => {
      const result = await pool.query(text, params === undefined ? undefined : [...params])
      return Array.isArray(result) ? result.at(-1)?.rows ?? [] : result.rows
    }
  }))
})
