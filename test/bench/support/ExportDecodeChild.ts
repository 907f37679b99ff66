/**
 * One measurement of the export decoding benchmark, in a process of its own so that its peak RSS is its own:
 *
 * - `floor`: each data file in turn, read stream → zlib gunzip (256 KiB chunks) → lines split on bytes →
 *   `TextDecoder` → `JSON.parse`, nothing else;
 * - `node`: `ExportReader.read` with Node's zlib and MD5, as `export read` runs on Node;
 * - `portable`: `ExportReader.read` with its portable defaults (`DecompressionStream`, MD5 in JavaScript).
 *
 * Prints `{"items", "seconds", "maxRss"}` as its last line.
 *
 * Usage: node ExportDecodeChild.mjs <floor|node|portable> <bucket folder> <summary key> [concurrency]
 */
import { Effect, Stream } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import * as zlib from "node:zlib"
import * as ExportReader from "../../../core/ExportReader.ts"
import * as ItemKey from "../../../core/ItemKey.ts"
import * as LocalObjectStore from "../../../adapters/node/LocalObjectStore.ts"
import * as NodeGzip from "../../../adapters/node/NodeGzip.ts"
import * as NodeMd5 from "../../../adapters/node/NodeMd5.ts"

const [mode, bucket, summaryKey, concurrencyArg] = process.argv.slice(2)
if (bucket === undefined || summaryKey === undefined) throw new Error("usage: <mode> <bucket folder> <summary key>")

const local = (key: string) => path.join(bucket, ...key.split("/"))

const dataFiles = (): ReadonlyArray<string> => {
  const summary = JSON.parse(fs.readFileSync(local(summaryKey), "utf8")) as { manifestFilesS3Key: string }
  return fs.readFileSync(local(summary.manifestFilesS3Key), "utf8").split("\n").filter((line) => line !== "")
    .map((line) => (JSON.parse(line) as { dataFileS3Key: string }).dataFileS3Key)
}

let floorBytes = 0

const floor = async (): Promise<number> => {
  const decoder = new TextDecoder("utf-8", { fatal: true })
  let items = 0
  let bytes = 0
  const parse = (line: Uint8Array) => {
    JSON.parse(decoder.decode(line))
    items++
    bytes += line.length + 1
  }
  for (const key of dataFiles()) {
    const gunzip = zlib.createGunzip({ chunkSize: 256 * 1024 })
    fs.createReadStream(local(key), { highWaterMark: 1024 * 1024 }).pipe(gunzip)
    let pending: Uint8Array | undefined
    for await (const chunk of gunzip as AsyncIterable<Uint8Array>) {
      let start = 0
      let newline = chunk.indexOf(10)
      if (pending !== undefined && newline !== -1) {
        const line = new Uint8Array(pending.length + newline)
        line.set(pending)
        line.set(chunk.subarray(0, newline), pending.length)
        parse(line)
        pending = undefined
        start = newline + 1
        newline = chunk.indexOf(10, start)
      }
      while (newline !== -1) {
        parse(chunk.subarray(start, newline))
        start = newline + 1
        newline = chunk.indexOf(10, start)
      }
      if (start < chunk.length) {
        const rest = chunk.subarray(start)
        if (pending === undefined) {
          pending = rest.slice()
        } else {
          const joined = new Uint8Array(pending.length + rest.length)
          joined.set(pending)
          joined.set(rest, pending.length)
          pending = joined
        }
      }
    }
    if (pending !== undefined && pending.length > 0) parse(pending)
  }
  floorBytes = bytes
  return items
}

const backstream = (options: ExportReader.ReadOptions): Promise<number> => {
  let items = 0
  return Effect.runPromise(
    ExportReader.read(summaryKey, {
      keySchema: ItemKey.make("pk", "sk"),
      ...(concurrencyArg === undefined ? {} : { concurrency: Number(concurrencyArg) }),
      ...options
    }).pipe(
      Stream.runForEachChunk((events) =>
        Effect.sync(() => {
          items += events.length
        })
      ),
      Effect.provide(LocalObjectStore.layer(bucket))
    )
  ).then(() => items)
}

const run = (): Promise<number> => {
  switch (mode) {
    case "floor":
      return floor()
    case "node":
      return backstream({ decompress: NodeGzip.decompress, md5: NodeMd5.md5 })
    case "portable":
      return backstream({})
    default:
      throw new Error(`unknown mode ${mode}: expected floor, node or portable`)
  }
}

const started = performance.now()
const items = await run()
const seconds = (performance.now() - started) / 1000
process.stdout.write(`${JSON.stringify({ items, seconds, maxRss: process.resourceUsage().maxRSS * 1024, bytes: floorBytes })}\n`)
