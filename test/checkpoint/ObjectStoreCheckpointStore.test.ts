/**
 * The CheckpointStore contract over the ObjectStore port: a local folder, and S3 through the AWS adapter against the
 * emulator in-process.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Option, Scope } from "effect"
import * as LocalObjectStore from "../../adapters/node/LocalObjectStore.ts"
import * as Checkpoint from "../../core/Checkpoint.ts"
import { ObjectStore, readText } from "../../core/ObjectStore.ts"
import * as ObjectStoreCheckpointStore from "../../core/ObjectStoreCheckpointStore.ts"
import { Unavailable } from "../../core/Errors.ts"
import { emulatorAdmin, unique } from "../contract/AwsTarget.ts"
import { type CheckpointTarget, testCheckpointStore } from "../contract/CheckpointStoreContract.ts"
import { emulatorBucket } from "../support/EmulatorBucket.ts"
import { tempDir } from "../spool/support/TempDir.ts"

const encoder = new TextEncoder()

const targetOver = (storeIn: Effect.Effect<ObjectStore["Type"], never, Scope.Scope>): CheckpointTarget => ({
  fresh: Effect.map(storeIn, (store) => {
    const key = `${unique("checkpoints/run")}/checkpoint.json`
    return {
      open: ObjectStoreCheckpointStore.make({ key }).pipe(Effect.provideService(ObjectStore, store)),
      write: (text) => Effect.orDie(store.putObject(key, encoder.encode(text)))
    }
  })
})

const localStore = Effect.map(tempDir("object-checkpoint"), LocalObjectStore.make)

testCheckpointStore("object in a local folder", () => targetOver(localStore))

const bucket = "checkpoint-bucket"
const emulator = emulatorBucket(bucket)
const s3Store = emulator.store

testCheckpointStore("S3 object through the AWS adapter, emulator in-process", () => targetOver(s3Store))

const checkpoint = Checkpoint.initial(
  "arn:aws:dynamodb:us-east-1:123456789012:table/orders",
  "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2026-01-14T10:00:00.000"
)

describe("ObjectStoreCheckpointStore", () => {
  it.scopedLive("uses the key only: a longer key beside it is not the checkpoint", () =>
    Effect.gen(function* () {
      const store = yield* s3Store
      const key = `${unique("checkpoints/case")}/checkpoint.json`
      yield* store.putObject(`${key}.old`, encoder.encode(Checkpoint.encode(checkpoint)))
      const checkpoints = yield* ObjectStoreCheckpointStore.make({ key, description: `s3://${bucket}/${key}` }).pipe(
        Effect.provideService(ObjectStore, store)
      )
      assert.strictEqual(checkpoints.description, `s3://${bucket}/${key}`)
      assert.isTrue(Option.isNone(yield* checkpoints.load))
      yield* checkpoints.save(checkpoint)
      assert.strictEqual(yield* readText(store, key), Checkpoint.encode(checkpoint))
    }))

  it.scopedLive("a save that failed on the way: the next one goes ahead, whether the object was written or not", () =>
    Effect.gen(function* () {
      const admin = emulatorAdmin(emulator.url())
      const store = yield* s3Store
      const key = `${unique("checkpoints/case")}/checkpoint.json`
      const checkpoints = yield* ObjectStoreCheckpointStore.make({ key }).pipe(
        Effect.provideService(ObjectStore, store)
      )
      yield* checkpoints.save(checkpoint)
      yield* Effect.promise(() => admin.addFault({ kind: "error500", action: "s3:PutObject" }))
      const failure = yield* Effect.flip(checkpoints.save({ ...checkpoint, savedAtMs: 1 })).pipe(
        Effect.ensuring(Effect.promise(() => admin.clearFaults()))
      )
      assert.strictEqual(failure._tag, "CheckpointStoreFailure")
      yield* checkpoints.save({ ...checkpoint, savedAtMs: 2 })
      assert.strictEqual(yield* readText(store, key), Checkpoint.encode({ ...checkpoint, savedAtMs: 2 }))

      // The write happened, its answer was lost.
      let loseAnswer = true
      const lossy = ObjectStore.of({
        ...store,
        putObject: (k, body, condition) =>
          Effect.flatMap(
            store.putObject(k, body, condition),
            (written) =>
              loseAnswer
                ? Effect.fail(new Unavailable({ action: "s3:PutObject", reason: "connection reset" }))
                : Effect.succeed(written)
          )
      })
      const other = yield* ObjectStoreCheckpointStore.make({ key }).pipe(Effect.provideService(ObjectStore, lossy))
      yield* other.load
      assert.strictEqual(
        (yield* Effect.flip(other.save({ ...checkpoint, savedAtMs: 3 })))._tag,
        "CheckpointStoreFailure"
      )
      loseAnswer = false
      yield* other.save({ ...checkpoint, savedAtMs: 4 })
      assert.strictEqual(yield* readText(store, key), Checkpoint.encode({ ...checkpoint, savedAtMs: 4 }))
      // Another writer in between is still a conflict.
      loseAnswer = true
      yield* Effect.flip(other.save({ ...checkpoint, savedAtMs: 5 }))
      loseAnswer = false
      yield* store.putObject(key, encoder.encode(Checkpoint.encode({ ...checkpoint, savedAtMs: 6 })))
      assert.strictEqual((yield* Effect.flip(other.save({ ...checkpoint, savedAtMs: 7 })))._tag, "CheckpointConflict")
    }))
})
