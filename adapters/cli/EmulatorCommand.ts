/**
 * `emulator`: serves DynamoDB, DynamoDB Streams, PITR exports and S3 on one local endpoint until stopped.
 */
import { Command, Options } from "@effect/cli"
import { Console, Effect } from "effect"

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

export const command = Command.make(
  "emulator",
  { host, port, clock, shards, exportSeconds },
  (args) =>
    Effect.gen(function* () {
      // Loaded on demand: the emulator brings dynalite and LevelDB, which the other commands do not need.
      const [EmulatorInstance, NodeServer] = yield* Effect.promise(() =>
        Promise.all([import("../../emulator/EmulatorInstance.ts"), import("../../emulator/NodeServer.ts")])
      )
      const instance = yield* EmulatorInstance.make({
        clock: args.clock,
        shardsPerStream: args.shards,
        exportDurationMs: args.exportSeconds * 1000
      })
      const server = yield* NodeServer.serve(instance.emulator, { host: args.host, port: args.port })
      yield* Console.log(
        [
          `backstream emulator on ${server.url} (DynamoDB, DynamoDB Streams, exports, S3; ${args.clock} clock)`,
          `  aws --endpoint-url ${server.url} dynamodb list-tables`,
          `  admin: ${server.url}/_backstream/health`
        ].join("\n")
      )
      if (args.clock === "real") {
        yield* instance.tick.pipe(Effect.delay("1 second"), Effect.forever, Effect.forkScoped)
      }
      return yield* Effect.never
    }).pipe(Effect.scoped)
).pipe(
  Command.withDescription("Serve an AWS-compatible DynamoDB + Streams + PITR exports + S3 endpoint for local work.")
)
