/**
 * The contract of the `CheckpointStore` port, run against the file store and the object store checkpoint (over a
 * local folder, and over S3 through the AWS adapter and the emulator). The transactional sink's checkpoint has its
 * own tests.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, FastCheck as fc, Option, type Scope } from "effect"
import * as Checkpoint from "../../core/Checkpoint.ts"
import * as CheckpointCheck from "../../core/CheckpointCheck.ts"
import type { CheckpointStore } from "../../core/CheckpointStore.ts"
import type { CheckpointStoreError } from "../../core/CheckpointStore.ts"
import { captureStateArbitrary, history } from "../spool/support/Arbitraries.ts"

/** One place a checkpoint lives, opened as many times as a test likes (each open is another engine or a restart). */
export interface CheckpointLocation {
  readonly open: Effect.Effect<CheckpointStore["Type"]>
  /** Writes `text` where the stores keep the checkpoint, as another program would. */
  readonly write: (text: string) => Effect.Effect<void>
}

export interface CheckpointTarget {
  /** A new location, holding no checkpoint. */
  readonly fresh: Effect.Effect<CheckpointLocation, never, Scope.Scope>
}

const TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/orders"
const STREAM = `${TABLE}/stream/2026-01-14T10:00:00.000`

const arnArbitrary = fc.stringMatching(/^arn:aws:dynamodb:[a-z0-9-]{1,12}:\d{12}:table\/[\w.-]{1,20}$/)

export const checkpointArbitrary: fc.Arbitrary<Checkpoint.Checkpoint> = fc.record({
  tableArn: arnArbitrary,
  streamArn: arnArbitrary.map((arn) => `${arn}/stream/2026-01-14T10:00:00.000`),
  backfill: fc.oneof(
    fc.constant<Checkpoint.Backfill>({ _tag: "None" }),
    fc.record({
      _tag: fc.constant("Loading" as const),
      exportArn: arnArbitrary.map((arn) => `${arn}/export/01768385930000-a1b2c3d4`),
      exportTimeMs: fc.integer({ min: 0, max: 2 ** 42 }),
      filesDone: fc.nat(),
      linesDone: fc.nat()
    }),
    fc.record({
      _tag: fc.constant("Done" as const),
      exportArn: arnArbitrary.map((arn) => `${arn}/export/01768385930000-a1b2c3d4`),
      exportTimeMs: fc.integer({ min: 0, max: 2 ** 42 })
    })
  ),
  capture: captureStateArbitrary,
  savedAtMs: fc.integer({ min: 0, max: 2 ** 42 })
})

const checkpoint = (n: number): Checkpoint.Checkpoint => ({
  tableArn: TABLE,
  streamArn: STREAM,
  backfill: { _tag: "Done", exportArn: `${TABLE}/export/01768385930000-a1b2c3d4`, exportTimeMs: 1_768_385_930_000 },
  capture: history(n + 1)[n]!.state,
  savedAtMs: 1_768_385_930_000 + n
})

const loaded = (store: CheckpointStore["Type"]) =>
  Effect.map(store.load, (found) => Option.map(found, Checkpoint.encode))

const failureOf = <A>(effect: Effect.Effect<A, CheckpointStoreError>) =>
  Effect.flatMap(
    Effect.either(effect),
    (result) => Either.isLeft(result) ? Effect.succeed(result.left) : Effect.dieMessage("the call should fail")
  )

export const testCheckpointStore = (name: string, target: () => CheckpointTarget) =>
  describe(`CheckpointStore contract: ${name}`, () => {
    it.scopedLive("holds nothing at first", () =>
      Effect.gen(function* () {
        const store = yield* Effect.flatMap(target().fresh, (location) => location.open)
        assert.isTrue(Option.isNone(yield* store.load))
        assert.isString(store.description)
        assert.isAbove(store.description.length, 0)
      }))

    it.scopedLive("saves and loads back exactly, across restarts; the last save wins", () =>
      Effect.gen(function* () {
        const location = yield* target().fresh
        const store = yield* location.open
        assert.isTrue(Option.isNone(yield* store.load))
        yield* store.save(checkpoint(1))
        yield* store.save(checkpoint(2))
        assert.deepStrictEqual(yield* loaded(yield* location.open), Option.some(Checkpoint.encode(checkpoint(2))))
        yield* store.save(checkpoint(3))
        assert.deepStrictEqual(yield* loaded(store), Option.some(Checkpoint.encode(checkpoint(3))))
        const restarted = yield* location.open
        assert.deepStrictEqual(yield* loaded(restarted), Option.some(Checkpoint.encode(checkpoint(3))))
        yield* restarted.save(checkpoint(4))
        assert.deepStrictEqual(yield* loaded(yield* location.open), Option.some(Checkpoint.encode(checkpoint(4))))
      }))

    it.scopedLive("a save without a load goes ahead where there is no checkpoint", () =>
      Effect.gen(function* () {
        const location = yield* target().fresh
        yield* Effect.flatMap(location.open, (store) => store.save(checkpoint(1)))
        assert.deepStrictEqual(yield* loaded(yield* location.open), Option.some(Checkpoint.encode(checkpoint(1))))
      }))

    it.live.prop(
      "any checkpoint round trips",
      [checkpointArbitrary],
      ([original]) =>
        Effect.scoped(Effect.gen(function* () {
          const location = yield* target().fresh
          yield* Effect.flatMap(location.open, (store) => store.save(original))
          const back = yield* Effect.flatMap(location.open, (store) => store.load)
          assert.strictEqual(Checkpoint.encode(Option.getOrThrow(back)), Checkpoint.encode(original))
        })),
      { fastCheck: { numRuns: 15 } }
    )

    it.scopedLive("two stores on one checkpoint: the second to save fails with CheckpointConflict", () =>
      Effect.gen(function* () {
        const location = yield* target().fresh
        const a = yield* location.open
        const b = yield* location.open
        yield* a.load
        yield* b.load
        yield* a.save(checkpoint(1))
        const conflict = yield* failureOf(b.save(checkpoint(2)))
        assert.strictEqual(conflict._tag, "CheckpointConflict")
        assert.strictEqual(conflict.store, b.description)
        assert.include(conflict.message, "another backstream engine")
        // Nothing of the refused save was written.
        assert.deepStrictEqual(yield* loaded(yield* location.open), Option.some(Checkpoint.encode(checkpoint(1))))
        // The second store, once it has loaded again, saves; then the first is the stale one.
        yield* b.load
        yield* b.save(checkpoint(3))
        assert.strictEqual((yield* failureOf(a.save(checkpoint(4))))._tag, "CheckpointConflict")
        assert.deepStrictEqual(yield* loaded(yield* location.open), Option.some(Checkpoint.encode(checkpoint(3))))
      }))

    it.scopedLive("two stores on an existing checkpoint: the second to save fails", () =>
      Effect.gen(function* () {
        const location = yield* target().fresh
        yield* Effect.flatMap(location.open, (store) => store.save(checkpoint(1)))
        const a = yield* location.open
        const b = yield* location.open
        yield* a.load
        yield* b.load
        yield* b.save(checkpoint(2))
        yield* b.save(checkpoint(3))
        assert.strictEqual((yield* failureOf(a.save(checkpoint(4))))._tag, "CheckpointConflict")
        // A store that never loaded expects no checkpoint: it does not overwrite one.
        const blind = yield* location.open
        assert.strictEqual((yield* failureOf(blind.save(checkpoint(5))))._tag, "CheckpointConflict")
        assert.deepStrictEqual(yield* loaded(yield* location.open), Option.some(Checkpoint.encode(checkpoint(3))))
      }))

    it.scopedLive("a checkpoint changed by another program since the load: CheckpointConflict", () =>
      Effect.gen(function* () {
        const location = yield* target().fresh
        const store = yield* location.open
        yield* store.save(checkpoint(1))
        yield* location.write(Checkpoint.encode(checkpoint(7)))
        assert.strictEqual((yield* failureOf(store.save(checkpoint(2))))._tag, "CheckpointConflict")
      }))

    it.scopedLive("a damaged checkpoint: CheckpointInvalid that says what is wrong, never ignored", () =>
      Effect.gen(function* () {
        const location = yield* target().fresh
        const good = JSON.parse(Checkpoint.encode(checkpoint(1)))
        const cases: ReadonlyArray<readonly [string, string]> = [
          [`{"version":1,"tableArn":`, "damaged"],
          ["", "damaged"],
          [JSON.stringify({ ...good, version: 2 }), "$.version"],
          [JSON.stringify({ ...good, tableArn: "orders" }), "$.tableArn"],
          [
            JSON.stringify({ ...good, capture: { positions: { s: { sequenceNumber: "12" } }, finished: [] } }),
            "$.capture"
          ]
        ]
        for (const [text, reason] of cases) {
          yield* location.write(text)
          const store = yield* location.open
          const invalid = yield* failureOf(store.load)
          assert.strictEqual(invalid._tag, "CheckpointInvalid", text)
          assert.strictEqual(invalid.store, store.description)
          assert.include(invalid.message, reason, text)
          assert.include(invalid.message, "delete it to start again")
        }
      }))

    it.scopedLive("a checkpoint of another table or stream is refused by the check", () =>
      Effect.gen(function* () {
        const location = yield* target().fresh
        const store = yield* location.open
        yield* store.save(checkpoint(2))
        const found = Option.getOrThrow(yield* (yield* location.open).load)
        const ok = CheckpointCheck.checkBelongs(found, TABLE, STREAM, store.description)
        assert.isTrue(Either.isRight(ok))
        const otherTable = "arn:aws:dynamodb:us-east-1:123456789012:table/invoices"
        const wrongTable = CheckpointCheck.checkBelongs(found, otherTable, `${otherTable}/stream/x`, store.description)
        assert.isTrue(Either.isLeft(wrongTable))
        const tableError = Either.getLeft(wrongTable).pipe(Option.getOrThrow)
        assert.strictEqual(tableError._tag, "CheckpointInvalid")
        assert.include(tableError.message, `it belongs to table ${TABLE}, not to ${otherTable}`)
        const newStream = `${TABLE}/stream/2026-02-01T00:00:00.000`
        const wrongStream = CheckpointCheck.checkBelongs(found, TABLE, newStream, store.description)
        const streamError = Either.getLeft(wrongStream).pipe(Option.getOrThrow)
        assert.include(streamError.message, `saved for stream ${STREAM}, but the table's stream is now ${newStream}`)
        assert.include(streamError.message, store.description)
      }))
  })
