/**
 * A backfill in a process of its own: the engine's load path (`ExportLoad.forEachBatch`: the export reader through
 * `LocalObjectStore`, batches of `batch` snapshot events, each prepared by the sink while the one before is written)
 * into a SQL sink, each batch written with its checkpoint as the engine writes it. The sink is opened (and its table created) before the
 * measurement starts.
 *
 * - `read`: the same load path with no sink (the baseline: what reading costs);
 * - `pglite <data dir>`: PGlite on disk;
 * - `postgres <url>`: a Postgres server.
 *
 * Usage: node BackfillChild.mjs <read|pglite|postgres> <dir|url|-> <bucket folder> <summary key> <table> [batch]
 */
import { Effect, type Scope } from "effect"
import * as LocalObjectStore from "../../../adapters/node/LocalObjectStore.ts"
import * as NodeGzip from "../../../adapters/node/NodeGzip.ts"
import * as NodeMd5 from "../../../adapters/node/NodeMd5.ts"
import * as PgliteSink from "../../../adapters/sinks/PgliteSink.ts"
import * as PostgresSink from "../../../adapters/sinks/PostgresSink.ts"
import * as Checkpoint from "../../../core/Checkpoint.ts"
import * as ExportLoad from "../../../core/internal/ExportLoad.ts"
import * as ExportReader from "../../../core/ExportReader.ts"
import * as ItemKey from "../../../core/ItemKey.ts"
import type { ObjectStore } from "../../../core/ObjectStore.ts"
import type { Sink } from "../../../core/Sink.ts"
import { measure } from "./Measurement.ts"

const [mode, where, bucket, summaryKey, table, batch] = process.argv.slice(2)
if (table === undefined || where === undefined || bucket === undefined || summaryKey === undefined) {
  throw new Error("usage: <read|pglite|postgres> <dir|url|-> <bucket folder> <summary key> <table> [batch]")
}
const keySchema: ItemKey.KeySchema = { hash: { name: "pk", type: "S" }, range: { name: "sk", type: "N" } }
const tableArn = `arn:aws:dynamodb:us-east-1:123456789012:table/${table}`

const openSink = (): Effect.Effect<Sink["Type"] | undefined, unknown, Scope.Scope> =>
  mode === "read"
    ? Effect.succeed(undefined)
    : mode === "pglite"
    ? PgliteSink.make({ dataDir: where, table })
    : mode === "postgres"
    ? PostgresSink.make({ url: where, table })
    : Effect.die(new Error(`unknown mode ${mode}`))

const program = Effect.gen(function* () {
  const sink = yield* openSink()
  yield* sink?.open({ name: table, arn: tableArn, keySchema }) ?? Effect.void
  // The peak so far: the process, its sink opened (for PGlite, the database made, initdb included), before any row.
  const openRss = process.resourceUsage().maxRSS * 1024
  const manifest = yield* ExportReader.openManifest(summaryKey, { md5: NodeMd5.md5 })
  const exportArn = `${tableArn}/export/bench`
  const initial = Checkpoint.initial(tableArn, `${tableArn}/stream/bench`)
  const context = yield* Effect.context<ObjectStore>()
  yield* Effect.promise(() =>
    measure(() => {
      let items = 0
      return Effect.runPromise(
        ExportLoad.forEachBatch(manifest, { filesDone: 0, linesDone: 0 }, {
          keySchema,
          concurrency: 4,
          batchSize: batch === undefined ? 1000 : Number(batch),
          decompress: NodeGzip.decompress,
          md5: NodeMd5.md5,
          prepare: sink?.prepare
        }, ({ events, filesDone, linesDone, prepared }) => {
          items += events.length
          const checkpoint: Checkpoint.Checkpoint = {
            ...initial,
            backfill: { _tag: "Loading", exportArn, exportTimeMs: 0, filesDone, linesDone },
            savedAtMs: items
          }
          return sink === undefined
            ? Effect.void
            : sink.write({ events, checkpoint, ...(prepared === undefined ? {} : { prepared }) })
        }).pipe(Effect.provide(context))
      ).then(() => ({ items, openRss }))
    })
  )
})

await Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(LocalObjectStore.layer(bucket))))
