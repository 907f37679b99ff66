/**
 * backstream's export reader, in a process of its own: `ExportReader.read` through `LocalObjectStore`, counting the
 * events chunk by chunk (`Stream.runForEachChunk`), nothing else.
 *
 * - `node`: Node's zlib and MD5 (`NodeGzip`, `NodeMd5`), as `export read` runs on Node;
 * - `portable`: the reader's portable defaults (`DecompressionStream`, MD5 in JavaScript).
 *
 * Usage: node ReaderChild.mjs <node|portable> <bucket folder> <summary key> [concurrency]
 */
import { Effect, Stream } from "effect"
import * as LocalObjectStore from "../../../adapters/node/LocalObjectStore.ts"
import * as NodeGzip from "../../../adapters/node/NodeGzip.ts"
import * as NodeMd5 from "../../../adapters/node/NodeMd5.ts"
import * as ExportReader from "../../../core/ExportReader.ts"
import * as ItemKey from "../../../core/ItemKey.ts"
import { measure } from "./Measurement.ts"

const [mode, bucket, summaryKey, concurrency] = process.argv.slice(2)
if (bucket === undefined || summaryKey === undefined) throw new Error("usage: <mode> <bucket folder> <summary key>")
if (mode !== "node" && mode !== "portable") throw new Error(`unknown mode ${mode}: expected node or portable`)

await measure(() => {
  let items = 0
  const options: ExportReader.ReadOptions = {
    keySchema: ItemKey.make("pk", "sk"),
    ...(concurrency === undefined ? {} : { concurrency: Number(concurrency) }),
    ...(mode === "node" ? { decompress: NodeGzip.decompress, md5: NodeMd5.md5 } : {})
  }
  return Effect.runPromise(
    ExportReader.read(summaryKey, options).pipe(
      Stream.runForEachChunk((events) => {
        items += events.length
        return Effect.void
      }),
      Effect.provide(LocalObjectStore.layer(bucket))
    )
  ).then(() => ({ items }))
})
