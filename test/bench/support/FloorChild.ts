/**
 * The floor of export decoding, in a process of its own: each data file in turn, a read stream → zlib gunzip with
 * 256 KiB output chunks → lines split on bytes → `TextDecoder` → `JSON.parse`, nothing else (no Effect, no checks).
 *
 * Usage: node FloorChild.mjs <bucket folder> <summary key>
 */
import * as fs from "node:fs"
import * as path from "node:path"
import * as zlib from "node:zlib"
import { measure } from "./Measurement.ts"

const [bucket, summaryKey] = process.argv.slice(2)
if (bucket === undefined || summaryKey === undefined) throw new Error("usage: <bucket folder> <summary key>")

const local = (key: string) => path.join(bucket, ...key.split("/"))

const dataFiles = (): ReadonlyArray<string> => {
  const summary = JSON.parse(fs.readFileSync(local(summaryKey), "utf8")) as { manifestFilesS3Key: string }
  return fs.readFileSync(local(summary.manifestFilesS3Key), "utf8").split("\n").filter((line) => line !== "")
    .map((line) => (JSON.parse(line) as { dataFileS3Key: string }).dataFileS3Key)
}

const concat = (a: Uint8Array, b: Uint8Array): Uint8Array => {
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}

await measure(async () => {
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
    fs.createReadStream(local(key)).pipe(gunzip)
    let pending: Uint8Array | undefined
    for await (const chunk of gunzip as AsyncIterable<Uint8Array>) {
      let start = 0
      let newline = chunk.indexOf(10)
      if (pending !== undefined && newline !== -1) {
        parse(concat(pending, chunk.subarray(0, newline)))
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
        pending = pending === undefined ? rest.slice() : concat(pending, rest)
      }
    }
    if (pending !== undefined && pending.length > 0) parse(pending)
  }
  return { items, bytes }
})
