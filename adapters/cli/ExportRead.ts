/**
 * `export read <path>`: prints every item or change of a local export as JSON-lines change events, verified.
 */
import { Args, Command, Options } from "@effect/cli"
import { Chunk, Console, Data, Effect, Option, Stream } from "effect"
import type { ChangeEvent } from "../../core/ChangeEvent.ts"
import * as Envelope from "../../core/Envelope.ts"
import * as ExportReader from "../../core/ExportReader.ts"
import * as ItemKey from "../../core/ItemKey.ts"
import * as LocalExport from "../node/LocalExport.ts"
import * as LocalObjectStore from "../node/LocalObjectStore.ts"
import * as NodeGzip from "../node/NodeGzip.ts"
import * as NodeMd5 from "../node/NodeMd5.ts"
import * as Stdout from "../node/Stdout.ts"

export class UsageError extends Data.TaggedError("UsageError")<{ readonly reason: string }> {
  override get message() {
    return this.reason
  }
}

const KEY_PART = /^([^,:]+)(?::(S|N|B))?$/

/** Parses `--key pk[,sk]` (each name optionally typed: `pk:S,sk:N`). */
export const parseKeySchema = (text: string): Effect.Effect<ItemKey.KeySchema, UsageError> => {
  const parts = text.split(",").map((part) => KEY_PART.exec(part.trim()))
  if (parts.length > 2 || parts.some((part) => part === null)) {
    return Effect.fail(
      new UsageError({ reason: `--key ${JSON.stringify(text)}: expected HASH[,RANGE], e.g. --key pk,sk or pk:S,sk:N` })
    )
  }
  const attribute = (match: RegExpExecArray): ItemKey.KeyAttribute =>
    match[2] === undefined ? { name: match[1]! } : { name: match[1]!, type: match[2] as ItemKey.KeyType }
  const [hash, range] = parts as Array<RegExpExecArray>
  return Effect.succeed(
    range === undefined ? { hash: attribute(hash!) } : { hash: attribute(hash!), range: attribute(range) }
  )
}

export interface ReadSummary {
  readonly exportArn: string
  readonly type: string
  readonly files: number
  readonly events: number
  readonly ops: Readonly<Record<ChangeEvent["op"], number>>
}

/** Reads a local export through the core reader (Node's zlib and MD5), handing each chunk of events to `onChunk`. */
export const readLocal = <E>(
  path: string,
  options: { readonly keySchema?: ItemKey.KeySchema; readonly concurrency?: number },
  onChunk: (events: Chunk.Chunk<ChangeEvent>) => Effect.Effect<void, E>
) =>
  Effect.gen(function* () {
    const local = yield* LocalExport.locate(path)
    const readOptions: ExportReader.ReadOptions = {
      ...options,
      decompress: NodeGzip.decompress,
      md5: NodeMd5.md5
    }
    return yield* Effect.gen(function* () {
      const manifest = yield* ExportReader.openManifest(local.summaryKey, readOptions)
      const ops = { r: 0, c: 0, u: 0, d: 0 }
      yield* ExportReader.readFiles(manifest, readOptions).pipe(
        Stream.runForEachChunk((events) => {
          for (const event of events) ops[event.op]++
          return onChunk(events)
        })
      )
      const summary: ReadSummary = {
        exportArn: manifest.summary.exportArn,
        type: manifest.summary.type,
        files: manifest.files.length,
        events: ops.r + ops.c + ops.u + ops.d,
        ops
      }
      return summary
    }).pipe(Effect.provide(LocalObjectStore.layer(local.root)))
  })

export const describe = (summary: ReadSummary): string => {
  const ops = (["r", "c", "u", "d"] as const).filter((op) => summary.ops[op] > 0).map((op) =>
    `${op}=${summary.ops[op]}`
  )
  return `${summary.type === "FULL_EXPORT" ? "full" : "incremental"} export ${summary.exportArn}: `
    + `${summary.events} events from ${summary.files} data files (${ops.join(" ") || "empty"}), all verified`
}

const path = Args.text({ name: "path" }).pipe(
  Args.withDescription("an export folder (…/AWSDynamoDB/<ExportId>) or its manifest-summary.json")
)
const format = Options.choice("format", Envelope.formats).pipe(
  Options.withDefault("dynamodb" as Envelope.Format),
  Options.withDescription("values as DynamoDB JSON (lossless) or as plain JSON")
)
const key = Options.text("key").pipe(
  Options.optional,
  Options.withDescription("the table's key, HASH[,RANGE] (e.g. pk,sk): a full export does not record it")
)
const concurrency = Options.integer("concurrency").pipe(
  Options.withDefault(4),
  Options.withDescription("data files open at once: read one after another, the next ones opened ahead")
)
const quiet = Options.boolean("quiet").pipe(Options.withDescription("print no summary on stderr"))

export const command = Command.make(
  "read",
  { path, format, key, concurrency, quiet },
  (args) =>
    Effect.gen(function* () {
      if (args.concurrency < 1) return yield* new UsageError({ reason: "--concurrency must be at least 1" })
      const keySchema = Option.isSome(args.key) ? yield* parseKeySchema(args.key.value) : undefined
      const summary = yield* readLocal(
        args.path,
        { concurrency: args.concurrency, ...(keySchema === undefined ? {} : { keySchema }) },
        (events) =>
          events.length === 0
            ? Effect.void
            : Stdout.write(Chunk.join(Chunk.map(events, (event) => Envelope.encode(event, args.format)), "\n") + "\n")
      )
      if (!args.quiet) {
        if (keySchema === undefined && summary.type === "FULL_EXPORT" && summary.events > 0) {
          yield* Console.error(
            "note: a full export does not record the table's key schema, so `key` is null; pass --key HASH[,RANGE] to fill it"
          )
        }
        yield* Console.error(describe(summary))
      }
    })
).pipe(
  Command.withDescription(
    "Print every item (full export) or change (incremental export) of a local export as JSON-lines change events, checking every file against the manifest."
  )
)
