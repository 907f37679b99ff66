/**
 * The contract of the `Spool` port, run against every implementation: the local folder and the object store spool
 * (over a local folder, and over S3 through the AWS adapter and the emulator).
 */
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Either, Option, type Scope, Stream } from "effect"
import type { Element } from "../../core/Capture.ts"
import * as CaptureState from "../../core/CaptureState.ts"
import type { SpoolFailure } from "../../core/Errors.ts"
import type { Spool } from "../../core/Spool.ts"
import * as SpoolCodec from "../../core/SpoolCodec.ts"
import { history } from "../spool/support/Arbitraries.ts"

/** One place a spool lives, opened as many times as a test likes (each open is a restart). */
export interface SpoolLocation {
  readonly open: Effect.Effect<Spool["Type"], SpoolFailure>
  /**
   * Leaves what a crash in the middle of appending `text` (an append's lines) would leave after the last durable
   * append, with no spool open.
   */
  readonly crashDuringAppend: (text: string) => Effect.Effect<void>
  /** Overwrites the last segment's bytes with garbage, keeping its length; its name. */
  readonly damageLastSegment: Effect.Effect<string>
}

export interface SpoolTarget {
  /** A new, empty location; a folder spool starts a new segment past `segmentBytes`. */
  readonly fresh: (options: { readonly segmentBytes: number }) => Effect.Effect<SpoolLocation, never, Scope.Scope>
}

const text = (elements: ReadonlyArray<Element>) => elements.map(SpoolCodec.encodeElement)

const readAll = (spool: Spool["Type"]) => Effect.map(Stream.runCollect(spool.read), Chunk.toReadonlyArray)

const appendAll = (spool: Spool["Type"], appends: ReturnType<typeof history>) =>
  Effect.forEach(appends, ({ elements, state }) => spool.append(elements, state), { discard: true })

const assertState = (actual: Option.Option<CaptureState.CaptureState>, expected: CaptureState.CaptureState) => {
  assert.isTrue(Option.isSome(actual), "the spool should have a state")
  assert.isTrue(Option.isSome(actual) && CaptureState.equals(actual.value, expected), "the state of the last append")
}

export const testSpool = (name: string, target: () => SpoolTarget) =>
  describe(`Spool contract: ${name}`, () => {
    const appends = history(40)
    const elementsOf = (count: number) => appends.slice(0, count).flatMap((append) => append.elements)

    it.scopedLive("is empty at first", () =>
      Effect.gen(function* () {
        const spool = yield* Effect.flatMap(target().fresh({ segmentBytes: 4096 }), (location) => location.open)
        assert.isTrue(Option.isNone(yield* spool.state))
        assert.deepStrictEqual(yield* readAll(spool), [])
        assert.isString(spool.description)
      }))

    it.scopedLive("reads back every element in append order, with the state of the last append", () =>
      Effect.gen(function* () {
        const spool = yield* Effect.flatMap(target().fresh({ segmentBytes: 4096 }), (location) => location.open)
        yield* appendAll(spool, appends.slice(0, 25))
        assertState(yield* spool.state, appends[24]!.state)
        assert.deepStrictEqual(text(yield* readAll(spool)), text(elementsOf(25)))
        // A second read gives the same.
        assert.deepStrictEqual(text(yield* readAll(spool)), text(elementsOf(25)))
      }))

    it.scopedLive("an append without elements records its state", () =>
      Effect.gen(function* () {
        const location = yield* target().fresh({ segmentBytes: 4096 })
        const spool = yield* location.open
        yield* spool.append([], appends[3]!.state)
        assertState(yield* spool.state, appends[3]!.state)
        assert.deepStrictEqual(yield* readAll(spool), [])
        assertState(yield* Effect.flatMap(location.open, (again) => again.state), appends[3]!.state)
      }))

    it.scopedLive("resumes after reopening: the same state and elements, and appends go on after them", () =>
      Effect.gen(function* () {
        const location = yield* target().fresh({ segmentBytes: 4096 })
        yield* appendAll(yield* location.open, appends.slice(0, 10))
        const reopened = yield* location.open
        assertState(yield* reopened.state, appends[9]!.state)
        yield* appendAll(reopened, appends.slice(10, 20))
        const third = yield* location.open
        assertState(yield* third.state, appends[19]!.state)
        assert.deepStrictEqual(text(yield* readAll(third)), text(elementsOf(20)))
      }))

    it.scopedLive("a crash during an append: reopened, state and elements agree, whole elements only", () =>
      Effect.gen(function* () {
        const location = yield* target().fresh({ segmentBytes: 4096 })
        yield* appendAll(yield* location.open, appends.slice(0, 5))
        const crashed = appends[5]!
        yield* location.crashDuringAppend(Either.getOrThrow(SpoolCodec.encodeAppend(crashed.elements, crashed.state)))
        const spool = yield* location.open
        const state = yield* spool.state
        assert.isTrue(Option.isSome(state))
        const kept = CaptureState.equals(Option.getOrThrow(state), crashed.state) ? 6 : 5
        assertState(state, appends[kept - 1]!.state)
        assert.deepStrictEqual(text(yield* readAll(spool)), text(elementsOf(kept)))
        // Capture resumes from that state: the next appends follow.
        yield* appendAll(spool, appends.slice(kept, kept + 3))
        const again = yield* location.open
        assertState(yield* again.state, appends[kept + 2]!.state)
        assert.deepStrictEqual(text(yield* readAll(again)), text(elementsOf(kept + 3)))
      }))

    it.scopedLive("a spool of many segments reads as a stream, in order", () =>
      Effect.gen(function* () {
        const many = history(150, { payload: 64 })
        const location = yield* target().fresh({ segmentBytes: 8 * 1024 })
        yield* appendAll(yield* location.open, many)
        const spool = yield* location.open
        const expected = many.flatMap((append) => append.elements)
        // Folded as it streams, never collected: the count, the order and the state they lead to.
        const { count, state } = yield* Stream.runFold(
          spool.read,
          { count: 0, state: CaptureState.empty, inOrder: true },
          (acc, element) => ({
            count: acc.count + 1,
            state: CaptureState.apply(acc.state, element),
            inOrder: acc.inOrder
              && SpoolCodec.encodeElement(element) === SpoolCodec.encodeElement(expected[acc.count]!)
          })
        ).pipe(Effect.tap(({ inOrder }) => assert.isTrue(inOrder, "elements in append order")))
        assert.strictEqual(count, expected.length)
        assert.isTrue(CaptureState.equals(state, many[many.length - 1]!.state))
        assertState(yield* spool.state, state)
      }))

    it.scopedLive("reads segment by segment: a damaged later segment fails the read only when it is reached", () =>
      Effect.gen(function* () {
        const location = yield* target().fresh({ segmentBytes: 1024 })
        const spool = yield* location.open
        yield* appendAll(spool, appends.slice(0, 20))
        const pull = yield* Stream.toPull(spool.read)
        const first = yield* pull
        assert.isTrue(Chunk.size(first) > 0)
        const damaged = yield* location.damageLastSegment
        const elements: Array<Element> = [...first]
        const failure = yield* Effect.flip(
          Effect.forever(Effect.flatMap(pull, (chunk) => Effect.sync(() => elements.push(...chunk))))
        )
        assert.isTrue(Option.isSome(failure), "the read fails")
        const error = Option.getOrThrow(failure)
        assert.strictEqual(error._tag, "SpoolFailure")
        assert.include(error.message, `${damaged}, line 1: `)
        // Everything before the damaged segment came first, in order.
        const expected = text(elementsOf(20))
        assert.isTrue(elements.length > 0 && elements.length < expected.length)
        assert.deepStrictEqual(text(elements), expected.slice(0, elements.length))
      }))

    it.scopedLive("clear drops everything, for good; appends then start afresh", () =>
      Effect.gen(function* () {
        const location = yield* target().fresh({ segmentBytes: 4096 })
        const spool = yield* location.open
        yield* appendAll(spool, appends.slice(0, 12))
        yield* spool.clear
        assert.isTrue(Option.isNone(yield* spool.state))
        assert.deepStrictEqual(yield* readAll(spool), [])
        const reopened = yield* location.open
        assert.isTrue(Option.isNone(yield* reopened.state))
        assert.deepStrictEqual(yield* readAll(reopened), [])
        yield* appendAll(reopened, appends.slice(12, 15))
        assertState(yield* reopened.state, appends[14]!.state)
        const again = yield* location.open
        assertState(yield* again.state, appends[14]!.state)
        assert.deepStrictEqual(text(yield* readAll(again)), text(appends.slice(12, 15).flatMap((a) => a.elements)))
        yield* again.clear
        yield* again.clear
        assert.isTrue(Option.isNone(yield* (yield* location.open).state))
      }))

    it.scopedLive("a read sees the appends made before it started", () =>
      Effect.gen(function* () {
        const spool = yield* Effect.flatMap(target().fresh({ segmentBytes: 2048 }), (location) => location.open)
        yield* appendAll(spool, appends.slice(0, 6))
        const pull = yield* Stream.toPull(spool.read)
        const elements: Array<Element> = [...(yield* pull)]
        yield* appendAll(spool, appends.slice(6, 10))
        yield* Effect.forever(Effect.flatMap(pull, (chunk) => Effect.sync(() => elements.push(...chunk)))).pipe(
          Effect.catchAll((end) => Option.isNone(end) ? Effect.void : Effect.fail(end.value))
        )
        assert.deepStrictEqual(text(elements), text(elementsOf(6)))
        assert.deepStrictEqual(text(yield* readAll(spool)), text(elementsOf(10)))
      }))
  })
