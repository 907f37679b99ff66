/**
 * The Spool contract over the ObjectStore port: a local folder, and S3 through the AWS adapter against the emulator
 * in-process. Then what only objects can get wrong: a crash between the segment and state.json, a second writer, a
 * damaged state.json or clear marker.
 */
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Either, Option, Scope, Stream } from "effect"
import * as LocalObjectStore from "../../adapters/node/LocalObjectStore.ts"
import * as CaptureState from "../../core/CaptureState.ts"
import { listAll, ObjectStore, readText } from "../../core/ObjectStore.ts"
import * as ObjectStoreSpool from "../../core/ObjectStoreSpool.ts"
import * as SpoolCodec from "../../core/SpoolCodec.ts"
import { emulatorAdmin, unique } from "../contract/AwsTarget.ts"
import { type SpoolTarget, testSpool } from "../contract/SpoolContract.ts"
import { emulatorBucket } from "../support/EmulatorBucket.ts"
import { history } from "./support/Arbitraries.ts"
import { tempDir } from "./support/TempDir.ts"

const encoder = new TextEncoder()

const segmentKeys = (store: ObjectStore["Type"], prefix: string) =>
  Stream.runCollect(listAll(store, `${prefix}/segment-`)).pipe(
    Effect.map((objects) => Chunk.toReadonlyArray(objects).map((o) => o.key)),
    Effect.orDie
  )

const targetOver = (storeIn: Effect.Effect<ObjectStore["Type"], never, Scope.Scope>): SpoolTarget => ({
  fresh: () =>
    Effect.gen(function* () {
      const store = yield* storeIn
      const prefix = unique("spool/run")
      return {
        open: ObjectStoreSpool.make({ prefix }).pipe(Effect.provideService(ObjectStore, store)),
        crashDuringAppend: (text) =>
          Effect.gen(function* () {
            // An object is written whole: the crash came after the segment, before state.json.
            const keys = yield* segmentKeys(store, prefix)
            const next = (SpoolCodec.segmentNumber(keys[keys.length - 1]?.slice(prefix.length + 1) ?? "") ?? 0) + 1
            yield* store.putObject(`${prefix}/${SpoolCodec.segmentName(next)}`, encoder.encode(text)).pipe(Effect.orDie)
          }),
        damageLastSegment: Effect.gen(function* () {
          const objects = Chunk.toReadonlyArray(
            yield* Stream.runCollect(listAll(store, `${prefix}/segment-`)).pipe(Effect.orDie)
          )
          const last = objects[objects.length - 1]!
          yield* store.putObject(last.key, encoder.encode("#".repeat(last.size - 1) + "\n")).pipe(Effect.orDie)
          return last.key.slice(prefix.length + 1)
        })
      }
    })
})

const localStore = Effect.map(tempDir("object-spool"), LocalObjectStore.make)

testSpool("objects in a local folder", () => targetOver(localStore))

const bucket = "spool-bucket"
const emulator = emulatorBucket(bucket)
const s3Store = emulator.store

testSpool("S3 objects through the AWS adapter, emulator in-process", () => targetOver(s3Store))

const appends = history(10)
const text = (elements: ReadonlyArray<SpoolCodec.Entry>) =>
  elements.map((e) => e._tag === "State" ? "" : SpoolCodec.encodeElement(e))
const elementsOf = (count: number) => appends.slice(0, count).flatMap((append) => append.elements)

describe.each(
  [
    ["local folder", localStore],
    ["S3 through the emulator", s3Store]
  ] as const
)("ObjectStoreSpool over %s", (_, storeIn) => {
  const fresh = Effect.gen(function* () {
    const store = yield* storeIn
    const prefix = unique("spool/case")
    const open = ObjectStoreSpool.make({ prefix, description: `s3://${bucket}/${prefix}` }).pipe(
      Effect.provideService(ObjectStore, store)
    )
    return { store, prefix, open }
  })

  it.scopedLive("writes one object per append, ending with its state line, and state.json after it", () =>
    Effect.gen(function* () {
      const { open, prefix, store } = yield* fresh
      const spool = yield* open
      assert.strictEqual(spool.description, `s3://${bucket}/${prefix}`)
      for (const { elements, state } of appends.slice(0, 3)) yield* spool.append(elements, state)
      assert.deepStrictEqual(
        yield* segmentKeys(store, prefix),
        [1, 2, 3].map((n) => `${prefix}/${SpoolCodec.segmentName(n)}`)
      )
      const segment = yield* readText(store, `${prefix}/${SpoolCodec.segmentName(2)}`)
      assert.strictEqual(segment, Either.getOrThrow(SpoolCodec.encodeAppend(appends[1]!.elements, appends[1]!.state)))
      const head = Either.getOrThrow(SpoolCodec.decodeHead(yield* readText(store, `${prefix}/state.json`)))
      assert.strictEqual(head.segment, 3)
      assert.isTrue(CaptureState.equals(head.state, appends[2]!.state))
    }))

  it.scopedLive("a second writer on the prefix fails at once and for good, saying why", () =>
    Effect.gen(function* () {
      const { open } = yield* fresh
      const first = yield* open
      const second = yield* open
      yield* first.append(appends[0]!.elements, appends[0]!.state)
      const failure = yield* Effect.flip(second.append(appends[1]!.elements, appends[1]!.state))
      assert.include(failure.message, "was written by another writer")
      assert.include(failure.message, "give each engine its own spool prefix")
      assert.strictEqual(
        (yield* Effect.flip(second.append(appends[1]!.elements, appends[1]!.state)))._tag,
        "SpoolFailure"
      )
      assert.strictEqual((yield* Effect.flip(second.clear))._tag, "SpoolFailure")
      // The first writer's records are intact.
      yield* first.append(appends[1]!.elements, appends[1]!.state)
      assert.deepStrictEqual(
        text(Chunk.toReadonlyArray(yield* Stream.runCollect((yield* open).read))),
        text(elementsOf(2))
      )
    }))

  it.scopedLive("a segment written after state.json was lost is found on open: its state wins", () =>
    Effect.gen(function* () {
      const { open, prefix, store } = yield* fresh
      const spool = yield* open
      for (const { elements, state } of appends.slice(0, 2)) yield* spool.append(elements, state)
      for (const n of [3, 4]) {
        const append = appends[n - 1]!
        yield* store.putObject(
          `${prefix}/${SpoolCodec.segmentName(n)}`,
          encoder.encode(Either.getOrThrow(SpoolCodec.encodeAppend(append.elements, append.state)))
        )
      }
      const reopened = yield* open
      assert.isTrue(CaptureState.equals(Option.getOrThrow(yield* reopened.state), appends[3]!.state))
      yield* reopened.append(appends[4]!.elements, appends[4]!.state)
      assert.deepStrictEqual(text(Chunk.toReadonlyArray(yield* Stream.runCollect(reopened.read))), text(elementsOf(5)))
    }))

  it.scopedLive("a damaged state.json is only a hint: the segments say where the spool stands", () =>
    Effect.gen(function* () {
      const { open, prefix, store } = yield* fresh
      const spool = yield* open
      for (const { elements, state } of appends.slice(0, 3)) yield* spool.append(elements, state)
      yield* store.putObject(`${prefix}/state.json`, encoder.encode("{"))
      const reopened = yield* open
      assert.isTrue(CaptureState.equals(Option.getOrThrow(yield* reopened.state), appends[2]!.state))
      assert.deepStrictEqual(text(Chunk.toReadonlyArray(yield* Stream.runCollect(reopened.read))), text(elementsOf(3)))
    }))

  it.scopedLive("clear writes a marker and keeps the objects (no delete permission); numbering goes on", () =>
    Effect.gen(function* () {
      const { open, prefix, store } = yield* fresh
      const spool = yield* open
      for (const { elements, state } of appends.slice(0, 3)) yield* spool.append(elements, state)
      yield* spool.clear
      assert.strictEqual(yield* readText(store, `${prefix}/cleared-through.json`), `{"version":1,"clearedThrough":3}`)
      assert.strictEqual((yield* segmentKeys(store, prefix)).length, 3)
      yield* spool.append(appends[3]!.elements, appends[3]!.state)
      assert.strictEqual((yield* segmentKeys(store, prefix)).pop(), `${prefix}/${SpoolCodec.segmentName(4)}`)
      const reopened = yield* open
      assert.deepStrictEqual(
        text(Chunk.toReadonlyArray(yield* Stream.runCollect(reopened.read))),
        text(appends[3]!.elements)
      )
    }))

  it.scopedLive("a damaged segment or marker: operations fail, clear starts afresh past every segment", () =>
    Effect.gen(function* () {
      const { open, prefix, store } = yield* fresh
      const spool = yield* open
      for (const { elements, state } of appends.slice(0, 2)) yield* spool.append(elements, state)
      // A segment found on open that is not what the spool writes.
      yield* store.putObject(`${prefix}/${SpoolCodec.segmentName(3)}`, encoder.encode("nonsense\n"))
      const damaged = yield* open
      const failure = yield* Effect.flip(damaged.state)
      assert.include(failure.message, `${SpoolCodec.segmentName(3)}, line 1: `)
      yield* damaged.clear
      assert.isTrue(Option.isNone(yield* damaged.state))
      yield* damaged.append(appends[5]!.elements, appends[5]!.state)
      assert.strictEqual((yield* segmentKeys(store, prefix)).pop(), `${prefix}/${SpoolCodec.segmentName(4)}`)

      yield* store.putObject(`${prefix}/cleared-through.json`, encoder.encode(`{"clearedThrough":"x"}`))
      const marker = yield* Effect.flip((yield* open).state)
      assert.include(marker.message, "cleared-through.json is not what backstream writes")
    }))
})

describe("ObjectStoreSpool over S3", () => {
  it.scopedLive("an append that failed is not in the spool; the next one goes on from the last durable state", () =>
    Effect.gen(function* () {
      const admin = emulatorAdmin(emulator.url())
      const store = yield* s3Store
      const open = ObjectStoreSpool.make({ prefix: unique("spool/faults") }).pipe(
        Effect.provideService(ObjectStore, store)
      )
      const spool = yield* open
      yield* spool.append(appends[0]!.elements, appends[0]!.state)
      yield* Effect.promise(() => admin.addFault({ kind: "error500", action: "s3:PutObject" }))
      const failure = yield* Effect.flip(spool.append(appends[1]!.elements, appends[1]!.state)).pipe(
        Effect.ensuring(Effect.promise(() => admin.clearFaults()))
      )
      assert.strictEqual(failure._tag, "SpoolFailure")
      assert.isTrue(CaptureState.equals(Option.getOrThrow(yield* spool.state), appends[0]!.state))
      yield* spool.append(appends[1]!.elements, appends[1]!.state)
      assert.deepStrictEqual(
        text(Chunk.toReadonlyArray(yield* Stream.runCollect((yield* open).read))),
        text(elementsOf(2))
      )
    }))
})
