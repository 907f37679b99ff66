/**
 * The CheckpointStore contract against a local file, and what only a file can get wrong: a missing folder, leftovers
 * of an interrupted write, a path that cannot be read.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import * as FileCheckpointStore from "../../adapters/node/FileCheckpointStore.ts"
import * as Checkpoint from "../../core/Checkpoint.ts"
import { testCheckpointStore } from "../contract/CheckpointStoreContract.ts"
import { tempDir } from "../spool/support/TempDir.ts"

testCheckpointStore("local file", () => ({
  fresh: Effect.map(tempDir("checkpoint"), (dir) => {
    const file = path.join(dir, "orders.checkpoint.json")
    return {
      open: FileCheckpointStore.make({ file }),
      write: (text) => Effect.promise(() => fs.writeFile(file, text))
    }
  })
}))

const checkpoint = Checkpoint.initial(
  "arn:aws:dynamodb:us-east-1:123456789012:table/orders",
  "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2026-01-14T10:00:00.000"
)

describe("FileCheckpointStore", () => {
  it.scopedLive("creates the folder, writes JSON text and leaves no temporary file", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir("checkpoint")
      const file = path.join(dir, "state", "deep", "checkpoint.json")
      const store = yield* FileCheckpointStore.make({ file })
      assert.strictEqual(store.description, `file:${file}`)
      yield* store.save(checkpoint)
      yield* store.save({ ...checkpoint, savedAtMs: 5 })
      assert.deepStrictEqual(yield* Effect.promise(() => fs.readdir(path.dirname(file))), ["checkpoint.json"])
      const text = yield* Effect.promise(() => fs.readFile(file, "utf8"))
      assert.strictEqual(text, Checkpoint.encode({ ...checkpoint, savedAtMs: 5 }))
      assert.strictEqual(JSON.parse(text).version, 1)
    }))

  it.scopedLive("a checkpoint removed under it is a conflict too", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir("checkpoint")
      const file = path.join(dir, "checkpoint.json")
      const store = yield* FileCheckpointStore.make({ file })
      yield* store.save(checkpoint)
      yield* Effect.promise(() => fs.rm(file))
      assert.strictEqual((yield* Effect.flip(store.save(checkpoint)))._tag, "CheckpointConflict")
      assert.isTrue(Option.isNone(yield* store.load))
      yield* store.save(checkpoint)
    }))

  it.scopedLive("a path that cannot be read is a CheckpointStoreFailure naming it", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir("checkpoint")
      const store = yield* FileCheckpointStore.make({ file: dir })
      const failure = yield* Effect.flip(store.load)
      assert.strictEqual(failure._tag, "CheckpointStoreFailure")
      assert.include(failure.message, `file:${dir}`)
    }))
})
