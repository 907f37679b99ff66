/**
 * `Sink.prepare` of the SQL sinks: a backfill's batch planned while the one before is written, over the columns that
 * one leaves. A prepared batch must give the replica a batch written unprepared gives, whatever happened between the
 * two: columns added by another batch, a batch refused, a prepared batch handed with other events.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as SqlIdentifier from "../../adapters/sinks/internal/SqlIdentifier.ts"
import * as PgliteSink from "../../adapters/sinks/PgliteSink.ts"
import * as AV from "../../core/AttributeValue.ts"
import type { Item } from "../../core/AttributeValue.ts"
import type { ChangeEvent } from "../../core/ChangeEvent.ts"
import type { Sink } from "../../core/Sink.ts"
import { assertSameItems, checkpointOf, keySchema, snapshot, sourceTable, stream } from "../contract/SinkContract.ts"
import * as ReplicaModel from "../support/ReplicaModel.ts"
import * as PgliteMemory from "../support/PgliteMemory.ts"

const database = PgliteMemory.inMemory()

const row = (pk: string, attributes: Record<string, AV.AttributeValue> = {}): Item =>
  AV.item({ pk: AV.s(pk), sk: AV.n("1"), ...attributes })

const snapshots = (...items: ReadonlyArray<Item>): ReadonlyArray<ChangeEvent> =>
  items.map((item, i) => snapshot(item, i + 1))

const setup = Effect.gen(function* () {
  const source = sourceTable()
  const table = `prepare_${source.name.toLowerCase()}`
  const sink = PgliteSink.fromDatabase(database(), { table })
  yield* sink.open(source)
  let n = 0
  const write = (events: ReadonlyArray<ChangeEvent>, prepared?: unknown) =>
    sink.write({ events, checkpoint: checkpointOf(source, ++n), ...(prepared === undefined ? {} : { prepared }) })
  const sql: ReplicaModel.Query = PgliteMemory.sqlOf(database)
  const items = (attributes: Iterable<string>) =>
    Effect.promise(() => ReplicaModel.read({ sql }, table, keySchema, [...attributes]))
  const saved = Effect.flatMap(sink.loadCheckpoint, (checkpoint) => Effect.succeed(checkpoint))
  return { sink, write, items, saved, source, sql, table }
})

const prepare = (sink: Sink["Type"], events: ReadonlyArray<ChangeEvent>) => {
  assert.isDefined(sink.prepare, "the SQL sinks prepare")
  return sink.prepare!(events)
}

/** What a replica holds once it has these items (of distinct keys). */
const expected = (...items: ReadonlyArray<Item>) => ReplicaModel.model(keySchema, snapshots(...items))

describe("SqlSink.prepare", () => {
  it.live("batches prepared ahead, each over the columns the one before adds: as written unprepared", () =>
    Effect.gen(function* () {
      const { items, sink, write } = yield* setup
      const first = snapshots(row("a", { x: AV.s("1") }))
      const second = snapshots(row("b", { x: AV.s("2"), y: AV.n("2") }), row("c", { z: AV.bool(true) }))
      const one = prepare(sink, first)
      const two = prepare(sink, second)
      assert.isDefined(one)
      assert.isDefined(two)
      yield* write(first, one)
      yield* write(second, two)
      const held = yield* items(["x", "y", "z"])
      assertSameItems(held, expected(...[...first, ...second].map((event) => event.newImage!)))
    }))

  it.live("columns added meanwhile by another batch: the prepared batch is planned again, nothing lost", () =>
    Effect.gen(function* () {
      const { items, sink, sql, table, write } = yield* setup
      yield* write(snapshots(row("a", { x: AV.s("1") })))
      const later = snapshots(row("b", { x: AV.s("2"), w: AV.n("7") }))
      const ahead = prepare(sink, later)
      // A stream batch adds a column the prepared batch does not know.
      yield* write([stream("c", 1, row("c", { v: AV.ss(["s"]) }))])
      yield* write(later, ahead)
      // The sink still knows every column: later batches of both kinds use them all.
      const last = row("d", { v: AV.ss(["t"]), w: AV.n("8"), x: AV.s("4") })
      // A string where the column holds sets: kept aside in _backstream_other, not refused.
      const other = row("e", { v: AV.s("a string") })
      yield* write(snapshots(other, last))
      yield* write([stream("u", 2, row("c", { v: AV.ss(["s", "u"]), w: AV.n("9") }))])
      const held = yield* items(["x", "w", "v"])
      assertSameItems(
        held,
        expected(
          row("a", { x: AV.s("1") }),
          row("b", { x: AV.s("2"), w: AV.n("7") }),
          row("c", { v: AV.ss(["s", "u"]), w: AV.n("9") }),
          other,
          last
        )
      )
      const columns = yield* Effect.promise(() => ReplicaModel.columnsOf({ sql }, table))
      const names = columns.map((c) => c.name).filter((name) => ["v", "w", "x"].includes(name))
      assert.deepStrictEqual(names.sort(), ["v", "w", "x"], "each column once")
    }))

  it.live("a prepared batch handed with other events is not used for them", () =>
    Effect.gen(function* () {
      const { items, sink, write } = yield* setup
      const prepared = prepare(sink, snapshots(row("a", { x: AV.s("1") })))
      const other = snapshots(row("b", { y: AV.n("3") }))
      yield* write(other, prepared)
      assertSameItems(yield* items(["x", "y"]), expected(row("b", { y: AV.n("3") })))
    }))

  it.live("after a refused batch, the next is prepared over the table as it is", () =>
    Effect.gen(function* () {
      const { items, saved, sink, table, write } = yield* setup
      yield* write(snapshots(row("a", { x: AV.s("ok") })))
      yield* Effect.promise(() =>
        database().exec(`ALTER TABLE ${SqlIdentifier.quote(table)} ADD CONSTRAINT short CHECK (length(x) < 5)`)
      )
      const refused = snapshots(row("b", { x: AV.s("too long"), fresh: AV.n("1") }))
      const next = snapshots(row("c", { x: AV.s("fine"), other: AV.bool(false) }))
      const ahead = prepare(sink, refused)
      const failure = yield* Effect.flip(write(refused, ahead))
      assert.strictEqual(failure._tag, "SinkFailure")
      assert.include(failure.message, `"b"`, "the refused item is named")
      const checkpoint = yield* saved
      assert.strictEqual(checkpoint._tag === "Some" ? checkpoint.value.savedAtMs % 1000 : -1, 1, "the last good one")
      yield* write(next, prepare(sink, next))
      assertSameItems(
        yield* items(["x", "other", "fresh"]),
        expected(row("a", { x: AV.s("ok") }), row("c", { x: AV.s("fine"), other: AV.bool(false) }))
      )
    }))

  it.live("batches that are not all snapshot reads are not prepared", () =>
    Effect.gen(function* () {
      const { sink } = yield* setup
      assert.isUndefined(prepare(sink, [stream("c", 1, row("a"))]))
      assert.isUndefined(prepare(sink, []))
    }))
})
