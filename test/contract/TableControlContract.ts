/**
 * The contract of the `TableControl` port, run against the AWS adapter over HTTP (the emulator, in-process or as a
 * process). Setup goes through the plain AWS SDK; the emulator's clock and faults through its admin API.
 */
import { afterEach, assert, beforeEach, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as AwsTableControl from "../../adapters/aws/AwsTableControl.ts"
import { type ExportDescription, TableControl } from "../../core/TableControl.ts"
import { type AwsTarget, clientsLayer, type CreatedTable, type Setup, setup, unique } from "./AwsTarget.ts"

const MINUTE = 60_000

export const testTableControl = (name: string, target: () => AwsTarget) =>
  describe(`TableControl contract: ${name}`, () => {
    let s: Setup
    beforeEach(() => {
      s = setup(target().url)
    })
    afterEach(async () => {
      s.destroy()
      await target().admin?.clearFaults()
    })

    const run = <A, E>(body: (control: TableControl["Type"]) => Effect.Effect<A, E>) =>
      Effect.flatMap(TableControl, body).pipe(
        Effect.provide(AwsTableControl.layer.pipe(Layer.provide(clientsLayer(target()))))
      )
    const table = (options: Parameters<Setup["createTable"]>[0] = { view: "NEW_AND_OLD_IMAGES", pitr: true }) =>
      Effect.promise(() => s.createTable(options))
    const bucket = () =>
      Effect.promise(async () => {
        const name = unique("exports")
        await s.createBucket(name)
        return name
      })
    const admin = () => target().admin!
    const advance = (ms: number) => Effect.promise(() => admin().advance(ms))
    const now = Effect.promise(() => admin().now())

    /** Describes an export until it is no longer in progress, moving the clock a minute at a time. */
    const finished = (control: TableControl["Type"], exportArn: string) =>
      Effect.gen(function* () {
        for (let attempt = 0; attempt < 30; attempt++) {
          const d = yield* control.describeExport(exportArn)
          if (d.status !== "IN_PROGRESS") return d
          yield* advance(MINUTE)
        }
        return assert.fail(`export ${exportArn} never finished`)
      })

    it.live("describes a table: key schema with types, stream view type, stream ARN", () =>
      run((control) =>
        Effect.gen(function* () {
          const t = (yield* table()) as CreatedTable
          const d = yield* control.describeTable(t.name)
          assert.strictEqual(d.tableName, t.name)
          assert.strictEqual(d.tableArn, t.arn)
          assert.strictEqual(d.status, "ACTIVE")
          assert.deepStrictEqual(d.keySchema, { hash: { name: "pk", type: "S" }, range: { name: "sk", type: "N" } })
          assert.strictEqual(d.streamViewType, "NEW_AND_OLD_IMAGES")
          assert.strictEqual(d.latestStreamArn, t.streamArn)
          assert.isString(d.latestStreamLabel)

          const plain = yield* table({ pitr: false })
          const without = yield* control.describeTable(plain.name)
          assert.isUndefined(without.streamViewType, "no stream, no view type")
        })
      ))

    it.live("describes point-in-time recovery and its window", () =>
      run((control) =>
        Effect.gen(function* () {
          const t = yield* table()
          yield* advance(10 * MINUTE)
          const on = yield* control.describeContinuousBackups(t.name)
          assert.isTrue(on.pitrEnabled)
          assert.isDefined(on.earliestRestorableMs)
          assert.isDefined(on.latestRestorableMs)
          assert.isAtMost(on.earliestRestorableMs!, on.latestRestorableMs!)
          assert.isAtMost(on.latestRestorableMs!, yield* now)
          const off = yield* control.describeContinuousBackups((yield* table({ pitr: false })).name)
          assert.isFalse(off.pitrEnabled)
          assert.isUndefined(off.earliestRestorableMs)
        })
      ))

    it.live("starts a full export, describes it to completion, lists it", () =>
      run((control) =>
        Effect.gen(function* () {
          const t = yield* table()
          const b = yield* bucket()
          yield* Effect.promise(() => s.put(t.name, { pk: { S: "a" }, sk: { N: "1" } }))
          yield* advance(MINUTE)
          const exportTimeMs = (yield* now) - 1000
          const started = yield* control.exportTableToPointInTime({
            tableArn: t.arn,
            s3Bucket: b,
            s3Prefix: "full",
            exportTimeMs,
            clientToken: unique("token")
          })
          assert.strictEqual(started.status, "IN_PROGRESS")
          assert.strictEqual(started.exportType, "FULL_EXPORT")
          assert.strictEqual(started.tableArn, t.arn)
          assert.strictEqual(started.s3Bucket, b)
          assert.strictEqual(started.s3Prefix, "full")
          assert.closeTo(
            started.exportTimeMs!,
            exportTimeMs,
            1000,
            "the export time asked for (AWS keeps whole seconds)"
          )
          assert.isString(started.clientToken)
          assert.isUndefined(started.exportManifest)

          const done: ExportDescription = yield* finished(control, started.exportArn)
          assert.strictEqual(done.status, "COMPLETED")
          assert.strictEqual(done.itemCount, 1)
          assert.match(done.exportManifest!, /^full\/AWSDynamoDB\/.+\/manifest-summary\.json$/)
          assert.isAtMost(done.startTimeMs!, done.endTimeMs!)

          const second = yield* control.exportTableToPointInTime({ tableArn: t.arn, s3Bucket: b })
          const listed = yield* control.listExports({ tableArn: t.arn })
          assert.sameMembers(listed.exports.map((e) => e.exportArn), [started.exportArn, second.exportArn])
          assert.isUndefined(listed.nextToken)
          const first = listed.exports.find((e) => e.exportArn === started.exportArn)!
          assert.deepStrictEqual(first, {
            exportArn: started.exportArn,
            status: "COMPLETED",
            exportType: "FULL_EXPORT"
          })

          const pages: Array<string> = []
          let token: string | undefined
          for (let page = 0;; page++) {
            if (page > 10) return assert.fail("ListExports never ended")
            const out = yield* control.listExports({
              tableArn: t.arn,
              maxResults: 1,
              ...(token === undefined ? {} : { nextToken: token })
            })
            assert.isAtMost(out.exports.length, 1)
            pages.push(...out.exports.map((e) => e.exportArn))
            token = out.nextToken
            if (token === undefined) break
          }
          assert.sameMembers(pages, [started.exportArn, second.exportArn])
        })
      ))

    it.live("starts an incremental export over a window", () =>
      run((control) =>
        Effect.gen(function* () {
          const t = yield* table()
          const b = yield* bucket()
          const fromMs = Math.ceil((yield* now) / 1000) * 1000
          yield* advance(MINUTE)
          yield* Effect.promise(() => s.put(t.name, { pk: { S: "a" }, sk: { N: "1" } }))
          yield* advance(20 * MINUTE)
          const toMs = fromMs + 16 * MINUTE
          const started = yield* control.exportTableToPointInTime({
            tableArn: t.arn,
            s3Bucket: b,
            incremental: { fromMs, toMs, viewType: "NEW_AND_OLD_IMAGES" }
          })
          assert.strictEqual(started.exportType, "INCREMENTAL_EXPORT")
          assert.strictEqual(started.incrementalFromMs, fromMs)
          assert.strictEqual(started.incrementalToMs, toMs)
          const done = yield* finished(control, started.exportArn)
          assert.strictEqual(done.status, "COMPLETED")
          assert.strictEqual(done.itemCount, 1)
        })
      ))

    it.live("makes an export idempotent by ClientToken; another request with it is an ExportConflictException", () =>
      run((control) =>
        Effect.gen(function* () {
          const t = yield* table()
          const b = yield* bucket()
          const clientToken = unique("token")
          const request = { tableArn: t.arn, s3Bucket: b, s3Prefix: "same", clientToken }
          const first = yield* control.exportTableToPointInTime(request)
          const again = yield* control.exportTableToPointInTime(request)
          assert.strictEqual(again.exportArn, first.exportArn)
          assert.strictEqual(again.clientToken, clientToken)
          const conflict = yield* Effect.flip(control.exportTableToPointInTime({ ...request, s3Prefix: "other" }))
          assert.strictEqual(conflict._tag, "InvalidRequest")
          assert.include(conflict, { code: "ExportConflictException", action: "dynamodb:ExportTableToPointInTime" })
        })
      ))

    it.live("fails with NotFound for an unknown table or export", () =>
      run((control) =>
        Effect.gen(function* () {
          const missing = unique("missing")
          const unknown = yield* Effect.flip(control.describeTable(missing))
          assert.strictEqual(unknown._tag, "NotFound")
          assert.include(unknown, { resource: "table", name: missing, action: "dynamodb:DescribeTable" })
          const backups = yield* Effect.flip(control.describeContinuousBackups(missing))
          assert.include(backups, { _tag: "NotFound", resource: "table", action: "dynamodb:DescribeContinuousBackups" })

          const t = yield* table()
          const exportArn = `${t.arn}/export/01700000000000-deadbeef`
          const described = yield* Effect.flip(control.describeExport(exportArn))
          assert.include(described, { _tag: "NotFound", resource: "export", name: exportArn })
          const tableArn = t.arn.replace(t.name, missing)
          const started = yield* Effect.flip(control.exportTableToPointInTime({ tableArn, s3Bucket: "any-bucket" }))
          assert.include(started, { _tag: "NotFound", resource: "table", name: tableArn })
        })
      ))

    it.live("fails with InvalidRequest when PITR is off, the time is outside its window, or a limit is wrong", () =>
      run((control) =>
        Effect.gen(function* () {
          const b = yield* bucket()
          const off = yield* table({ view: "NEW_IMAGE", pitr: false })
          const noPitr = yield* Effect.flip(control.exportTableToPointInTime({ tableArn: off.arn, s3Bucket: b }))
          assert.include(noPitr, { _tag: "InvalidRequest", code: "PointInTimeRecoveryUnavailableException" })

          const on = yield* table()
          const early = yield* Effect.flip(
            control.exportTableToPointInTime({
              tableArn: on.arn,
              s3Bucket: b,
              exportTimeMs: (yield* now) - 60 * MINUTE
            })
          )
          assert.include(early, { _tag: "InvalidRequest", code: "InvalidExportTimeException" })

          const limit = yield* Effect.flip(control.listExports({ maxResults: 26 }))
          assert.include(limit, { _tag: "InvalidRequest", code: "ValidationException", action: "dynamodb:ListExports" })
        })
      ))

    it.live("maps injected faults: throttling, 500, 503, AccessDenied", () =>
      run((control) =>
        Effect.gen(function* () {
          const t = yield* table()
          yield* Effect.promise(() => admin().addFault({ kind: "throttle", action: "DescribeTable", times: 1 }))
          const throttled = yield* Effect.flip(control.describeTable(t.name))
          assert.include(throttled, { _tag: "Throttled", action: "dynamodb:DescribeTable" })
          assert.strictEqual((yield* control.describeTable(t.name)).tableName, t.name)

          yield* Effect.promise(() => admin().addFault({ kind: "error500", action: "ListExports", times: 1 }))
          const failed = yield* Effect.flip(control.listExports({ tableArn: t.arn }))
          assert.include(failed, { _tag: "Unavailable", action: "dynamodb:ListExports" })

          yield* Effect.promise(() => admin().addFault({ kind: "error503", action: "DescribeContinuousBackups" }))
          const unavailable = yield* Effect.flip(control.describeContinuousBackups(t.name))
          assert.include(unavailable, { _tag: "Unavailable", action: "dynamodb:DescribeContinuousBackups" })
          yield* Effect.promise(() => admin().clearFaults())
          yield* Effect.promise(() => admin().addFault({ kind: "access-denied", action: "ListExports", times: 1 }))
          assert.include(yield* Effect.flip(control.listExports({ tableArn: t.arn })), {
            _tag: "AccessDenied",
            action: "dynamodb:ListExports"
          })
        })
      ))
  })
