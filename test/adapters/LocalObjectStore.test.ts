/**
 * The ObjectStore contract against a local folder, and what only a folder can get wrong: unfinished writes, keys a
 * file system cannot hold, files changed behind the store's back, and racing create-only writes.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { createHash } from "node:crypto"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import * as LocalObjectStore from "../../adapters/node/LocalObjectStore.ts"
import { readText } from "../../core/ObjectStore.ts"
import { testObjectStore } from "../contract/ObjectStoreContract.ts"

let root: string
beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), "backstream-local-store-"))
})
afterAll(() => fs.rm(root, { recursive: true, force: true }))

testObjectStore("local folder", "local", () => ({
  store: (bucket) => LocalObjectStore.layer(path.join(root, bucket)),
  createBucket: (bucket) => fs.mkdir(path.join(root, bucket)).then(() => undefined),
  location: "local"
}))

const encoder = new TextEncoder()
const md5 = (text: string) => `"${createHash("md5").update(text).digest("hex")}"`

describe("LocalObjectStore", () => {
  const fresh = Effect.promise(async () => {
    const dir = await fs.mkdtemp(path.join(root, "bucket-"))
    return { dir, store: LocalObjectStore.make(dir) }
  })

  it.live("lists no unfinished write and leaves none behind", () =>
    Effect.gen(function* () {
      const { dir, store } = yield* fresh
      yield* store.putObject("a/b", encoder.encode("x"))
      yield* Effect.promise(() => fs.writeFile(path.join(dir, "a", ".backstream-tmp-0123"), "partial"))
      assert.deepStrictEqual((yield* store.listObjects({})).objects.map((o) => o.key), ["a/b"])
      yield* Effect.flip(store.putObject("a/b", encoder.encode("y"), { ifNoneMatch: "*" }))
      assert.deepStrictEqual(yield* Effect.promise(() => fs.readdir(path.join(dir, "a"))), [
        ".backstream-tmp-0123",
        "b"
      ])
    }))

  it.live("refuses keys a folder cannot hold", () =>
    Effect.gen(function* () {
      const { store } = yield* fresh
      for (const key of ["../escape", "/absolute", "a//b", "a/./b", "a/../b", "dir/", ""]) {
        const error = yield* Effect.flip(store.putObject(key, encoder.encode("x")))
        assert.strictEqual(error._tag, "InvalidRequest", key)
      }
      assert.deepStrictEqual((yield* store.listObjects({})).objects, [])
      yield* store.putObject("x/y", encoder.encode("x"))
      for (const key of ["x", "x/y/z"]) {
        const error = yield* Effect.flip(store.putObject(key, encoder.encode("x")))
        assert.strictEqual(error._tag, "InvalidRequest", `${key} next to x/y`)
      }
      assert.deepStrictEqual((yield* store.listObjects({})).objects.map((o) => o.key), ["x/y"])
    }))

  it.live("recomputes the ETag of a file changed behind its back", () =>
    Effect.gen(function* () {
      const { dir, store } = yield* fresh
      const { etag } = yield* store.putObject("k", encoder.encode("first"))
      assert.strictEqual((yield* store.listObjects({})).objects[0]!.etag, etag)
      yield* Effect.promise(() => fs.writeFile(path.join(dir, "k"), "changed by hand"))
      assert.strictEqual((yield* store.listObjects({})).objects[0]!.etag, md5("changed by hand"))
      const stale = yield* Effect.flip(store.putObject("k", encoder.encode("next"), { ifMatch: etag }))
      assert.strictEqual(stale._tag, "PreconditionFailed")
      yield* store.putObject("k", encoder.encode("next"), { ifMatch: md5("changed by hand") })
      assert.strictEqual(yield* readText(store, "k"), "next")
    }))

  it.live("lets exactly one of racing If-None-Match writes create the key", () =>
    Effect.gen(function* () {
      const { store } = yield* fresh
      const results = yield* Effect.all(
        Array.from({ length: 20 }, (_, i) =>
          Effect.either(store.putObject("lock", encoder.encode(`writer ${i}`), { ifNoneMatch: "*" }))),
        { concurrency: "unbounded" }
      )
      const winners = results.filter((result) =>
        result._tag === "Right"
      )
      assert.strictEqual(winners.length, 1)
      assert.isTrue(results.every((r) => r._tag === "Right" || r.left._tag === "PreconditionFailed"))
      assert.match(yield* readText(store, "lock"), /^writer \d+$/)
    }))
})
