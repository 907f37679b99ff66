/**
 * The `backstream` command line. Runs on Node (`npm start -- …`) and on Deno (`deno task start …`).
 */
import { Command, ValidationError } from "@effect/cli"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Console, Effect } from "effect"
import * as CheckCommand from "./CheckCommand.ts"
import * as Demo from "./Demo.ts"
import * as EmulatorCommand from "./EmulatorCommand.ts"
import * as ExportRead from "./ExportRead.ts"
import * as RunCommand from "./RunCommand.ts"
import * as Shutdown from "./Shutdown.ts"

// The pinned AWS SDK supports Node 20: its multi-line deprecation warning would only get in the way of the output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true"

/** Exit codes: 0 done, 1 the input is bad or unreadable (the message says which and why), 2 a usage error. */
export const ExitCode = { ok: 0, failed: 1, usage: 2 } as const

const exportCommand = Command.make("export").pipe(
  Command.withDescription("Work with DynamoDB exports (the files ExportTableToPointInTime writes to S3)."),
  Command.withSubcommands([ExportRead.command])
)

const backstream = Command.make("backstream", Demo.options, Demo.run).pipe(
  Command.withDescription(
    "Replicate a DynamoDB table: backfill from a point-in-time export, then follow DynamoDB Streams. "
      + "Without a command, runs the demo."
  ),
  Command.withSubcommands([exportCommand, EmulatorCommand.command, RunCommand.command, CheckCommand.command])
)

const cli = Command.run(backstream, { name: "backstream", version: "0.1.0" })

const exit = (code: number) =>
  Effect.sync(() => {
    process.exitCode = code
  })

process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(ExitCode.ok)
  throw error
})

cli(process.argv).pipe(
  Effect.catchIf(ValidationError.isValidationError, () => exit(ExitCode.usage)),
  Effect.catchTag(
    "UsageError",
    (error) => Console.error(`error: ${error.message}`).pipe(Effect.zipRight(exit(ExitCode.usage)))
  ),
  Effect.catchAll((error) => Console.error(`error: ${error.message}`).pipe(Effect.zipRight(exit(ExitCode.failed)))),
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain({ teardown: Shutdown.teardown })
)
