/**
 * `check`: calls each AWS action replication needs once (core/Preflight.ts) and prints, for each requirement, whether
 * it holds and what to do when it does not. Exit code 1 when anything failed.
 */
import { Command, Options } from "@effect/cli"
import { Console, Data, Effect, Layer, Option } from "effect"
import * as Preflight from "../../core/Preflight.ts"
import * as SourceOptions from "./SourceOptions.ts"

export class CheckFailed extends Data.TaggedError("CheckFailed")<{ readonly failed: number; readonly total: number }> {
  override get message() {
    return `${this.failed} of ${this.total} requirements failed: see what to do above`
  }
}

const format = SourceOptions.choice("format", ["text", "json"], "text: a table for people; json: one JSON document")
  .pipe(Options.withDefault("text" as const))

const LABEL = { pass: "ok", fail: "FAIL", skip: "skip" } as const

/** The results as a table, one line each, with what to do below each failure. */
export const render = (results: ReadonlyArray<Preflight.Result>): string => {
  const requirementWidth = Math.max(0, ...results.map((result) => result.requirement.length))
  const actionWidth = Math.max(0, ...results.map((result) => (result.action ?? "").length))
  return results.map((result) => {
    const line = [
      LABEL[result.status].padEnd(4),
      result.requirement.padEnd(requirementWidth),
      (result.action ?? "").padEnd(actionWidth),
      result.detail
    ].join("  ")
    return result.fix === undefined ? line : `${line}\n${" ".repeat(6)}→ ${result.fix}`
  }).join("\n")
}

export const command = Command.make(
  "check",
  { ...SourceOptions.source, format },
  (args) =>
    Effect.gen(function* () {
      yield* SourceOptions.validate(args)
      const results = yield* Preflight.run({
        table: args.table,
        backfill: args.backfill,
        ...Option.match(args.streamArn, { onNone: () => ({}), onSome: (streamArn) => ({ streamArn }) }),
        ...Option.match(args.exportBucket, { onNone: () => ({}), onSome: (exportBucket) => ({ exportBucket }) }),
        ...Option.match(args.exportPrefix, { onNone: () => ({}), onSome: (exportPrefix) => ({ exportPrefix }) })
      }).pipe(
        Effect.provide(SourceOptions.ports(args).pipe(Layer.provide(SourceOptions.awsClients(args))))
      )
      const counts = Preflight.counts(results)
      if (args.format === "json") {
        yield* Console.log(JSON.stringify({ table: args.table, ok: counts.fail === 0, counts, results }, null, 2))
      } else {
        yield* Console.log(
          [
            `backstream check: ${SourceOptions.describe(args)}`,
            render(results),
            `${counts.pass} ok, ${counts.fail} failed, ${counts.skip} not checked`
          ].join("\n")
        )
      }
      if (counts.fail > 0) return yield* new CheckFailed({ failed: counts.fail, total: results.length })
    })
).pipe(
  Command.withDescription(
    "Check that the table, its stream, point-in-time recovery and the export bucket are set up for replication and "
      + "that the credentials may call each AWS action it uses (one harmless call each: nothing is written, no export "
      + "is started). Exit code 0 when everything holds, 1 otherwise."
  )
)
