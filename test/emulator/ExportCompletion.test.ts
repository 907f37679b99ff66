/**
 * An export's files are written once, whoever brings it to completion: the clock's tick and every export request
 * settle due exports, concurrently on a server, and a reader that saw COMPLETED must never see a manifest rewritten
 * under it (a `manifest-files.json` from one write beside a `manifest-files.md5` from another).
 */
import {
  CreateTableCommand,
  DescribeExportCommand,
  ExportTableToPointInTimeCommand,
  PutItemCommand,
  UpdateContinuousBackupsCommand
} from "@aws-sdk/client-dynamodb"
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Either, Stream } from "effect"
import * as ExportLayout from "../../core/ExportLayout.ts"
import * as ExportReader from "../../core/ExportReader.ts"
import * as Md5 from "../../core/Md5.ts"
import * as EmulatorInstance from "../../emulator/EmulatorInstance.ts"
import { type ExportBuckets, Exports } from "../../emulator/exports/Exports.ts"
import * as NodeServer from "../../emulator/NodeServer.ts"
import { clients, s3ObjectStore } from "./support/sdk.ts"

const T0 = Date.UTC(2026, 0, 14, 10, 0, 0)
const MINUTE = 60_000
const BUCKET = "exports"

const call = <A>(f: () => Promise<A>) => Effect.promise(f)

const start = Effect.gen(function* () {
  const instance = yield* EmulatorInstance.make({
    clock: "virtual",
    startTimeMs: T0,
    exportDurationMs: 10 * MINUTE,
    exportFuzzMs: 30_000
  })
  const server = yield* NodeServer.serve(instance.emulator)
  const sdk = clients(server.url)
  yield* Effect.addFinalizer(() =>
    Effect.sync(() => {
      sdk.dynamodb.destroy()
      sdk.streams.destroy()
      sdk.s3.destroy()
    })
  )
  const tableArn = yield* call(async () => {
    const table = await sdk.dynamodb.send(
      new CreateTableCommand({
        TableName: "orders",
        AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
        KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
        BillingMode: "PAY_PER_REQUEST",
        StreamSpecification: { StreamEnabled: true, StreamViewType: "NEW_AND_OLD_IMAGES" }
      })
    )
    await sdk.dynamodb.send(
      new UpdateContinuousBackupsCommand({
        TableName: "orders",
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true }
      })
    )
    await sdk.s3.send(new CreateBucketCommand({ Bucket: BUCKET }))
    for (let i = 0; i < 40; i++) {
      await sdk.dynamodb.send(
        new PutItemCommand({ TableName: "orders", Item: { pk: { S: `item${i}` }, n: { N: String(i) } } })
      )
    }
    return table.TableDescription!.TableArn!
  })
  // Writes after the export time, so that fuzzy exports differ from one rendering to the next.
  yield* instance.clock.advance(10_000)
  const exportTime = instance.clock.unsafeCurrentTimeMillis() - 5_000
  for (let i = 0; i < 40; i++) {
    yield* call(() =>
      sdk.dynamodb.send(
        new PutItemCommand({ TableName: "orders", Item: { pk: { S: `item${i}` }, n: { N: String(i + 100) } } })
      )
    )
  }
  return { instance, sdk, tableArn, exportTime }
})

const exportInput = (tableArn: string, exportTime: number) => ({
  TableArn: tableArn,
  S3Bucket: BUCKET,
  S3Prefix: "backfill",
  ExportTime: new Date(exportTime),
  ClientToken: "backstream-token"
})

const exportId = (arn: string) => arn.slice(arn.lastIndexOf("/") + 1)

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes)

describe("export completion", () => {
  it.scoped("concurrent ticks and DescribeExports complete an export once: its files are written once", () =>
    Effect.gen(function* () {
      const { instance, sdk, tableArn, exportTime } = yield* start
      const started = yield* call(() =>
        sdk.dynamodb.send(new ExportTableToPointInTimeCommand(exportInput(tableArn, exportTime)))
      )
      const arn = started.ExportDescription!.ExportArn!
      yield* instance.clock.advance(11 * MINUTE)
      const describe = call(() => sdk.dynamodb.send(new DescribeExportCommand({ ExportArn: arn })))
      const answers = yield* Effect.all(
        [instance.tick, describe, instance.tick, describe, instance.tick, describe],
        { concurrency: "unbounded" }
      )
      const directory = ExportLayout.exportDirectory("backfill", exportId(arn))
      const dataFiles = yield* instance.s3.listKeys(BUCKET, `${directory}/data/`)
      assert.strictEqual(dataFiles.length, 4, "one rendering of the export: four partitions")
      for (const answer of answers) {
        if (answer !== undefined) assert.strictEqual(answer.ExportDescription!.ExportStatus, "COMPLETED")
      }
      const events = yield* ExportReader.read(`${directory}/manifest-summary.json`).pipe(
        Stream.runCollect,
        Effect.map(Chunk.size),
        Effect.provide(s3ObjectStore(sdk.s3, BUCKET))
      )
      assert.strictEqual(events, 40)
    }))

  it.scoped("no file of an export is written once it is COMPLETED, so a reader never sees a mixed manifest", () =>
    Effect.gen(function* () {
      const { instance, tableArn, exportTime } = yield* start
      const puts: Array<{ key: string; bytes: Uint8Array; completed: boolean }> = []
      let exports: Exports | undefined
      const buckets: ExportBuckets = {
        hasBucket: (name) => instance.s3.hasBucket(name),
        putObject: (bucket, key, bytes, contentType) =>
          Effect.zipRight(
            Effect.sync(() =>
              puts.push({ key, bytes, completed: exports!.snapshot().some((job) => job.status === "COMPLETED") })
            ),
            instance.s3.putObject(bucket, key, bytes, contentType)
          )
      }
      exports = new Exports(instance.config, instance.tables, buckets)
      const started = yield* exports.operations.ExportTableToPointInTime!({
        TableArn: tableArn,
        S3Bucket: BUCKET,
        ExportTime: exportTime / 1000
      }).pipe(Effect.withClock(instance.clock))
      const arn = (started as { ExportDescription: { ExportArn: string } }).ExportDescription.ExportArn
      yield* instance.clock.advance(11 * MINUTE)
      const settle = exports.settle().pipe(Effect.withClock(instance.clock))
      yield* Effect.all([settle, settle, settle], { concurrency: "unbounded" })

      // What a reader would see between any two writes, once the export says COMPLETED: a consistent file list.
      const keys = ExportLayout.manifestKeys(undefined, exportId(arn))
      const seen = new Map<string, Uint8Array>()
      for (const put of puts) {
        seen.set(put.key, put.bytes)
        const files = seen.get(keys.files), md5 = seen.get(keys.filesMd5)
        if (put.completed && files !== undefined && md5 !== undefined) {
          assert.strictEqual(text(md5), ExportLayout.manifestMd5(text(files)), `after writing ${put.key}`)
        }
      }
      assert.deepStrictEqual(puts.filter((put) => put.completed).map((put) => put.key), [])
    }))

  it.scoped("ExportTableToPointInTime again with the same ClientToken, after completion, writes nothing", () =>
    Effect.gen(function* () {
      const { instance, sdk, tableArn, exportTime } = yield* start
      const started = yield* call(() =>
        sdk.dynamodb.send(new ExportTableToPointInTimeCommand(exportInput(tableArn, exportTime)))
      )
      const arn = started.ExportDescription!.ExportArn!
      yield* instance.clock.advance(11 * MINUTE)
      yield* instance.tick
      const keys = ExportLayout.manifestKeys("backfill", exportId(arn))
      const before = yield* Effect.all([instance.s3.getObject(BUCKET, keys.files), instance.s3.listKeys(BUCKET)])
      for (let i = 0; i < 3; i++) {
        const again = yield* call(() =>
          sdk.dynamodb.send(new ExportTableToPointInTimeCommand(exportInput(tableArn, exportTime)))
        )
        assert.strictEqual(again.ExportDescription!.ExportArn, arn)
        assert.strictEqual(again.ExportDescription!.ExportStatus, "COMPLETED")
        yield* instance.clock.advance(11 * MINUTE)
        yield* instance.tick
      }
      const after = yield* Effect.all([instance.s3.getObject(BUCKET, keys.files), instance.s3.listKeys(BUCKET)])
      assert.strictEqual(after[0], before[0], "the same stored object: never written again")
      assert.deepStrictEqual(after[1], before[1])
    }))

  for (const kind of ["corrupt-export", "truncate-export"] as const) {
    it.scoped(`a ${kind} fault damages a data file only: the manifests stay consistent`, () =>
      Effect.gen(function* () {
        const { instance, sdk, tableArn, exportTime } = yield* start
        instance.faults.add({ kind })
        const started = yield* call(() =>
          sdk.dynamodb.send(new ExportTableToPointInTimeCommand(exportInput(tableArn, exportTime)))
        )
        const arn = started.ExportDescription!.ExportArn!
        yield* instance.clock.advance(11 * MINUTE)
        yield* instance.tick
        const keys = ExportLayout.manifestKeys("backfill", exportId(arn))
        const manifest = yield* ExportReader.openManifest(keys.summary).pipe(
          Effect.provide(s3ObjectStore(sdk.s3, BUCKET))
        )
        assert.strictEqual(manifest.files.length, 4)
        const read = yield* ExportReader.read(keys.summary).pipe(
          Stream.runDrain,
          Effect.either,
          Effect.provide(s3ObjectStore(sdk.s3, BUCKET))
        )
        assert.isTrue(Either.isLeft(read))
        if (Either.isLeft(read)) assert.notStrictEqual(read.left._tag, "ExportManifestInvalid")
      }))
  }
})

describe("S3 objects replaced while read", () => {
  it.scoped("a GET racing PUTs of the same key gets one whole version, its ETag that of its bytes", () =>
    Effect.gen(function* () {
      const instance = yield* EmulatorInstance.make({ clock: "virtual", startTimeMs: T0 })
      const server = yield* NodeServer.serve(instance.emulator)
      const sdk = clients(server.url)
      yield* Effect.addFinalizer(() => Effect.sync(() => sdk.s3.destroy()))
      yield* call(() => sdk.s3.send(new CreateBucketCommand({ Bucket: BUCKET })))
      const version = (i: number) => `${String(i).padStart(4, "0")}:${"x".repeat(1 + (i * 7919) % 70_000)}\n`
      const versions = new Set<string>()
      const put = (i: number) =>
        call(() => {
          versions.add(version(i))
          return sdk.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "k", Body: version(i) }))
        })
      yield* put(0)
      const get = call(async () => {
        const answer = await sdk.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "k" }))
        const bytes = await answer.Body!.transformToByteArray()
        return { bytes, etag: answer.ETag! }
      })
      const got = yield* Effect.all(
        Array.from(
          { length: 40 },
          (_, i): Effect.Effect<{ bytes: Uint8Array; etag: string } | undefined> =>
            i % 2 === 0 ? Effect.as(put(i + 1), undefined) : get
        ),
        { concurrency: 8 }
      )
      for (const answer of got) {
        if (answer === undefined) continue
        assert.isTrue(versions.has(text(answer.bytes)), "a whole version")
        assert.strictEqual(answer.etag, `"${Md5.toHex(Md5.digest(answer.bytes))}"`)
      }
    }))
})
