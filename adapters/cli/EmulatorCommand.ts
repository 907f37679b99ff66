/**
 * `emulator`: serves DynamoDB, DynamoDB Streams, PITR exports and S3 on one local endpoint until stopped. With
 * `--seed` it starts with tables, items and buckets from a file; with `--data-dir` its state outlives a restart.
 */
import { Command, Options } from "@effect/cli"
import { Console, Data, Duration, Effect, Either, Option } from "effect"
import * as path from "node:path"
import * as DurableFile from "../node/DurableFile.ts"

const host = Options.text("host").pipe(
  Options.withDefault("127.0.0.1"),
  Options.withDescription("the address to bind (keep 127.0.0.1 unless other machines must reach it)")
)
const port = Options.integer("port").pipe(
  Options.withDefault(4566),
  Options.withDescription("the port (0: any free one)")
)
const clock = Options.choice("clock", ["real", "virtual"]).pipe(
  Options.withDefault("real" as const),
  Options.withDescription("virtual: time moves only through POST /_backstream/clock/advance")
)
const shards = Options.integer("shards").pipe(Options.withDefault(2), Options.withDescription("shards per new stream"))
const exportSeconds = Options.integer("export-seconds").pipe(
  Options.withDefault(1),
  Options.withDescription("how long an export stays IN_PROGRESS")
)
const seed = Options.file("seed", { exists: "yes" }).pipe(
  Options.withDescription(
    "a JSON file of tables and buckets to create at start: "
      + `{"tables": [{ CreateTable's fields (TableName, KeySchema, AttributeDefinitions, StreamSpecification, …), `
      + `"PointInTimeRecovery": true, "TimeToLive": {"AttributeName": "…"}, "Items": [DynamoDB JSON items] }], `
      + `"buckets": ["name"]}. The seed writes go through the emulator as requests do, so streams and PITR record `
      + "them. Skipped when --data-dir holds a saved state."
  ),
  Options.optional
)
const dataDir = Options.directory("data-dir").pipe(
  Options.withDescription(
    "keep the emulator's state in this directory (created if missing): restored at start, saved every few seconds "
      + "after a change and on SIGINT/SIGTERM, atomically. Tables, items, PITR history, streams, exports, S3 objects "
      + "and the time of a virtual clock survive a restart; shard iterators do not (get new ones)."
  ),
  Options.optional
)

const STATE_FILE = "state.json"
const SAVE_EVERY_MS = 2000

class EmulatorStateError extends Data.TaggedError("EmulatorStateError")<{ readonly reason: string }> {
  override get message() {
    return this.reason
  }
}

export const command = Command.make(
  "emulator",
  { host, port, clock, shards, exportSeconds, seed, dataDir },
  (args) =>
    Effect.gen(function* () {
      // Loaded on demand: the emulator brings dynalite and LevelDB, which the other commands do not need.
      const [EmulatorInstance, NodeServer, Persistence, Seed] = yield* Effect.promise(() =>
        Promise.all([
          import("../../emulator/EmulatorInstance.ts"),
          import("../../emulator/NodeServer.ts"),
          import("../../emulator/Persistence.ts"),
          import("../../emulator/Seed.ts")
        ])
      )
      const config = { clock: args.clock, shardsPerStream: args.shards, exportDurationMs: args.exportSeconds * 1000 }
      const stateFile = Option.map(args.dataDir, (directory) => path.join(directory, STATE_FILE))
      const notes: Array<string> = []

      let saved: import("../../emulator/Persistence.ts").Document | undefined
      if (Option.isSome(stateFile)) {
        yield* DurableFile.ensureDirectory(path.dirname(stateFile.value))
        const text = yield* DurableFile.readText(stateFile.value)
        if (text !== undefined) {
          const decoded = Persistence.decode(text)
          if (Either.isLeft(decoded)) {
            return yield* new EmulatorStateError({
              reason: `cannot restore the emulator's state from ${stateFile.value}: ${decoded.left.reason} `
                + "(move the file away to start empty)"
            })
          }
          saved = decoded.right
        }
      }
      let plan: import("../../emulator/Seed.ts").Seed | undefined
      if (Option.isSome(args.seed) && saved === undefined) {
        const text = yield* DurableFile.readText(args.seed.value)
        plan = yield* Seed.parse(text ?? "", args.seed.value)
      }

      const instance = saved === undefined
        ? yield* EmulatorInstance.make(config)
        : yield* Effect.mapError(EmulatorInstance.fromSnapshot(saved, config), (error) =>
          new EmulatorStateError({
            reason: `cannot restore the emulator's state from ${Option.getOrThrow(stateFile)}: ${error.reason} `
              + "(move the file away to start empty)"
          }))
      if (saved !== undefined) {
        notes.push(
          `  state restored from ${Option.getOrThrow(stateFile)} (saved at ${new Date(saved.savedAtMs).toISOString()})`
        )
        const behind = saved.clock.nowMs - instance.clock.unsafeCurrentTimeMillis()
        if (behind > 0) {
          notes.push(`  note: the saved state's clock was ${behind} ms ahead of this ${args.clock} clock`)
        }
        if (Option.isSome(args.seed)) notes.push(`  seed ${args.seed.value} skipped: the state was restored`)
      }
      const changed = Persistence.watchChanges(instance)
      if (plan !== undefined && Option.isSome(args.seed)) {
        const summary = yield* Seed.apply(instance.emulator, plan, args.seed.value)
        notes.push(
          `  seeded ${summary.tables} table(s), ${summary.items} item(s), ${summary.buckets} bucket(s) from ${args.seed.value}`
        )
      }

      if (Option.isSome(stateFile)) {
        const save = Persistence.snapshot(instance).pipe(
          Effect.mapError((error) => new EmulatorStateError({ reason: error.message })),
          Effect.flatMap((document) => DurableFile.writeAtomically(stateFile.value, Persistence.encode(document))),
          Effect.uninterruptible
        )
        // Added before the server starts, so it runs after the server has stopped: nothing changes while it saves.
        yield* Effect.addFinalizer(() =>
          save.pipe(
            Effect.zipRight(Console.log(`state saved to ${stateFile.value}`)),
            Effect.catchAll((error) =>
              Console.error(`error: the emulator's state was not saved: ${error.message}`).pipe(
                Effect.zipRight(Effect.sync(() => process.exit(1)))
              )
            )
          )
        )
        notes.push(`  state kept in ${stateFile.value}`)
        // Saves a few seconds after a change; a state that takes long to save is saved less often (at most a tenth
        // of the time goes to saving).
        yield* Effect.gen(function* () {
          let owed = false, pauseMs = SAVE_EVERY_MS
          for (;;) {
            yield* Effect.sleep(pauseMs)
            if (!changed() && !owed) continue
            const [took, saved] = yield* Effect.timed(Effect.either(save))
            owed = Either.isLeft(saved)
            if (Either.isLeft(saved)) {
              yield* Console.error(`warning: the emulator's state was not saved (retrying): ${saved.left.message}`)
            }
            pauseMs = Math.max(SAVE_EVERY_MS, 10 * Duration.toMillis(took))
          }
        }).pipe(Effect.forkScoped)
      }

      const server = yield* NodeServer.serve(instance.emulator, { host: args.host, port: args.port })
      yield* Console.log(
        [
          `backstream emulator on ${server.url} (DynamoDB, DynamoDB Streams, exports, S3; ${args.clock} clock)`,
          `  aws --endpoint-url ${server.url} dynamodb list-tables`,
          `  admin: ${server.url}/_backstream/health`,
          ...notes
        ].join("\n")
      )
      if (args.clock === "real") {
        yield* instance.tick.pipe(Effect.delay("1 second"), Effect.forever, Effect.forkScoped)
      }
      return yield* Effect.never
    }).pipe(Effect.scoped)
).pipe(
  Command.withDescription(
    "Serve an AWS-compatible DynamoDB + Streams + PITR exports + S3 endpoint for local work. "
      + "--seed creates tables, items and buckets at start; --data-dir keeps the state across restarts."
  )
)
