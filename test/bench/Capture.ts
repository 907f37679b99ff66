/**
 * Change capture: records/s of `Capture.stream` reading a stream of 64 shards preloaded with 1,000,000 records (100,000
 * with --quick) from an emulator in a process of its own, over HTTP through the AWS adapter, against the floor
 * measured in the same run on the same data through the same SDK client: a bare GetShardIterator + GetRecords loop,
 * as many shards at a time as capture's pollers (16). Each read runs in a child process of its own, the two
 * alternating round by round. Then the idle cost: GetRecords calls per shard per minute on a stream with no writes,
 * after the back-off, on a test clock (in-process emulator over HTTP).
 *
 * Targets: throughput at least 0.8 of the floor (close to 1.0 is the aim); idle polling about 12 calls per shard per
 * minute (one every 5 s).
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as path from "node:path"
import { Effect, Metric, Stream, TestContext } from "effect"
import * as Capture from "../../core/Capture.ts"
import * as Harness from "../capture/support/CaptureHarness.ts"
import {
  type Benchmark,
  type BenchOptions,
  bundle,
  type ChildResult,
  MB,
  median,
  runChild,
  table,
  thousands
} from "./support/Harness.ts"

const TARGET_RATIO = 0.8
const SHARDS = 64
const POLLERS = 16

interface Served {
  readonly url: string
  readonly streamArn: string
  readonly records: number
}

const startServer = (script: string, records: number): Promise<{ served: Served; child: ChildProcess }> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--max-old-space-size=4096", script, String(records), String(SHARDS)], {
      stdio: ["ignore", "pipe", "inherit"]
    })
    let out = ""
    child.stdout!.setEncoding("utf8")
    const onData = (text: string) => {
      out += text
      const newline = out.indexOf("\n")
      if (newline === -1) return
      child.stdout!.off("data", onData)
      child.stdout!.resume()
      resolve({ served: JSON.parse(out.slice(0, newline)) as Served, child })
    }
    child.stdout!.on("data", onData)
    child.on("error", reject)
    child.on("exit", (code, signal) => reject(new Error(`the emulator exited with ${signal ?? code}:\n${out}`)))
  })

const stop = (child: ChildProcess): Promise<void> =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000)
    child.once("exit", () => {
      clearTimeout(timer)
      resolve()
    })
    child.kill("SIGINT")
  })

/** Empty GetRecords calls per shard per minute once backed off, on a test clock: 1 minute to back off, 5 measured. */
const idleCallsPerShardPerMinute = (shards: number): Promise<number> =>
  Effect.runPromise(
    Effect.gen(function* () {
      const h = yield* Harness.make({ shardsPerStream: shards })
      const streamArn = yield* h.createTable()
      const counted = h.counted()
      const empty = Capture.getRecordsCallsOf(streamArn, "empty")
      yield* Effect.fork(Capture.stream({ streamArn }).pipe(Stream.runDrain, Effect.provide(counted.layer)))
      const quiet = () => counted.inFlight() === 0
      yield* Harness.runFor(Harness.MINUTE, quiet)
      const before = (yield* Metric.value(empty)).count
      const minutes = 5
      yield* Harness.runFor(minutes * Harness.MINUTE, quiet)
      return ((yield* Metric.value(empty)).count - before) / shards / minutes
    }).pipe(Effect.scoped, Effect.provide(TestContext.TestContext))
  )

const recordsPerSecond = (r: ChildResult) => r.items / r.seconds
const mb = (bytes: number) => `${(bytes / MB).toFixed(0)} MB`

const run = async (options: BenchOptions): Promise<void> => {
  const records = options.quick ? 100_000 : 1_000_000
  const [server, reader] = await Promise.all([
    bundle(path.join(import.meta.dirname, "support/CaptureServerChild.ts")),
    bundle(path.join(import.meta.dirname, "support/CaptureReaderChild.ts"))
  ])
  console.log(`  preloading ${thousands(records)} records into ${SHARDS} shards of an emulator process…`)
  const started = performance.now()
  const { served, child } = await startServer(server, records)
  console.log(`  preloaded in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  const variants = [
    { name: "plain", label: `plain GetRecords loop, ${POLLERS} shards at a time` },
    { name: "capture", label: `Capture.stream, maxPollers ${POLLERS}` }
  ] as const
  const results = new Map<string, Array<ChildResult>>(variants.map((v) => [v.name, []]))
  try {
    for (let round = 1; round <= options.rounds; round++) {
      for (const variant of round % 2 === 1 ? variants : [...variants].reverse()) {
        const result = await runChild(reader, [variant.name, served.url, served.streamArn, String(POLLERS)], {
          ...(options.profileDir === undefined ? {} : {
            profileDir: options.profileDir,
            profileName: `Capture-${variant.name}-${round}.cpuprofile`
          })
        })
        if (result.items !== records) throw new Error(`${variant.label}: read ${result.items} of ${records} records`)
        results.get(variant.name)!.push(result)
        console.log(
          `  round ${round}/${options.rounds}  ${variant.name.padEnd(8)}  ${
            thousands(recordsPerSecond(result)).padStart(8)
          } records/s  ${(1e6 * result.cpuSeconds / result.items).toFixed(2).padStart(6)} µs CPU/record  ${
            mb(result.maxRss).padStart(6)
          }`
        )
      }
    }
  } finally {
    await stop(child)
  }

  const floor = median(results.get("plain")!.map(recordsPerSecond))
  const rows = [["", "records/s", "CPU µs/record", "ratio", "peak RSS", "runs"]]
  for (const variant of variants) {
    const runs = results.get(variant.name)!
    const rate = median(runs.map(recordsPerSecond))
    rows.push([
      variant.label,
      thousands(rate),
      median(runs.map((r) => 1e6 * r.cpuSeconds / r.items)).toFixed(2),
      (rate / floor).toFixed(2),
      mb(median(runs.map((r) => r.maxRss))),
      String(runs.length)
    ])
  }
  console.log()
  console.log(`${thousands(records)} records in ${SHARDS} closed shards, read over HTTP from an emulator process`)
  console.log(
    "records/s, CPU and peak RSS of the reading process: medians over the runs; ratio: against the plain loop"
  )
  console.log(table(rows))
  const ratio = median(results.get("capture")!.map(recordsPerSecond)) / floor
  console.log()
  console.log(
    `${ratio >= TARGET_RATIO ? "PASS" : "FAIL"}  capture at ${
      ratio.toFixed(2)
    } of the plain loop (target ≥ ${TARGET_RATIO})`
  )

  const idle = await idleCallsPerShardPerMinute(SHARDS)
  console.log(
    `${Math.abs(idle - 12) <= 1 ? "PASS" : "FAIL"}  idle: ${idle.toFixed(1)} GetRecords calls per shard per minute `
      + `after back-off, ${SHARDS} shards, no writes, on a test clock (target about 12: one per 5 s)`
  )
  if (options.quick) console.log("(quick run: 100,000 records; run without --quick for the figures that count)")
}

export const benchmark: Benchmark = {
  name: "Capture",
  description: "records/s of Capture.stream over HTTP from 64 preloaded shards, against a plain GetRecords loop",
  run
}
