/**
 * The {@link Spool} port over the {@link ObjectStore} port: S3 objects under a prefix, for an engine without a
 * durable local disk. Layout ({@link SpoolCodec} lines):
 *
 * - `<prefix>/segment-<n>.jsonl`: one object per append, numbered from 1, written with `If-None-Match: *`, so a
 *   second writer on the same prefix fails at once instead of interleaving its records. Each ends with the append's
 *   state line: the segments alone say how far the spool got.
 * - `<prefix>/state.json`: the last segment's number and state ({@link SpoolCodec.Head}), so that opening does not
 *   list every segment. It is a hint, written after the segment: on open the segments after it are looked for (a
 *   crash between the two writes) and the last one's state line wins.
 * - `<prefix>/cleared-through.json`: `{"version":1,"clearedThrough":n}`: segments up to `n` have been applied and are
 *   no longer part of the spool. The port cannot delete (the documented policy has no `s3:DeleteObject`): expire the
 *   old segments with a lifecycle rule on the prefix.
 *
 * An object is written whole or not at all, so no append is ever torn. Reading streams one segment after the other.
 *
 * @module
 */
import { Effect, Either, Layer, Option, Schema, Stream } from "effect"
import type { Element } from "./Capture.ts"
import type * as CaptureState from "./CaptureState.ts"
import { type ObjectStoreError, type PreconditionFailed, SpoolFailure } from "./Errors.ts"
import { listAll, ObjectStore, readText } from "./ObjectStore.ts"
import { Spool } from "./Spool.ts"
import * as SpoolCodec from "./SpoolCodec.ts"

/** Where the spool is. */
export interface Options {
  /** The key prefix of its objects, without a trailing `/` (`backstream/orders/spool`). */
  readonly prefix: string
  /** What the spool is called in messages (default `objects under <prefix>/`); `s3://bucket/prefix` says it best. */
  readonly description?: string
}

const STATE = "state.json"
const CLEARED = "cleared-through.json"

const ClearedJson = Schema.parseJson(Schema.Struct({
  version: Schema.Literal(1),
  clearedThrough: Schema.Int.pipe(Schema.nonNegative())
}))

/** Where the spool stands: segments `cleared + 1 ..= last` hold its records, `state` is the last one's. */
type Status =
  | {
    readonly _tag: "Open"
    readonly cleared: number
    readonly last: number
    readonly state: CaptureState.CaptureState | undefined
  }
  /** What is stored is not what this spool writes: every operation fails but `clear`. */
  | { readonly _tag: "Damaged"; readonly failure: SpoolFailure }
  /** Another writer appended: every operation fails, `clear` too; a new spool on the prefix starts from its work. */
  | { readonly _tag: "Taken"; readonly failure: SpoolFailure }
  /** A write failed half-way: where the spool stands is read again before the next operation. */
  | { readonly _tag: "Unknown" }

type Open = Extract<Status, { readonly _tag: "Open" }>
type Opened = Exclude<Status, { readonly _tag: "Unknown" | "Taken" }>

const encoder = new TextEncoder()

/**
 * A spool over the `ObjectStore` in context. Opening reads where the spool stands and fails when the store cannot be
 * read; a spool whose objects are damaged opens, fails its operations, and can be cleared.
 */
export const make = (options: Options): Effect.Effect<Spool["Type"], SpoolFailure, ObjectStore> =>
  Effect.gen(function* () {
    const store = yield* ObjectStore
    const base = options.prefix.replace(/\/+$/, "")
    const keyOf = (name: string) => base === "" ? name : `${base}/${name}`
    const description = options.description ?? `objects under ${keyOf("")}`
    const lock = yield* Effect.makeSemaphore(1)

    // Failures of the store carry their cause; damage found in what it holds has none.
    const failure = (what: string) => (error: ObjectStoreError | PreconditionFailed) =>
      new SpoolFailure({ spool: description, reason: `cannot ${what}: ${error.message}`, cause: error })
    const damaged = (reason: string) =>
      new SpoolFailure({
        spool: description,
        reason: `${reason}; the spool is damaged: clear it and start again with a new backfill`
      })
    const isDamage = (error: SpoolFailure) => error.cause === undefined

    const readOptional = (name: string) =>
      readText(store, keyOf(name)).pipe(
        Effect.map((text): string | undefined => text),
        Effect.catchTag("ObjectNotFound", () => Effect.succeed(undefined)),
        Effect.mapError(failure(`read ${keyOf(name)}`))
      )

    const exists = (name: string) =>
      store.listObjects({ prefix: keyOf(name), maxKeys: 1 }).pipe(
        Effect.map((page) => page.objects[0]?.key === keyOf(name)),
        Effect.mapError(failure(`list ${keyOf(name)}`))
      )

    const segmentEntries = (n: number): Stream.Stream<SpoolCodec.Entry, SpoolFailure> => {
      const name = SpoolCodec.segmentName(n)
      const key = keyOf(name)
      return Stream.unwrap(
        store.getObject(key).pipe(
          Effect.mapError((error) =>
            error._tag === "ObjectNotFound"
              ? damaged(`${key} is missing (was it expired before it was applied?)`)
              : failure(`read ${key}`)(error)
          ),
          Effect.map((body) =>
            SpoolCodec.decodeSegment(
              description,
              name,
              Stream.fromReadableStream({
                evaluate: () => body,
                onError: (cause) =>
                  new SpoolFailure({
                    spool: description,
                    reason: `cannot read ${key}: ${(cause as Error)?.message ?? String(cause)}`,
                    cause
                  })
              })
            )
          )
        )
      )
    }

    /** The state line that ends segment `n`. */
    const lastState = (n: number) =>
      segmentEntries(n).pipe(
        Stream.runFold(
          undefined as CaptureState.CaptureState | undefined,
          (state, entry) => entry._tag === "State" ? entry.state : state
        ),
        Effect.flatMap((state) =>
          state === undefined
            ? Effect.fail(damaged(`${keyOf(SpoolCodec.segmentName(n))} has no state line`))
            : Effect.succeed(state)
        )
      )

    const open: Effect.Effect<Opened, SpoolFailure> = Effect.gen(function* () {
      const clearedText = yield* readOptional(CLEARED)
      let cleared = 0
      if (clearedText !== undefined) {
        const decoded = Schema.decodeUnknownEither(ClearedJson)(clearedText)
        if (Either.isLeft(decoded)) return yield* damaged(`${keyOf(CLEARED)} is not what backstream writes`)
        cleared = decoded.right.clearedThrough
      }
      // state.json is only a hint: when it is damaged, the segments after the cleared ones are looked for instead.
      const headText = yield* readOptional(STATE)
      const head = headText === undefined ? undefined : Either.getOrUndefined(SpoolCodec.decodeHead(headText))
      if (headText !== undefined && head === undefined) {
        yield* Effect.logWarning(`spool ${description}: ${keyOf(STATE)} is damaged; looking for the last segment`)
      }
      let last = Math.max(head?.segment ?? 0, cleared)
      let state = head !== undefined && head.segment > cleared ? head.state : undefined
      let found = false
      while (yield* exists(SpoolCodec.segmentName(last + 1))) {
        last++
        found = true
      }
      if (found) state = yield* lastState(last)
      return { _tag: "Open", cleared, last, state } as const
    }).pipe(
      Effect.catchIf(isDamage, (failure) => Effect.succeed({ _tag: "Damaged", failure } as const))
    )

    let status: Status = yield* open

    const current: Effect.Effect<Open, SpoolFailure> = Effect.suspend(() => {
      switch (status._tag) {
        case "Open":
          return Effect.succeed(status)
        case "Damaged":
        case "Taken":
          return Effect.fail(status.failure)
        case "Unknown":
          return Effect.flatMap(open, (opened) => {
            status = opened
            return opened._tag === "Open" ? Effect.succeed(opened) : Effect.fail(opened.failure)
          })
      }
    })

    /** The highest segment number under the prefix, listing every segment (to clear a damaged spool). */
    const lastSegmentListed = Stream.runFold(
      listAll(store, keyOf("segment-")),
      0,
      (max, object) => Math.max(max, SpoolCodec.segmentNumber(object.key.slice(keyOf("").length)) ?? 0)
    ).pipe(Effect.mapError(failure(`list ${keyOf("")}`)))

    const append = (elements: ReadonlyArray<Element>, state: CaptureState.CaptureState) =>
      lock.withPermits(1)(Effect.gen(function* () {
        const text = SpoolCodec.encodeAppend(elements, state)
        if (Either.isLeft(text)) {
          return yield* new SpoolFailure({ spool: description, reason: `cannot spool an invalid state: ${text.left}` })
        }
        const { cleared, last } = yield* current
        const n = last + 1
        const key = keyOf(SpoolCodec.segmentName(n))
        const bytes = encoder.encode(text.right)
        yield* store.putObject(key, bytes, { ifNoneMatch: "*" }).pipe(
          Effect.catchTag("PreconditionFailed", () => {
            const taken = new SpoolFailure({
              spool: description,
              reason: `${key} was written by another writer: two engines (or two spools) append to this prefix; `
                + `stop the other one, and give each engine its own spool prefix`
            })
            status = { _tag: "Taken", failure: taken }
            return Effect.fail(taken)
          }),
          Effect.tapErrorCause(() =>
            Effect.sync(() => {
              if (status._tag === "Open") status = { _tag: "Unknown" }
            })
          ),
          Effect.mapError((error) => error._tag === "SpoolFailure" ? error : failure(`write ${key}`)(error))
        )
        status = { _tag: "Open", cleared, last: n, state }
        yield* store.putObject(
          keyOf(STATE),
          encoder.encode(SpoolCodec.encodeHead({ segment: n, length: bytes.length, state }))
        ).pipe(
          Effect.catchAll((error) =>
            Effect.logWarning(
              `spool ${description}: cannot write ${keyOf(STATE)} (${error.message}); opening will look for the `
                + `last segment`
            )
          )
        )
      }))

    const clear = lock.withPermits(1)(Effect.gen(function* () {
      if (status._tag === "Taken") return yield* status.failure
      // A damaged spool is cleared through every segment there is, wherever its records stop.
      const last = status._tag === "Damaged" ? yield* lastSegmentListed : (yield* current).last
      yield* store.putObject(keyOf(CLEARED), encoder.encode(JSON.stringify({ version: 1, clearedThrough: last }))).pipe(
        Effect.mapError(failure(`write ${keyOf(CLEARED)}`)),
        Effect.tapErrorCause(() => Effect.sync(() => void (status = { _tag: "Unknown" })))
      )
      status = { _tag: "Open", cleared: last, last, state: undefined }
    }))

    return Spool.of({
      description,
      append,
      state: lock.withPermits(1)(
        Effect.map(current, (open) => open.last > open.cleared ? Option.fromNullable(open.state) : Option.none())
      ),
      read: Stream.fromEffect(lock.withPermits(1)(current)).pipe(
        Stream.flatMap(({ cleared, last }) => Stream.range(cleared + 1, last)),
        Stream.flatMap(segmentEntries),
        Stream.filter(SpoolCodec.isElement)
      ),
      clear
    })
  })

/** The spool as a layer, over the `ObjectStore` in context. */
export const layer = (options: Options): Layer.Layer<Spool, SpoolFailure, ObjectStore> =>
  Layer.effect(Spool, make(options))
