/**
 * The demo behind a bare `npm start`: the whole product on one machine. It starts the emulator in this process,
 * creates a table with point-in-time recovery and TTL, loads it, enables its stream, and replicates it into an
 * embedded PGlite database on disk — a backfill from a point-in-time export, then the stream — while a mixed workload
 * keeps writing.
 * Then it stops the writes, lets the engine catch up (restarted from the checkpoint kept in the replica), compares
 * the replica with the table item by item, and prints what happened and how to query the replica.
 *
 * The replica is in document mode: each row holds the item's key columns and the whole item, as DynamoDB JSON, in
 * `_backstream_item jsonb`, which compares exactly with what a Scan of the table returns.
 *
 * The engine signs with its own access key id ({@link ENGINE_ACCESS_KEY_ID}), the demo's writes and Scan with another
 * (`DemoWorkload.ACCESS_KEY_ID`). With `BACKSTREAM_DEMO_REQUEST_LOG=FILE` in the environment, the demo writes the
 * emulator's request log to FILE as it ends (`{"requests": [{action, accessKeyId, status, …}]}`, every request with
 * its caller), so that an audit sees which AWS actions the engine used.
 */
import { Options } from "@effect/cli"
import { Cause, Clock, Deferred, Duration, Effect, Exit, Fiber, Layer, Metric, Ref, Scope } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import * as AwsClients from "../aws/AwsClients.ts"
import * as AwsObjectStore from "../aws/AwsObjectStore.ts"
import * as AwsStreamSource from "../aws/AwsStreamSource.ts"
import * as AwsTableControl from "../aws/AwsTableControl.ts"
import * as Engine from "../../core/Engine.ts"
import { Sink } from "../../core/Sink.ts"
import * as SinkCheckpointStore from "../../core/SinkCheckpointStore.ts"
import { TableControl } from "../../core/TableControl.ts"
import * as FolderSpool from "../node/FolderSpool.ts"
import * as NodeGzip from "../node/NodeGzip.ts"
import * as NodeMd5 from "../node/NodeMd5.ts"
import * as PgliteSink from "../sinks/PgliteSink.ts"
import * as DemoReport from "./DemoReport.ts"
import * as DemoWorkload from "./DemoWorkload.ts"
import { DemoError } from "./DemoWorkload.ts"
import { UsageError } from "./ExportRead.ts"
import * as PgliteTemplate from "./PgliteTemplate.ts"
import * as Progress from "./Progress.ts"

export const options = {
  items: Options.integer("items").pipe(
    Options.withDefault(2000),
    Options.withDescription("demo: orders written to the table before replication starts (default 2000)")
  ),
  seconds: Options.float("seconds").pipe(
    Options.withDefault(5),
    Options.withDescription("demo: seconds the workload keeps writing once the engine follows the stream (default 5)")
  ),
  dir: Options.text("dir").pipe(
    Options.withDefault("backstream-demo"),
    Options.withDescription(
      "demo: the folder for the replica (PGlite) and the spool, emptied at each run (default ./backstream-demo)"
    )
  ),
  quiet: Options.boolean("quiet").pipe(Options.withDescription("demo: no progress on stderr, only the summary"))
}

export interface Args {
  readonly items: number
  readonly seconds: number
  readonly dir: string
  readonly quiet: boolean
}

/** The access key id of the engine's AWS clients (the emulator checks no signature). */
export const ENGINE_ACCESS_KEY_ID = "backstream-demo-engine"

/** The environment variable naming the file the emulator's request log is written to. */
export const REQUEST_LOG_ENV = "BACKSTREAM_DEMO_REQUEST_LOG"

/** Writes a second while the engine runs. */
const WRITES_PER_SECOND = 200
const MARKER = ".backstream-demo"

/** The demo's folder: created, or emptied when an earlier run made it; anything else is left alone. */
const prepareFolder = (dir: string) =>
  Effect.tryPromise({
    try: async () => {
      const root = path.resolve(dir)
      await fs.mkdir(root, { recursive: true })
      const entries = await fs.readdir(root)
      if (entries.length > 0 && !entries.includes(MARKER)) {
        throw new DemoError({
          reason: `${root} is not empty and was not made by the demo: pass --dir with a new or empty folder`
        })
      }
      const replica = path.join(root, "replica"), spool = path.join(root, "spool")
      await fs.rm(replica, { recursive: true, force: true })
      await fs.rm(spool, { recursive: true, force: true })
      await fs.writeFile(path.join(root, MARKER), "made by `backstream` (the demo); emptied at each run\n")
      await fs.writeFile(path.join(root, ".gitignore"), "*\n")
      return { root, replica, spool }
    },
    catch: (error) =>
      error instanceof DemoError ? error : new DemoError({ reason: `cannot prepare the folder ${dir}: ${error}` })
  })

const applied = (op: string) =>
  Effect.map(Metric.value(Metric.tagged(Engine.eventsApplied, "op", op)), (state) => state.count)

/** What the engine's progress showed, for the summary. */
interface Seen {
  exportArn?: string
  loadStartedMs?: number
  loadEndedMs?: number
  streamingStartedMs?: number
  maxLagMs: number
}

export const run = (args: Args) =>
  Effect.scoped(Effect.gen(function* () {
    if (!Number.isInteger(args.items) || args.items < 1) {
      return yield* new UsageError({ reason: "--items must be at least 1" })
    }
    if (!(args.seconds >= 0)) return yield* new UsageError({ reason: "--seconds must be 0 or more" })
    const tty = process.stderr.isTTY === true
    const startedMs = yield* Clock.currentTimeMillis
    // Closed before the summary, so that the progress is all written above it.
    const progressScope = yield* Scope.make()
    yield* Effect.addFinalizer(() => Scope.close(progressScope, Exit.void))
    const reporter = yield* Scope.extend(Progress.make({ quiet: args.quiet, logFormat: "text", tty }), progressScope)
    const folder = yield* prepareFolder(args.dir)
    // Opening the replica takes a few seconds (the first time, initdb): meanwhile the emulator starts and loads.
    const opening = yield* Effect.forkScoped(Effect.acquireRelease(
      Effect.tryPromise({
        try: () => PgliteTemplate.openNew(folder.replica),
        catch: (error) => new DemoError({ reason: `cannot open the replica in ${folder.replica}: ${error}` })
      }),
      (opened) => Effect.promise(() => opened.close().catch(() => undefined))
    ))

    // Loaded on demand, as by the `emulator` command: the other commands do not need dynalite.
    const [EmulatorInstance, NodeServer] = yield* Effect.promise(() =>
      Promise.all([import("../../emulator/EmulatorInstance.ts"), import("../../emulator/NodeServer.ts")])
    )
    const instance = yield* EmulatorInstance.make({ clock: "real", shardsPerStream: 4, exportDurationMs: 1000 })
    const requestLogFile = process.env[REQUEST_LOG_ENV]
    if (requestLogFile !== undefined && requestLogFile !== "") {
      yield* Effect.addFinalizer(() =>
        Effect.promise(() =>
          fs.writeFile(requestLogFile, JSON.stringify({ requests: instance.emulator.requestLog.entries }))
            .catch((error) => {
              process.stderr.write(`warning: the request log was not written to ${requestLogFile}: ${error}\n`)
            })
        )
      )
    }
    const server = yield* Effect.mapError(
      NodeServer.serve(instance.emulator, { port: 0 }),
      (error) => new DemoError({ reason: `cannot start the emulator: ${error.message}` })
    )
    // Time-driven work, as the `emulator` command's ticks do: exports complete (checked often, it is cheap), expired
    // TTL items are deleted (every two seconds: it scans the table). The lock lets the demo stop both between two
    // rounds, so that nothing changes the table once the writes have stopped.
    const tickLock = yield* Effect.makeSemaphore(1)
    let ticking = true
    const every = (interval: Duration.DurationInput, work: Effect.Effect<unknown, unknown>) =>
      Effect.suspend(() =>
        ticking ? tickLock.withPermits(1)(Effect.ignore(Effect.withClock(work, instance.clock))) : Effect.void
      ).pipe(Effect.delay(interval), Effect.forever, Effect.forkScoped)
    yield* every("200 millis", instance.exports.settle())
    yield* every("2 seconds", instance.tables.expireItems())
    const db = DemoWorkload.client(server.url)
    yield* DemoWorkload.createTable(db)
    yield* reporter.log(
      "info",
      `emulator on ${server.url} (in this process): table "${DemoWorkload.TABLE}" with point-in-time recovery and `
        + `TTL on "${DemoWorkload.TTL_ATTRIBUTE}", bucket "${DemoWorkload.BUCKET}" for its exports`
    )

    const live = tty && !args.quiet
    let lastDrawMs = 0
    const loadStartMs = yield* Clock.currentTimeMillis
    yield* DemoWorkload.load(db, args.items, (done) =>
      Effect.flatMap(Clock.currentTimeMillis, (nowMs) =>
        Effect.sync(() => {
          if (!live || (nowMs - lastDrawMs < 100 && done < args.items)) {
            return
          }
          lastDrawMs = nowMs
          process.stderr.write(`\r\x1b[2Kwriting orders: ${DemoReport.integer(done)}/${DemoReport.integer(args.items)}`)
        })))
    if (live) {
      process.stderr.write("\r\x1b[2K")
    }
    // Enabled after the load, like the stream of a table in use for a while: the export carries the items, the
    // stream the changes.
    yield* DemoWorkload.enableStream(db)
    yield* reporter.log(
      "info",
      `wrote ${DemoReport.integer(args.items)} orders (every attribute type) in ${
        DemoReport.seconds((yield* Clock.currentTimeMillis) - loadStartMs)
      }, then enabled the table's stream (NEW_AND_OLD_IMAGES, 4 shards)`
    )

    const database = yield* Fiber.join(opening)
    const sink = Layer.succeed(Sink, PgliteSink.fromDatabase(database, { dataDir: folder.replica, mode: "document" }))
    const context = yield* Layer.build(Layer.mergeAll(
      Layer.mergeAll(
        AwsTableControl.layer,
        AwsStreamSource.layer,
        AwsObjectStore.layer({ bucket: DemoWorkload.BUCKET })
      )
        .pipe(
          Layer.provide(AwsClients.layer({
            endpoint: server.url,
            region: "us-east-1",
            credentials: { accessKeyId: ENGINE_ACCESS_KEY_ID, secretAccessKey: "demo" }
          }))
        ),
      sink,
      SinkCheckpointStore.layer.pipe(Layer.provide(sink)),
      FolderSpool.layer({ folder: folder.spool })
    ))
    // The engine loads the checkpoint before it opens the sink, and a SQL sink reads its checkpoint only once open.
    yield* Effect.gen(function* () {
      const table = yield* (yield* TableControl).describeTable(DemoWorkload.TABLE)
      yield* (yield* Sink).open({ name: table.tableName, arn: table.tableArn, keySchema: table.keySchema })
    }).pipe(Effect.provide(context))
    yield* reporter.log(
      "info",
      `replica: PGlite database in ${folder.replica} (table public.${DemoWorkload.TABLE}, document mode)`
    )

    const seen: Seen = { maxLagMs: 0 }
    const streaming = yield* Deferred.make<void>()
    const onProgress = (progress: Engine.Progress) =>
      Effect.flatMap(Clock.currentTimeMillis, (nowMs) => {
        if (progress._tag === "ExportWaiting") {
          seen.exportArn = progress.exportArn
        }
        if (progress._tag === "ExportLoading") {
          seen.loadStartedMs ??= nowMs
          seen.loadEndedMs = nowMs
        }
        if (progress._tag === "Streaming") {
          seen.streamingStartedMs ??= nowMs
          seen.maxLagMs = Math.max(seen.maxLagMs, progress.lagMs)
        }
        return Effect.zipRight(
          progress._tag === "Streaming" ? Deferred.succeed(streaming, undefined) : Effect.void,
          reporter.onProgress(progress)
        )
      })
    const engineOptions: Engine.Options = {
      table: DemoWorkload.TABLE,
      export: { bucket: DemoWorkload.BUCKET, prefix: "backfill" },
      exportPoll: { min: "100 millis", max: "500 millis" },
      backfillBatch: 250,
      exportReading: { decompress: NodeGzip.decompress, md5: NodeMd5.md5 },
      batch: { maxEvents: 1000, maxDelay: "100 millis" },
      capture: { idleDelay: { min: "200 millis", max: "1 second" }, discoveryInterval: "1 second" },
      onProgress
    }

    const stop = yield* Ref.make(false)
    const writesStartedMs = yield* Clock.currentTimeMillis
    const writer = yield* Effect.fork(
      DemoWorkload.mixed(db, { items: args.items, perSecond: WRITES_PER_SECOND, stop })
    )
    const engine = yield* Effect.fork(Effect.provide(Engine.run(engineOptions), context))
    yield* reporter.log(
      "info",
      `engine started: export, backfill, then the stream; meanwhile a mixed workload writes, up to ${WRITES_PER_SECOND} `
        + `a second (puts, updates, deletes, transactions, items with an expired TTL)`
    )
    const endedEarly = Effect.raceFirst(Fiber.join(engine), Fiber.join(writer)).pipe(
      Effect.zipRight(new DemoError({ reason: "the engine or the writes stopped before they were told to" }))
    )
    yield* Effect.raceFirst(
      Deferred.await(streaming).pipe(
        Effect.timeoutFail({
          duration: "60 seconds",
          onTimeout: () =>
            new DemoError({ reason: "the engine did not reach the stream within 60 s" })
        }),
        Effect.zipRight(Effect.sleep(`${Math.round(args.seconds * 1000)} millis`))
      ),
      endedEarly
    )

    yield* Ref.set(stop, true)
    const writes = yield* Fiber.join(writer)
    ticking = false
    yield* tickLock.withPermits(1)(instance.tick)
    const writesEndedMs = yield* Clock.currentTimeMillis
    yield* reporter.log(
      "info",
      `writes stopped: ${DemoReport.integer(DemoWorkload.total(writes))} in ${
        DemoReport.seconds(writesEndedMs - writesStartedMs)
      }`
    )
    const stopped = yield* Fiber.interrupt(engine)
    if (Exit.isFailure(stopped) && !Cause.isInterruptedOnly(stopped.cause)) {
      yield* stopped
    }
    yield* reporter.log("info", "engine restarted from its checkpoint in the replica, until it has caught up")
    const caughtUp = yield* Engine.run({ ...engineOptions, until: "caught-up" }).pipe(
      Effect.provide(context),
      Effect.timeoutFail({
        duration: "60 seconds",
        onTimeout: () =>
          new DemoError({ reason: "the engine did not catch up within 60 s" })
      })
    )
    const caughtUpMs = yield* Clock.currentTimeMillis

    const table = yield* DemoWorkload.scan(db)
    const diff = DemoReport.differences(table, yield* DemoReport.readReplica(database))
    const [r, c, u, d] = yield* Effect.all([applied("r"), applied("c"), applied("u"), applied("d")])
    const relative = path.relative(process.cwd(), folder.replica)
    const summary = DemoReport.render({
      items: args.items,
      tableItems: table.size,
      differences: diff,
      writes,
      writesMs: writesEndedMs - writesStartedMs,
      exportArn: caughtUp.exportArn ?? seen.exportArn ?? "(none)",
      applied: { r, c, u, d },
      skipped: (yield* Metric.value(Engine.eventsSkipped)).count,
      loadMs: (seen.loadEndedMs ?? 0) - (seen.loadStartedMs ?? 0),
      streamMs: caughtUpMs - (seen.streamingStartedMs ?? caughtUpMs),
      maxLagMs: seen.maxLagMs,
      catchUpMs: caughtUpMs - writesEndedMs,
      replica: relative !== "" && !relative.startsWith("..") && !path.isAbsolute(relative)
        ? `./${relative}`
        : folder.replica,
      tookMs: caughtUpMs - startedMs
    })
    yield* Scope.close(progressScope, Exit.void)
    yield* Effect.sync(() =>
      process.stdout.write(summary)
    )
    if (diff.length > 0) {
      return yield* new DemoError({
        reason: `the replica differs from the table at ${diff.length} keys: ${diff.slice(0, 20).join(", ")}${
          diff.length > 20 ? ", …" : ""
        }`
      })
    }
  }))
