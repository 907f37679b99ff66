/**
 * `run`: replicates a table into a sink with the engine (core/Engine.ts): backfill from a point-in-time export, then
 * the stream, checkpointed. Stops when caught up (`--until caught-up`) or on SIGINT/SIGTERM, after the batch in
 * flight is written and checkpointed (exit code 130 or 143).
 */
import { Command, Options } from "@effect/cli"
import { Config, Data, Effect, Either, Layer, Option } from "effect"
import * as path from "node:path"
import * as AwsObjectStore from "../aws/AwsObjectStore.ts"
import * as Engine from "../../core/Engine.ts"
import * as Envelope from "../../core/Envelope.ts"
import * as ObjectStoreCheckpointStore from "../../core/ObjectStoreCheckpointStore.ts"
import * as ObjectStoreSpool from "../../core/ObjectStoreSpool.ts"
import * as SinkCheckpointStore from "../../core/SinkCheckpointStore.ts"
import { TableControl } from "../../core/TableControl.ts"
import * as DurableFile from "../node/DurableFile.ts"
import * as FileCheckpointStore from "../node/FileCheckpointStore.ts"
import * as FolderSpool from "../node/FolderSpool.ts"
import * as NodeGzip from "../node/NodeGzip.ts"
import * as NodeMd5 from "../node/NodeMd5.ts"
import * as JsonlSink from "../sinks/JsonlSink.ts"
import * as PgliteSink from "../sinks/PgliteSink.ts"
import * as PostgresSink from "../sinks/PostgresSink.ts"
import type * as SqlOptions from "../sinks/SqlOptions.ts"
import { UsageError } from "./ExportRead.ts"
import * as MetricsServer from "../node/MetricsServer.ts"
import * as Progress from "./Progress.ts"
import * as Shutdown from "./Shutdown.ts"
import * as SourceOptions from "./SourceOptions.ts"
import * as Targets from "./Targets.ts"

/** A run that stopped on an error; the message is the cause's, passwords scrubbed. */
export class RunFailed extends Data.TaggedError("RunFailed")<{ readonly reason: string }> {
  override get message() {
    return this.reason
  }
}

const sink = SourceOptions.optionalText(
  "sink",
  "where the changes go: jsonl:- (standard output), jsonl:PATH, postgres://user:password@host:port/database or "
    + "pglite:DIR; default pglite:./backstream-data/<table>"
)
const sinkTable = SourceOptions.optionalText(
  "sink-table",
  "SQL sinks: the table, name or schema.name; default: the source table's name in the public schema"
)
const sinkMode = SourceOptions.choice(
  "sink-mode",
  ["columns", "document"],
  "SQL sinks: a column per top-level attribute, or the whole item in one jsonb column (default columns)"
).pipe(Options.optional)
const deletes = SourceOptions.choice(
  "deletes",
  ["hard", "soft"],
  "SQL sinks: a delete removes the row (hard), or keeps it marked _backstream_deleted (soft); default hard"
).pipe(Options.optional)
const checkpoint = SourceOptions.optionalText(
  "checkpoint",
  "where the position is saved: file:PATH, s3://bucket/key, or sink (in the SQL sink, with the data); default: "
    + "sink for SQL sinks, PATH.checkpoint.json beside a jsonl file, ./backstream-data/<table>.checkpoint.json for "
    + "jsonl:-"
)
const spool = SourceOptions.optionalText(
  "spool",
  "where stream records wait while the export runs: dir:PATH or s3://bucket/prefix; default "
    + "dir:./backstream-spool/<table>"
)
const format = SourceOptions.choice(
  "format",
  ["dynamodb", "plain"],
  "jsonl sinks: values as DynamoDB JSON (lossless, default) or as plain JSON"
).pipe(Options.optional)
const until = SourceOptions.choice(
  "until",
  ["caught-up", "forever"],
  "forever: follow the stream until stopped (SIGINT/SIGTERM); caught-up: stop once the stream is read up to the "
    + "time the run started"
).pipe(Options.withDefault("forever" as const))
const exportArn = SourceOptions.optionalText(
  "export-arn",
  "use this export of the table (completed or running) instead of finding or starting one"
)

const quiet = Options.boolean("quiet").pipe(
  Options.withFallbackConfig(Config.boolean(SourceOptions.envName("quiet"))),
  Options.withDescription(`print errors only (env ${SourceOptions.envName("quiet")})`)
)
const logFormat = SourceOptions.choice(
  "log-format",
  ["text", "json"],
  "text: progress bars on a terminal, a line every few seconds otherwise; json: one JSON object a line"
).pipe(Options.withDefault("text" as const))
const metricsPort = Options.integer("metrics-port").pipe(
  Options.withFallbackConfig(Config.integer(SourceOptions.envName("metrics-port"))),
  Options.withDescription(
    `serve Prometheus metrics at http://127.0.0.1:PORT/metrics and /healthz (env ${
      SourceOptions.envName("metrics-port")
    })`
  ),
  Options.optional
)
const metricsHost = SourceOptions.optionalText(
  "metrics-host",
  "the address the metrics endpoint binds (default 127.0.0.1; 0.0.0.0 exposes it to the network)"
)

const options = {
  ...SourceOptions.source,
  quiet,
  logFormat,
  metricsPort,
  metricsHost,
  exportArn,
  sink,
  sinkTable,
  sinkMode,
  deletes,
  checkpoint,
  spool,
  format,
  until
}

type Args = Command.Command.ParseConfig<typeof options>

interface Plan {
  readonly sink: Targets.SinkTarget
  readonly checkpoint: Targets.CheckpointTarget
  readonly spool: Targets.SpoolTarget
  readonly sql: SqlOptions.SqlOptions
  readonly format: Envelope.Format
}

const fromEither = <A>(either: Either.Either<A, UsageError>) =>
  Either.match(either, { onLeft: Effect.fail, onRight: Effect.succeed })

/** Checks the flags together and fills in the defaults. */
const plan = (args: Args): Effect.Effect<Plan, UsageError> =>
  Effect.gen(function* () {
    yield* SourceOptions.validate(args)
    const sink = Option.isSome(args.sink)
      ? yield* fromEither(Targets.parseSink(args.sink.value))
      : Targets.defaultSink(args.table)
    const checkpoint = Option.isSome(args.checkpoint)
      ? yield* fromEither(Targets.parseCheckpoint(args.checkpoint.value, sink))
      : Targets.defaultCheckpoint(sink, args.table)
    const spool = Option.isSome(args.spool)
      ? yield* fromEither(Targets.parseSpool(args.spool.value))
      : Targets.defaultSpool(args.table)
    if (sink._tag === "Jsonl") {
      for (
        const [flag, value] of [["--sink-table", args.sinkTable], ["--sink-mode", args.sinkMode], [
          "--deletes",
          args.deletes
        ]] as const
      ) {
        if (Option.isSome(value)) {
          return yield* new UsageError({
            reason: `${flag} is for SQL sinks (postgres://…, pglite:DIR), not ${Targets.describeSink(sink)}`
          })
        }
      }
    } else if (Option.isSome(args.format)) {
      return yield* new UsageError({ reason: `--format is for jsonl sinks, not ${Targets.describeSink(sink)}` })
    }
    if (Option.isSome(args.exportArn)) {
      if (Option.isNone(args.exportBucket)) {
        return yield* new UsageError({ reason: "--export-arn needs --export-bucket: the bucket the export is in" })
      }
      if (args.backfill === "never") {
        return yield* new UsageError({ reason: "--export-arn is for a backfill: leave out --backfill never" })
      }
    }
    const sql: SqlOptions.SqlOptions = {
      ...Option.match(args.sinkTable, { onNone: () => ({}), onSome: (table) => ({ table }) }),
      ...Option.match(args.sinkMode, { onNone: () => ({}), onSome: (mode) => ({ mode }) }),
      ...Option.match(args.deletes, { onNone: () => ({}), onSome: (deletes) => ({ deletes }) })
    }
    return { sink, checkpoint, spool, sql, format: Option.getOrElse(args.format, () => "dynamodb" as const) }
  })

const sinkLayer = (plan: Plan) => {
  const target = plan.sink
  switch (target._tag) {
    case "Jsonl":
      return JsonlSink.layer({ path: target.path, format: plan.format })
    case "Postgres":
      return PostgresSink.layer({ url: target.url, ...plan.sql })
    case "Pglite":
      return PgliteSink.layer({ dataDir: target.dataDir, ...plan.sql })
  }
}

const checkpointLayer = (target: Targets.CheckpointTarget) => {
  switch (target._tag) {
    case "File":
      return FileCheckpointStore.layer({ file: target.path })
    case "S3":
      return ObjectStoreCheckpointStore.layer({ key: target.key, description: Targets.describeCheckpoint(target) })
        .pipe(
          Layer.provide(AwsObjectStore.layer({ bucket: target.bucket }))
        )
    case "Sink":
      return SinkCheckpointStore.layer
  }
}

const spoolLayer = (target: Targets.SpoolTarget) =>
  target._tag === "Dir"
    ? FolderSpool.layer({ folder: target.path })
    : ObjectStoreSpool.layer({ prefix: target.prefix, description: Targets.describeSpool(target) }).pipe(
      Layer.provide(AwsObjectStore.layer({ bucket: target.bucket }))
    )

/** Folders that must exist before the sink opens (a jsonl file's, a PGlite database's parent). */
const prepareFolders = (plan: Plan) => {
  const folder = plan.sink._tag === "Jsonl"
    ? plan.sink.path === "-" ? undefined : path.dirname(path.resolve(plan.sink.path))
    : plan.sink._tag === "Pglite"
    ? path.dirname(path.resolve(plan.sink.dataDir))
    : undefined
  return folder === undefined ? Effect.void : DurableFile.ensureDirectory(folder)
}

/** What was applied so far, for the message of a stop: the engine's progress, counted. */
const counting = (report: (progress: Engine.Progress) => Effect.Effect<void>) => {
  const counts = { items: 0, itemsTotal: 0, streamEvents: 0 }
  const onProgress = (progress: Engine.Progress): Effect.Effect<void> => {
    if (progress._tag === "ExportLoading") {
      counts.items = progress.items
      counts.itemsTotal = progress.itemsTotal
    } else if (progress._tag === "SpoolDraining" || progress._tag === "Streaming") {
      counts.streamEvents = progress.events
    }
    return report(progress)
  }
  return { onProgress, counts }
}

const describeSummary = (summary: Engine.Summary, until: "caught-up" | "forever", where: string) => {
  const parts = [
    summary.snapshotEvents > 0
      ? `${summary.snapshotEvents} items from the export${
        summary.exportArn === undefined ? "" : ` ${summary.exportArn}`
      }`
      : undefined,
    `${summary.streamEvents} stream changes`
    + (summary.skippedEvents > 0 ? ` (${summary.skippedEvents} older than the export skipped)` : "")
  ].filter((part) => part !== undefined)
  return `${until === "caught-up" ? "caught up" : "the stream ended"}: ${parts.join(", ")} applied in this run ${where}`
}

/** The message of any failure, passwords scrubbed: it says what is wrong and what to do. */
const failed = (secrets: ReadonlyArray<string>) => (error: { readonly message: string }) =>
  new RunFailed({ reason: Targets.scrub(error.message, secrets) })

export const command = Command.make("run", options, (args) =>
  Effect.scoped(Effect.gen(function* () {
    const planned = yield* plan(args)
    const secrets = planned.sink._tag === "Postgres" ? Targets.secretsOf(planned.sink.url) : []
    yield* Shutdown.install()
    const where = `into ${Targets.describeSink(planned.sink)} (checkpoint ${
      Targets.describeCheckpoint(planned.checkpoint)
    })`

    const reporter = yield* Progress.make({
      quiet: args.quiet,
      logFormat: args.logFormat,
      tty: process.stderr.isTTY === true
    })
    const progress = counting(reporter.onProgress)
    yield* reporter.log(
      "info",
      `backstream run: ${SourceOptions.describe(args)} ${where}, spool ${Targets.describeSpool(planned.spool)}`
    )
    if (Option.isSome(args.metricsPort)) {
      const metrics = yield* MetricsServer.serve({
        port: args.metricsPort.value,
        ...Option.match(args.metricsHost, { onNone: () => ({}), onSome: (host) => ({ host }) })
      }).pipe(Effect.mapError((error) => new UsageError({ reason: `--metrics-port: ${error.message}` })))
      yield* reporter.log("info", `metrics at ${metrics.url}/metrics`)
    }
    const engineOptions: Engine.Options = {
      table: args.table,
      backfill: args.backfill,
      until: args.until,
      onProgress: progress.onProgress,
      exportReading: { decompress: NodeGzip.decompress, md5: NodeMd5.md5 },
      ...Option.match(args.streamArn, { onNone: () => ({}), onSome: (streamArn) => ({ streamArn }) }),
      ...Option.match(args.exportBucket, {
        onNone: () => ({}),
        onSome: (bucket) => ({
          export: {
            bucket,
            ...Option.match(args.exportPrefix, { onNone: () => ({}), onSome: (prefix) => ({ prefix }) }),
            ...Option.match(args.exportArn, { onNone: () => ({}), onSome: (exportArn) => ({ exportArn }) })
          }
        })
      })
    }
    // The table is looked up before anything local is made: a wrong name or missing credentials leave no trace.
    const replicate = Effect.gen(function* () {
      yield* Effect.flatMap(TableControl, (control) => control.describeTable(args.table))
      yield* prepareFolders(planned)
      return yield* Effect.provide(
        Engine.run(engineOptions),
        Layer.mergeAll(checkpointLayer(planned.checkpoint), spoolLayer(planned.spool)).pipe(
          Layer.provideMerge(sinkLayer(planned))
        )
      )
    })
    const summary = yield* replicate.pipe(
      Effect.provide(SourceOptions.ports(args)),
      Effect.provide(SourceOptions.awsClients(args)),
      Effect.catchAllDefect((defect) =>
        Effect.fail({ message: `unexpected failure: ${defect instanceof Error ? defect.message : String(defect)}` })
      ),
      Effect.mapError(failed(secrets)),
      Effect.onInterrupt(() => {
        const signal = Shutdown.signal()
        const applied = `${progress.counts.streamEvents} stream changes`
          + (progress.counts.itemsTotal > 0
            ? `, ${progress.counts.items} of ${progress.counts.itemsTotal} export items`
            : "")
        return reporter.log(
          "info",
          `stopped${signal === undefined ? "" : ` (${signal})`}: ${applied} applied ${where}; the checkpoint covers `
            + "them: run again to resume"
        )
      })
    )
    yield* reporter.log("info", describeSummary(summary, args.until, where))
  }))).pipe(
    Command.withDescription(
      "Replicate a DynamoDB table into a sink: backfill from a point-in-time export, then follow DynamoDB Streams, "
        + "with checkpoints (a restart resumes, nothing lost nor repeated). Stops when caught up (--until caught-up) "
        + "or on SIGINT/SIGTERM after the batch in flight (exit code 130/143). Exit code 1 on an error (the message "
        + "says what to fix), 2 on a usage error."
    )
  )
