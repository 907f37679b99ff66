/**
 * The contract of the `ObjectStore` port, run against every implementation: the AWS adapter over HTTP (the emulator
 * in-process or as a process, moto_server) and the local folder. What a backend does not model is skipped there, with
 * the reason in the test's name.
 */
import { afterEach, assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, type Layer, Stream } from "effect"
import { createHash } from "node:crypto"
import type { ObjectNotFound, ObjectStoreError } from "../../core/Errors.ts"
import { listAll, ObjectStore, readText } from "../../core/ObjectStore.ts"
import type { EmulatorAdmin } from "./AwsTarget.ts"

export type Backend = "emulator" | "moto" | "local"

export interface ObjectStoreTarget {
  /** The store over a bucket, which may not exist. */
  readonly store: (bucket: string) => Layer.Layer<ObjectStore>
  readonly createBucket: (bucket: string) => Promise<void>
  /** What `bucketLocation` answers for a bucket made by `createBucket`. */
  readonly location: string
  /** The emulator's admin API, for faults. */
  readonly admin?: EmulatorAdmin
}

let counter = 0
const unique = () => `bucket-${Date.now().toString(36)}-${(counter++).toString(36)}`

const encoder = new TextEncoder()
const md5 = (bytes: Uint8Array) => `"${createHash("md5").update(bytes).digest("hex")}"`

const readBytes = (stream: ReadableStream<Uint8Array>) =>
  Effect.promise(async () => new Uint8Array(await new Response(stream).arrayBuffer()))

/**
 * Keys in S3's order, UTF-8 bytes: U+FFFD before U+1F600, where UTF-16 order has them the other way round; `.` before
 * `/`. No key is also a "folder" of others (`a` and `a/1`): a local folder cannot hold both.
 */
const ORDERED_KEYS = ["A", "Z", "a.txt", "a/1", "a/2", "a/b/3", "a/b/4", "b/5", "é", "日本", "\uFFFD", "😀"]

export const testObjectStore = (name: string, backend: Backend, target: () => ObjectStoreTarget) =>
  describe(`ObjectStore contract: ${name}`, () => {
    afterEach(async () => {
      await target().admin?.clearFaults()
    })

    /** Runs `body` with a store over a new bucket. */
    const run = <A, E>(body: (store: ObjectStore["Type"]) => Effect.Effect<A, E>) =>
      Effect.gen(function* () {
        const bucket = unique()
        yield* Effect.promise(() => target().createBucket(bucket))
        return yield* Effect.flatMap(ObjectStore, body).pipe(Effect.provide(target().store(bucket)))
      })
    const onMissingBucket = <A, E>(body: (store: ObjectStore["Type"]) => Effect.Effect<A, E>) =>
      Effect.flatMap(ObjectStore, body).pipe(Effect.provide(target().store(unique())))
    const withFaults = backend === "emulator" ? it.live : it.live.skip

    it.live("writes and reads objects whole: every byte value, empty, ETag = quoted MD5", () =>
      run((store) =>
        Effect.gen(function* () {
          const bytes = Uint8Array.from({ length: 256 * 3 }, (_, i) => i % 256)
          const { etag } = yield* store.putObject("dir/bytes.bin", bytes)
          assert.strictEqual(etag, md5(bytes))
          assert.deepStrictEqual(yield* Effect.flatMap(store.getObject("dir/bytes.bin"), readBytes), bytes)
          const empty = yield* store.putObject("empty", new Uint8Array(0))
          assert.strictEqual(empty.etag, md5(new Uint8Array(0)))
          assert.strictEqual((yield* Effect.flatMap(store.getObject("empty"), readBytes)).length, 0)
          yield* store.putObject("dir/bytes.bin", encoder.encode("replaced"))
          assert.strictEqual(yield* readText(store, "dir/bytes.bin"), "replaced")
        })
      ))

    it.live("streams a large object and stops early when the reader cancels", () =>
      run((store) =>
        Effect.gen(function* () {
          const big = new Uint8Array(4 * 1024 * 1024).map((_, i) => (i * 7) % 251)
          yield* store.putObject("big", big)
          const body = yield* store.getObject("big")
          const reader = body.getReader()
          const first = yield* Effect.promise(() => reader.read())
          assert.isFalse(first.done)
          assert.deepStrictEqual(first.value, big.subarray(0, first.value!.length))
          yield* Effect.promise(() => reader.cancel())
          assert.deepStrictEqual(yield* Effect.flatMap(store.getObject("big"), readBytes), big)
        })
      ))

    it.live("lists keys in UTF-8 order with prefix, delimiter and pages", () =>
      run((store) =>
        Effect.gen(function* () {
          for (const key of [...ORDERED_KEYS].reverse()) yield* store.putObject(key, encoder.encode(key))
          const all = yield* store.listObjects({})
          assert.deepStrictEqual(all.objects.map((o) => o.key), ORDERED_KEYS)
          assert.deepStrictEqual(all.commonPrefixes, [])
          assert.isUndefined(all.nextToken)
          const info = all.objects.find((o) => o.key === "a/b/3")!
          assert.strictEqual(info.size, 5)
          assert.strictEqual(info.etag, md5(encoder.encode("a/b/3")))
          assert.isTrue(Number.isFinite(info.lastModifiedMs) && info.lastModifiedMs > 0)

          const underA = yield* store.listObjects({ prefix: "a/" })
          assert.deepStrictEqual(underA.objects.map((o) => o.key), ["a/1", "a/2", "a/b/3", "a/b/4"])
          const grouped = yield* store.listObjects({ delimiter: "/" })
          assert.deepStrictEqual(grouped.objects.map((o) => o.key), ["A", "Z", "a.txt", "é", "日本", "\uFFFD", "😀"])
          assert.deepStrictEqual(grouped.commonPrefixes, ["a/", "b/"])
          const nested = yield* store.listObjects({ prefix: "a/", delimiter: "/" })
          assert.deepStrictEqual(nested.objects.map((o) => o.key), ["a/1", "a/2"])
          assert.deepStrictEqual(nested.commonPrefixes, ["a/b/"])
          assert.deepStrictEqual((yield* store.listObjects({ prefix: "nothing" })).objects, [])

          const paged = yield* Stream.runCollect(listAll(store, "", 5))
          assert.deepStrictEqual(Chunk.toReadonlyArray(paged).map((o) => o.key), ORDERED_KEYS)
          const firstPage = yield* store.listObjects({ maxKeys: 5 })
          assert.strictEqual(firstPage.objects.length, 5)
          assert.isString(firstPage.nextToken)

          const entries: Array<string> = []
          let token: string | undefined
          for (let page = 0;; page++) {
            if (page > 20) return assert.fail("the listing never ended")
            const out = yield* store.listObjects({
              delimiter: "/",
              maxKeys: 2,
              ...(token === undefined ? {} : { continuationToken: token })
            })
            assert.isAtMost(out.objects.length + out.commonPrefixes.length, 2)
            entries.push(...out.objects.map((o) => o.key), ...out.commonPrefixes)
            token = out.nextToken
            if (token === undefined) break
          }
          assert.sameMembers(entries, ["A", "Z", "a.txt", "a/", "b/", "é", "日本", "\uFFFD", "😀"])
          assert.strictEqual(entries.length, 9, "no entry twice across pages")
        })
      ))

    it.live("writes conditionally: If-None-Match * once, If-Match with the current ETag only", () =>
      run((store) =>
        Effect.gen(function* () {
          const first = yield* store.putObject("lock", encoder.encode("v1"), { ifNoneMatch: "*" })
          const taken = yield* Effect.flip(store.putObject("lock", encoder.encode("v2"), { ifNoneMatch: "*" }))
          assert.strictEqual(taken._tag, "PreconditionFailed")
          assert.include(taken, { key: "lock" })
          assert.strictEqual(yield* readText(store, "lock"), "v1", "a refused write leaves the object as it was")

          const second = yield* store.putObject("lock", encoder.encode("v2"), { ifMatch: first.etag })
          assert.strictEqual(second.etag, md5(encoder.encode("v2")))
          const stale = yield* Effect.flip(store.putObject("lock", encoder.encode("v3"), { ifMatch: first.etag }))
          assert.strictEqual(stale._tag, "PreconditionFailed")
          assert.strictEqual(yield* readText(store, "lock"), "v2")
          const absent = yield* Effect.flip(store.putObject("absent", encoder.encode("x"), { ifMatch: first.etag }))
          assert.strictEqual(absent._tag, "PreconditionFailed", "there is no object to match")
          assert.strictEqual((yield* Effect.flip(store.getObject("absent")))._tag, "ObjectNotFound")
        })
      ))

    it.live("answers the bucket's location", () =>
      run((store) => Effect.map(store.bucketLocation, (location) => assert.strictEqual(location, target().location))))

    it.live("fails with ObjectNotFound for a missing key", () =>
      run((store) =>
        Effect.gen(function* () {
          const error = yield* Effect.flip(store.getObject("no/such/key"))
          assert.deepStrictEqual(error._tag, "ObjectNotFound")
          assert.strictEqual((error as ObjectNotFound).key, "no/such/key")
        })
      ))

    it.live("fails with NotFound bucket for a missing bucket", () =>
      onMissingBucket((store) =>
        Effect.gen(function* () {
          const errors: Array<ObjectStoreError> = [
            yield* Effect.flip(store.bucketLocation),
            yield* Effect.flip(store.listObjects({})),
            yield* Effect.flip(store.getObject("key"))
          ]
          for (const error of errors) assert.include(error, { _tag: "NotFound", resource: "bucket" })
          assert.include(errors[0], { action: "s3:GetBucketLocation" })
          assert.include(errors[1], { action: "s3:ListBucket" })
          assert.include(errors[2], { action: "s3:GetObject" })
        })
      ))

    withFaults(
      backend === "emulator"
        ? "maps injected faults: SlowDown, 500, 503, AccessDenied naming the action"
        : `maps injected faults (skipped on ${backend}: it has no fault injection)`,
      () =>
        run((store) =>
          Effect.gen(function* () {
            const admin = target().admin!
            yield* store.putObject("k", encoder.encode("v"))
            yield* Effect.promise(() => admin.addFault({ kind: "throttle", action: "s3:GetObject", times: 1 }))
            const throttled = yield* Effect.flip(store.getObject("k"))
            assert.include(throttled, { _tag: "Throttled", action: "s3:GetObject" })
            assert.strictEqual(yield* readText(store, "k"), "v")
            yield* Effect.promise(() => admin.addFault({ kind: "error500", action: "s3:ListBucket", times: 1 }))
            assert.include(yield* Effect.flip(store.listObjects({})), { _tag: "Unavailable", action: "s3:ListBucket" })
            yield* Effect.promise(() => admin.addFault({ kind: "error503", action: "s3:PutObject", times: 1 }))
            assert.include(yield* Effect.flip(store.putObject("k", encoder.encode("w"))), {
              _tag: "Unavailable",
              action: "s3:PutObject"
            })
            yield* Effect.promise(() => admin.addFault({ kind: "throttle", action: "s3:GetBucketLocation", times: 1 }))
            assert.include(yield* Effect.flip(store.bucketLocation), { _tag: "Throttled" })
            for (
              const [action, call] of [
                ["s3:GetObject", store.getObject("k")],
                ["s3:ListBucket", store.listObjects({})],
                ["s3:PutObject", store.putObject("k", encoder.encode("w"))],
                ["s3:GetBucketLocation", store.bucketLocation]
              ] as const
            ) {
              yield* Effect.promise(() => admin.addFault({ kind: "access-denied", action, times: 1 }))
              assert.include(yield* Effect.flip(call as Effect.Effect<unknown, { _tag: string; action?: string }>), {
                _tag: "AccessDenied",
                action
              })
            }
          })
        )
    )
  })
