/**
 * The contract of the `Sink` port, run against every implementation: JSON lines (a file), PGlite (in memory and on
 * disk) and Postgres (a real server). What holds for all: events applied in order with the version rule give the
 * table's last image per item, exactly (numbers, bytes, sets, names). A JSON-lines file is read back by folding its
 * envelopes with that rule, as its consumers do; a SQL table is read back from its columns. Transactional sinks also
 * keep the checkpoint with the data, all or nothing.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, FastCheck as fc, Layer, Option } from "effect"
import * as AV from "../../core/AttributeValue.ts"
import type { AttributeValue, Item } from "../../core/AttributeValue.ts"
import type { ChangeEvent } from "../../core/ChangeEvent.ts"
import * as Checkpoint from "../../core/Checkpoint.ts"
import * as DynamoJson from "../../core/DynamoJson.ts"
import type { SinkFailure } from "../../core/Errors.ts"
import type { KeySchema } from "../../core/ItemKey.ts"
import { Sink, type SourceTable } from "../../core/Sink.ts"
import * as SqlIdentifier from "../../adapters/sinks/internal/SqlIdentifier.ts"
import type { SqlOptions } from "../../adapters/sinks/SqlOptions.ts"
import * as ReplicaModel from "../support/ReplicaModel.ts"
import { columnsOf, model, type Rows } from "../support/ReplicaModel.ts"

// Reading a destination back lives apart, free of the test framework: the bench reads replicas too.
export { columnsOf, model, type Rows }

export interface SinkTarget {
  /** A new, empty destination: a file, a table name. */
  readonly fresh: () => string
  /** The sink writing to a destination (SQL options apply to SQL sinks only). */
  readonly layer: (destination: string, options?: SqlOptions) => Layer.Layer<Sink, SinkFailure>
  /** SQL sinks: runs a query on the sink's database (another connection for a server). */
  readonly sql?: (text: string, params?: ReadonlyArray<unknown>) => Promise<Rows>
  /** JSON-lines sinks: the file's text. */
  readonly text?: (destination: string) => Promise<string>
}

// ---------------------------------------------------------------------------------------------------------------
// Events

export const keySchema: KeySchema = { hash: { name: "pk", type: "S" }, range: { name: "sk", type: "N" } }

let tables = 0
export const sourceTable = (schema: KeySchema = keySchema): SourceTable => {
  const name = `Orders${tables++}`
  return { name, arn: `arn:aws:dynamodb:us-east-1:123456789012:table/${name}`, keySchema: schema }
}

const streamArn = (source: SourceTable) => `${source.arn}/stream/2026-01-01T00:00:00.000`

/** A sequence number (21 digits) for a small integer. */
export const seq = (n: number) => (10n ** 20n + BigInt(n)).toString()

export const key = (pk: string, sk = "1"): Item => AV.item({ pk: AV.s(pk), sk: AV.n(sk) })

const T0 = 1_768_000_000_000

/** A stream event of sequence `n` (`c`/`u` with an image, `d` without). */
export const stream = (op: "c" | "u" | "d", n: number, image: Item, streamOf = "s"): ChangeEvent => ({
  op,
  ...(op === "d" ? { oldImage: image } : { newImage: image }),
  timestampMs: T0 + n * 1000,
  position: {
    _tag: "Stream",
    streamArn: `arn:aws:dynamodb:us-east-1:123456789012:table/${streamOf}/stream/x`,
    shardId: "shardId-00000001",
    sequenceNumber: seq(n),
    approximateCreationTimeMs: T0 + n * 1000,
    ttl: false
  }
})

/** A snapshot read (version 0). */
export const snapshot = (image: Item, line = 1): ChangeEvent => ({
  op: "r",
  newImage: image,
  timestampMs: T0,
  position: { _tag: "Export", exportArn: "arn:aws:dynamodb:us-east-1:123456789012:table/x/export/1", file: "f", line }
})

export const checkpointOf = (source: SourceTable, n: number): Checkpoint.Checkpoint => ({
  ...Checkpoint.initial(source.arn, streamArn(source)),
  savedAtMs: T0 + n
})

const withoutNulls = (item: Item): Item => new Map([...item].filter(([, value]) => value._tag !== "NULL"))

const show = (items: ReadonlyMap<string, Item>) =>
  JSON.stringify([...items].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, item]) => DynamoJson.encodeItem(item)))

export const assertSameItems = (actual: ReadonlyMap<string, Item>, expected: ReadonlyMap<string, Item>) => {
  const same = actual.size === expected.size
    && [...expected].every(([k, item]) => actual.has(k) && AV.itemEquals(actual.get(k)!, item))
  if (!same) assert.fail(`sink holds\n${show(actual)}\nexpected\n${show(expected)}`)
}

// ---------------------------------------------------------------------------------------------------------------
// Reading a destination back

/** The items a destination holds (soft-deleted rows left out): {@link ReplicaModel.read} on a sink target. */
export const read = (target: SinkTarget, destination: string, schema: KeySchema, attributes: Iterable<string>) =>
  ReplicaModel.read(target, destination, schema, attributes)

const attributeNames = (events: ReadonlyArray<ChangeEvent>) => {
  const names = new Set<string>()
  for (const event of events) {
    for (const image of [event.newImage, event.oldImage]) image?.forEach((_, n) => names.add(n))
  }
  return names
}

// ---------------------------------------------------------------------------------------------------------------
// Values

const bytes = Uint8Array.from({ length: 256 }, (_, i) => i)

/** Items with every kind of value and of name that must come back exactly. */
export const exactItems: ReadonlyArray<Item> = [
  new Map<string, AttributeValue>([
    ["pk", AV.s("numbers")],
    ["sk", AV.n("12345678901234567890123456789012345678")],
    ["n38", AV.n("12345678901234567890123456789012345678")],
    ["tiny", AV.n("1E-130")],
    ["huge", AV.n("9.9999999999999999999999999999999999999E+125")],
    ["negative", AV.n("-0.000000000000000000000000000000000000012345")],
    ["zero", AV.n("0")],
    ["ns", AV.ns(["1E-130", "12345678901234567890123456789012345678", "-1"])]
  ]),
  new Map<string, AttributeValue>([
    ["pk", AV.s("bytes and sets")],
    ["sk", AV.n("-1.5")],
    ["bin", AV.b(bytes)],
    ["empty bin", AV.b(new Uint8Array())],
    ["bs", AV.bs([bytes, Uint8Array.of(0), Uint8Array.of(255, 254)])],
    ["ss", AV.ss(["", "b", "日本"])],
    ["yes", AV.bool(true)],
    ["no", AV.bool(false)]
  ]),
  new Map<string, AttributeValue>([
    ["pk", AV.s("names ünicode 😀")],
    ["sk", AV.n("9.9999999999999999999999999999999999999E+125")],
    ["é", AV.s("accent")],
    ["日本語の属性", AV.s("japanese")],
    ["😀", AV.s("emoji")],
    ["with \"quotes\" and 'apostrophes'", AV.s("quoted")],
    ["Case", AV.s("upper")],
    ["case", AV.s("lower")],
    ["a.b c-d", AV.s("punctuation")],
    ["_backstream_version", AV.s("a reserved name")],
    ["x".repeat(255), AV.s("255 bytes")],
    ["é".repeat(100) + "1", AV.s("201 bytes, shares a prefix")],
    ["é".repeat(100) + "2", AV.s("201 bytes, shares a prefix")],
    ["ends like a mapped name#0123456789abcdef", AV.s("mapped too")],
    ["empty", AV.s("")]
  ]),
  new Map<string, AttributeValue>([
    ["pk", AV.s("nested")],
    ["sk", AV.n("1E-130")],
    [
      "map",
      AV.m(AV.item({
        "": AV.s("empty name"),
        n: AV.n("12345678901234567890123456789012345678"),
        list: AV.l([AV.n("1E-130"), AV.b(Uint8Array.of(1, 2)), AV.nul, AV.bool(false), AV.ss(["a"]), AV.m(new Map())]),
        "__proto__": AV.s("not a prototype"),
        deeper: AV.m(AV.item({ "😀": AV.ns(["9.9999999999999999999999999999999999999E+125"]) }))
      }))
    ],
    ["list", AV.l([])],
    ["nothing", AV.nul]
  ])
]

// ---------------------------------------------------------------------------------------------------------------
// The suite

export interface ContractFeatures {
  /** The sink keeps the checkpoint with the data (SQL). */
  readonly transactional: boolean
  /** Property-test runs (each on a fresh destination). */
  readonly propertyRuns?: number
}

export const testSink = (name: string, target: () => SinkTarget, features: ContractFeatures) =>
  describe(`Sink contract: ${name}`, () => {
    /** Runs `body` with a sink opened on a fresh destination; returns the destination. */
    const withSink = <A, E = SinkFailure>(
      source: SourceTable,
      body: (sink: Sink["Type"], destination: string) => Effect.Effect<A, E>,
      options: SqlOptions = {},
      destination = target().fresh()
    ) =>
      Effect.gen(function* () {
        const sink = yield* Sink
        yield* sink.open(source)
        return yield* body(sink, destination)
      }).pipe(Effect.provide(target().layer(destination, options)), Effect.scoped)

    const readBack = (destination: string, source: SourceTable, events: ReadonlyArray<ChangeEvent>) =>
      Effect.promise(() => read(target(), destination, source.keySchema, attributeNames(events)))

    /** What the sink must hold: the model, without NULL attributes in columns mode (they are SQL NULL there). */
    const expected = (source: SourceTable, events: ReadonlyArray<ChangeEvent>, nullsKept: boolean) => {
      const items = model(source.keySchema, events)
      return nullsKept ? items : new Map([...items].map(([k, item]) => [k, withoutNulls(item)]))
    }
    const nullsKept = (options: SqlOptions = {}) => !features.transactional || options.mode === "document"

    /** Writes the batches in order and checks the result against the model. */
    const applyAndCheck = (batches: ReadonlyArray<ReadonlyArray<ChangeEvent>>, options: SqlOptions = {}) => {
      const source = sourceTable()
      return withSink(source, (sink, destination) =>
        Effect.gen(function* () {
          let n = 0
          for (const events of batches) yield* sink.write({ events, checkpoint: checkpointOf(source, n++) })
          const all = batches.flat()
          assertSameItems(yield* readBack(destination, source, all), expected(source, all, nullsKept(options)))
          return destination
        }), options)
    }

    it.live("applies inserts, updates and deletes in order", () =>
      applyAndCheck([
        [
          stream("c", 1, AV.item({ pk: AV.s("a"), sk: AV.n("1"), v: AV.s("one") })),
          stream("c", 2, AV.item({ pk: AV.s("b"), sk: AV.n("1"), v: AV.s("two") })),
          stream("u", 3, AV.item({ pk: AV.s("a"), sk: AV.n("1"), v: AV.s("one, updated"), w: AV.n("3") }))
        ],
        [
          stream("d", 4, key("b")),
          stream("c", 5, AV.item({ pk: AV.s("c"), sk: AV.n("2"), v: AV.s("three") })),
          stream("u", 6, AV.item({ pk: AV.s("a"), sk: AV.n("1"), v: AV.s("one, again") }))
        ]
      ]))

    it.live("keeps every value exactly: 38 digits, 1E-130, bytes, sets, nested maps, unicode names, empty strings", () =>
      applyAndCheck([exactItems.map((item, i) => snapshot(item, i + 1))]))

    it.live("keeps values exactly in document mode", () =>
      applyAndCheck([exactItems.map((item, i) => snapshot(item, i + 1))], { mode: "document" }))

    it.live("an older event after a newer one changes nothing", () =>
      applyAndCheck([
        [stream("u", 10, AV.item({ pk: AV.s("a"), sk: AV.n("1"), v: AV.s("new") }))],
        [stream("u", 9, AV.item({ pk: AV.s("a"), sk: AV.n("1"), v: AV.s("old") }))],
        [stream("d", 8, key("a"))]
      ]))

    it.live("a snapshot row after a delete does not bring the item back (hard and soft deletes)", () =>
      Effect.forEach(["hard", "soft"] as const, (deletes) =>
        applyAndCheck([
          [stream("c", 5, AV.item({ pk: AV.s("a"), sk: AV.n("1"), v: AV.s("live") }))],
          [stream("d", 6, key("a")), stream("d", 7, key("never seen"))],
          [snapshot(AV.item({ pk: AV.s("a"), sk: AV.n("1"), v: AV.s("snapshot") }))],
          [snapshot(AV.item({ pk: AV.s("never seen"), sk: AV.n("1"), v: AV.s("snapshot") }))]
        ], { deletes })))

    it.live("replaying a batch (same versions) is a no-op, also after later changes", () => {
      const first = [
        stream("c", 1, AV.item({ pk: AV.s("a"), sk: AV.n("1"), v: AV.s("1") })),
        stream("c", 2, AV.item({ pk: AV.s("b"), sk: AV.n("1"), v: AV.s("2") })),
        stream("d", 3, key("a"))
      ]
      const second = [stream("u", 4, AV.item({ pk: AV.s("b"), sk: AV.n("1"), v: AV.s("4") }))]
      return applyAndCheck([first, first, second, first, second])
    })

    it.live("events of one item within a batch: delete then insert, insert then delete, numbers equal by value", () =>
      applyAndCheck([
        [
          stream("c", 1, AV.item({ pk: AV.s("a"), sk: AV.n("1"), v: AV.s("first") })),
          stream("d", 2, key("a")),
          stream("c", 3, AV.item({ pk: AV.s("a"), sk: AV.n("1.0"), v: AV.s("again") })),
          stream("c", 4, AV.item({ pk: AV.s("b"), sk: AV.n("1"), v: AV.s("short-lived") })),
          stream("d", 5, key("b", "10E-1"))
        ]
      ]))

    it.live("a backfill batch of 5000 snapshot rows (several statements)", () =>
      applyAndCheck([
        Array.from({ length: 5000 }, (_, i) =>
          snapshot(
            AV.item({ pk: AV.s(`item-${i}`), sk: AV.n(String(i)), payload: AV.s("x".repeat(200)), n: AV.n(`${i}.5`) }),
            i + 1
          ))
      ]))

    it.live("an attribute that changes type keeps every value (columns: the first type; others aside)", () =>
      applyAndCheck([
        [
          stream("c", 1, AV.item({ pk: AV.s("a"), sk: AV.n("1"), x: AV.n("1"), y: AV.nul })),
          stream("c", 2, AV.item({ pk: AV.s("b"), sk: AV.n("1"), x: AV.s("one"), y: AV.ss(["s"]) }))
        ],
        [
          stream("c", 3, AV.item({ pk: AV.s("c"), sk: AV.n("1"), x: AV.b(Uint8Array.of(1)), y: AV.l([AV.s("l")]) })),
          stream(
            "c",
            4,
            AV.item({ pk: AV.s("d"), sk: AV.n("1"), x: AV.m(AV.item({ n: AV.n("1") })), y: AV.bool(true) })
          )
        ]
      ]))

    it.live("property: random events over a few keys, in random batches, give the last image per key", () =>
      Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(
            fc.array(
              fc.record({
                key: fc.constantFrom("a", "b", "c"),
                op: fc.constantFrom("r", "c", "u", "d"),
                value: fc.oneof(
                  fc.constant(undefined),
                  fc.string().filter((s) => !s.includes("\0")).map(AV.s),
                  fc.integer().map((i) => AV.n(String(i)))
                ),
                cut: fc.boolean()
              }),
              { maxLength: 25 }
            ),
            async (steps) => {
              let n = 0
              const events = steps.map((step) => {
                const image = new Map<string, AttributeValue>([["pk", AV.s(step.key)], ["sk", AV.n("1")]])
                if (step.value !== undefined) image.set("v", step.value)
                return step.op === "r" ? snapshot(image) : stream(step.op as "c" | "u" | "d", ++n, image)
              })
              const batches: Array<Array<ChangeEvent>> = [[]]
              steps.forEach((step, i) => {
                batches[batches.length - 1]!.push(events[i]!)
                if (step.cut) batches.push([])
              })
              await Effect.runPromise(applyAndCheck(batches.filter((b) => b.length > 0)))
            }
          ),
          { numRuns: features.propertyRuns ?? 10 }
        )
      ))

    it.live("a string with U+0000: kept by JSON lines; a clear, non-retryable failure in SQL (Postgres cannot store it)", () => {
      const events = [
        snapshot(AV.item({ pk: AV.s("a"), sk: AV.n("1"), v: AV.m(AV.item({ inner: AV.s("a\u0000b") })) }))
      ]
      if (!features.transactional) return applyAndCheck([events])
      const source = sourceTable()
      return withSink(source, (sink) =>
        Effect.gen(function* () {
          const failure = yield* Effect.flip(sink.write({ events, checkpoint: checkpointOf(source, 1) }))
          assert.isFalse(failure.retryable)
          assert.include(failure.message, `U+0000 at the attribute path $."v"."inner"`)
          assert.include(failure.message, "JSON-lines sink")
        }))
    })

    // ---- transactional sinks
    if (!features.transactional) return

    it.live("no checkpoint before the first batch; then the last batch's, committed with it", () => {
      const source = sourceTable()
      return withSink(source, (sink) =>
        Effect.gen(function* () {
          assert.isTrue(Option.isNone(yield* sink.loadCheckpoint))
          yield* sink.write({ events: [stream("c", 1, key("a"))], checkpoint: checkpointOf(source, 1) })
          yield* sink.write({ events: [], checkpoint: checkpointOf(source, 2) })
          const loaded = yield* sink.loadCheckpoint
          assert.strictEqual(Checkpoint.encode(Option.getOrThrow(loaded)), Checkpoint.encode(checkpointOf(source, 2)))
        }))
    })

    it.live("a batch that fails half-way moves neither the data nor the checkpoint", () => {
      const source = sourceTable()
      return withSink(source, (sink, destination) =>
        Effect.gen(function* () {
          const first = [
            stream("c", 1, AV.item({ pk: AV.s("a"), sk: AV.n("1"), v: AV.s("kept") })),
            stream("c", 2, key("poison"))
          ]
          yield* sink.write({ events: first, checkpoint: checkpointOf(source, 1) })
          // Upserts run before deletes: the delete of "poison" fails after the upserts changed rows.
          yield* Effect.promise(() =>
            target().sql!(`
              CREATE FUNCTION ${SqlIdentifier.quote(`${destination}_trap`)}() RETURNS trigger LANGUAGE plpgsql AS
                $$ BEGIN RAISE EXCEPTION 'poison deleted'; END $$;
              CREATE TRIGGER trap BEFORE DELETE ON ${SqlIdentifier.quote(destination)} FOR EACH ROW
                WHEN (OLD.pk = 'poison') EXECUTE FUNCTION ${SqlIdentifier.quote(`${destination}_trap`)}()`)
          )
          const failing = [
            stream("u", 3, AV.item({ pk: AV.s("a"), sk: AV.n("1"), v: AV.s("lost"), extra: AV.n("1") })),
            stream("c", 4, key("b")),
            stream("d", 5, key("poison"))
          ]
          const exit = yield* Effect.exit(sink.write({ events: failing, checkpoint: checkpointOf(source, 2) }))
          assert.isTrue(Exit.isFailure(exit))
          const failure = Exit.isFailure(exit) ? exit.cause : undefined
          assert.include(String(failure), "poison deleted")
          assertSameItems(yield* readBack(destination, source, first), model(source.keySchema, first))
          assert.notInclude((yield* Effect.promise(() => columnsOf(target(), destination))).map((c) => c.name), "extra")
          const loaded = yield* sink.loadCheckpoint
          assert.strictEqual(Checkpoint.encode(Option.getOrThrow(loaded)), Checkpoint.encode(checkpointOf(source, 1)))
          // The same sink goes on once the cause is gone (its idea of the columns was rolled back too).
          yield* Effect.promise(() => target().sql!(`DROP TRIGGER trap ON ${SqlIdentifier.quote(destination)}`))
          yield* sink.write({ events: failing, checkpoint: checkpointOf(source, 2) })
          assertSameItems(
            yield* readBack(destination, source, [...first, ...failing]),
            model(source.keySchema, [...first, ...failing])
          )
        }))
    })

    it.live("new attributes add columns; a damaged checkpoint is a clear failure", () => {
      const source = sourceTable()
      return withSink(source, (sink, destination) =>
        Effect.gen(function* () {
          yield* sink.write({
            events: [stream("c", 1, AV.item({ pk: AV.s("a"), sk: AV.n("1"), first: AV.s("1") }))],
            checkpoint: checkpointOf(source, 1)
          })
          yield* sink.write({
            events: [stream("c", 2, AV.item({ pk: AV.s("b"), sk: AV.n("1"), second: AV.n("2"), third: AV.ss(["x"]) }))],
            checkpoint: checkpointOf(source, 2)
          })
          const columns = yield* Effect.promise(() => columnsOf(target(), destination))
          assert.deepStrictEqual(columns, [
            ...ReplicaModel.fixedColumns(),
            { name: "first", type: "text" },
            { name: "second", type: "numeric" },
            { name: "third", type: "jsonb" }
          ])
          yield* Effect.promise(() =>
            target().sql!(`UPDATE _backstream_checkpoints SET checkpoint = '{"version": 2}' WHERE table_arn = $1`, [
              source.arn
            ])
          )
          const failure = yield* Effect.flip(sink.loadCheckpoint)
          assert.isFalse(failure.retryable)
          assert.include(failure.message, "is damaged")
          assert.include(failure.message, "delete that row")
        }))
    })

    it.live("soft deletes keep the row marked deleted, and a newer write revives it", () => {
      const source = sourceTable()
      return withSink(source, (sink, destination) =>
        Effect.gen(function* () {
          const events = [
            stream("c", 1, AV.item({ pk: AV.s("a"), sk: AV.n("1"), v: AV.s("1") })),
            stream("d", 2, key("a")),
            stream("c", 3, AV.item({ pk: AV.s("b"), sk: AV.n("1"), v: AV.s("2") })),
            stream("d", 4, key("b"))
          ]
          yield* sink.write({ events, checkpoint: checkpointOf(source, 1) })
          yield* sink.write({
            events: [stream("c", 5, AV.item({ pk: AV.s("b"), sk: AV.n("1"), v: AV.s("back") }))],
            checkpoint: checkpointOf(source, 2)
          })
          const rows = yield* Effect.promise(() =>
            target().sql!(
              `SELECT pk, v, _backstream_deleted AS deleted, _backstream_version::text AS version FROM ${
                SqlIdentifier.quote(destination)
              } ORDER BY pk`
            )
          )
          assert.deepStrictEqual(rows.map((r) => ({ ...r })), [
            { pk: "a", v: "1", deleted: true, version: seq(2) },
            { pk: "b", v: "back", deleted: false, version: seq(5) }
          ])
        }), { deletes: "soft" })
    })

    it.live("opening a table whose key differs from the source's fails, saying what to do", () => {
      const first = sourceTable()
      const destination = target().fresh()
      return Effect.gen(function* () {
        yield* withSink(first, () => Effect.void, {}, destination)
        const other: SourceTable = { ...sourceTable({ hash: { name: "id", type: "N" } }), name: first.name }
        const failure = yield* Effect.flip(withSink(other, () => Effect.void, {}, destination))
        assert.isFalse(failure.retryable)
        assert.include(failure.message, `("pk" text, "sk" numeric)`)
        assert.include(failure.message, `("id" numeric)`)
        assert.include(failure.message, "`table` option")
        const documents = yield* Effect.flip(withSink(first, () => Effect.void, { mode: "document" }, destination))
        assert.include(documents.message, "columns mode")
      })
    })

    it.live("a table option with a schema, and long names, are honoured", () => {
      const source = sourceTable()
      const schemaName = `Schema ${target().fresh()}`
      const table = `${schemaName}.${"T".repeat(63)}`
      return Effect.gen(function* () {
        const quoted = `"${schemaName}"."${"T".repeat(63)}"`
        yield* withSink(source, (sink) =>
          Effect.gen(function* () {
            assert.include(sink.description, `"${schemaName}".${"T".repeat(63)}`)
            yield* sink.write({ events: [stream("c", 1, key("a"))], checkpoint: checkpointOf(source, 1) })
          }), { table: quoted })
        const rows = yield* Effect.promise(() =>
          target().sql!(`SELECT pk FROM ${SqlIdentifier.qualified({ schema: schemaName, name: "T".repeat(63) })}`)
        )
        assert.deepStrictEqual(rows.map((r) => r.pk), ["a"])
        const bad = yield* Effect.flip(withSink(source, () => Effect.void, { table: `${table}.x` }))
        assert.include(bad.message, "expected name or schema.name")
      })
    })
  })
