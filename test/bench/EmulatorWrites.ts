/**
 * Emulator writes: PutItem per second through the JS SDK, 32 requests in flight from a writer process of its own,
 * against (a) our emulator in a process of its own (`bin/backstream.mjs emulator`), the table with a
 * NEW_AND_OLD_IMAGES stream and PITR on, and (b) plain dynalite in a process of its own, the same table without a
 * stream. Same items (about 200 bytes, random keys), a warm-up before each measured run, the two alternating.
 *
 * Target: ours at least as fast as plain dynalite (ratio ≥ 1.0). For scale: about 1,400 writes/s for plain dynalite
 * on the reference machine, about 55/s for moto with a stream.
 */
import {
  CreateTableCommand,
  DescribeContinuousBackupsCommand,
  DescribeTableCommand,
  DynamoDBClient,
  UpdateContinuousBackupsCommand
} from "@aws-sdk/client-dynamodb"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import {
  type Benchmark,
  type BenchOptions,
  bundle,
  type ChildResult,
  median,
  root,
  runChild,
  table,
  thousands
} from "./support/Harness.ts"

const TARGET_RATIO = 1.0
const IN_FLIGHT = 32
const TABLE = "bench_writes"

interface Server {
  readonly name: string
  readonly label: string
  readonly url: string
  readonly process: ChildProcess
}

/** Starts a server process and resolves with its URL once it prints one. */
const startServer = (
  name: string,
  label: string,
  args: ReadonlyArray<string>,
  urlOf: (line: string) => string | undefined
): Promise<Server> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: root, stdio: ["ignore", "pipe", "inherit"] })
    let out = ""
    const onData = (text: string) => {
      out += text
      for (const line of out.split("\n")) {
        const url = urlOf(line)
        if (url !== undefined) {
          child.stdout!.off("data", onData)
          child.stdout!.resume()
          return resolve({ name, label, url, process: child })
        }
      }
    }
    child.stdout!.setEncoding("utf8")
    child.stdout!.on("data", onData)
    child.on("error", reject)
    child.on(
      "exit",
      (code, signal) => reject(new Error(`${name} exited with ${signal ?? code} before serving:\n${out}`))
    )
  })

/** Stops a server with SIGINT (so a CPU profile is written) and waits for it to exit. */
const stopServer = (server: Server): Promise<void> =>
  new Promise((resolve) => {
    if (server.process.exitCode !== null || server.process.signalCode !== null) return resolve()
    const timer = setTimeout(() => server.process.kill("SIGKILL"), 10_000)
    server.process.once("exit", () => {
      clearTimeout(timer)
      resolve()
    })
    server.process.kill("SIGINT")
  })

const profileArgs = (options: BenchOptions, name: string) =>
  options.profileDir === undefined
    ? []
    : ["--cpu-prof", `--cpu-prof-dir=${options.profileDir}`, `--cpu-prof-name=EmulatorWrites-${name}-server.cpuprofile`]

const createTable = async (url: string, withStream: boolean): Promise<void> => {
  const client = new DynamoDBClient({
    endpoint: url,
    region: "us-east-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" }
  })
  try {
    await client.send(
      new CreateTableCommand({
        TableName: TABLE,
        AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }, {
          AttributeName: "sk",
          AttributeType: "N"
        }],
        KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }, { AttributeName: "sk", KeyType: "RANGE" }],
        BillingMode: "PAY_PER_REQUEST",
        ...(withStream ? { StreamSpecification: { StreamEnabled: true, StreamViewType: "NEW_AND_OLD_IMAGES" } } : {})
      })
    )
    for (let i = 0; i < 100; i++) {
      const described = await client.send(new DescribeTableCommand({ TableName: TABLE }))
      if (described.Table?.TableStatus === "ACTIVE") break
      await new Promise((r) => setTimeout(r, 50))
    }
    if (withStream) {
      await client.send(
        new UpdateContinuousBackupsCommand({
          TableName: TABLE,
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true }
        })
      )
      const described = await client.send(new DescribeTableCommand({ TableName: TABLE }))
      const backups = await client.send(new DescribeContinuousBackupsCommand({ TableName: TABLE }))
      const pitr = backups.ContinuousBackupsDescription?.PointInTimeRecoveryDescription?.PointInTimeRecoveryStatus
      if (described.Table?.StreamSpecification?.StreamViewType !== "NEW_AND_OLD_IMAGES" || pitr !== "ENABLED") {
        throw new Error("the emulator's table should have a NEW_AND_OLD_IMAGES stream and PITR on")
      }
    }
  } finally {
    client.destroy()
  }
}

const writesPerSecond = (r: ChildResult) => r.items / r.seconds

/** A process's CPU seconds so far (user + system), from `/proc`; undefined where there is no `/proc`. */
const cpuSecondsOf = (pid: number | undefined): number | undefined => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return undefined
  }
}

interface Run {
  readonly result: ChildResult
  /** The server's CPU time per write, µs, warm-up included (the server cannot tell the two apart). */
  readonly serverCpuMicros?: number
}

const run = async (options: BenchOptions): Promise<void> => {
  const seconds = options.quick ? 2 : 5
  const warmUp = options.quick ? 0.5 : 1
  const rounds = Math.max(2, options.rounds)
  const writer = await bundle(path.join(import.meta.dirname, "support/WriterChild.ts"))
  const servers: Array<Server> = []
  try {
    servers.push(
      await startServer(
        "ours",
        "backstream emulator (stream + PITR)",
        [
          ...profileArgs(options, "ours"),
          path.join(root, "bin/backstream.mjs"),
          "emulator",
          "--port",
          "0",
          "--clock",
          "real"
        ],
        (line) => /backstream emulator on (http:\/\/\S+)/.exec(line)?.[1]
      )
    )
    servers.push(
      await startServer(
        "dynalite",
        "plain dynalite (no stream)",
        [
          ...profileArgs(options, "dynalite"),
          "-e",
          "const s = require('dynalite')({ createTableMs: 0 }); "
          + "s.listen(0, '127.0.0.1', () => console.log('dynalite on http://127.0.0.1:' + s.address().port))"
        ],
        (line) => /dynalite on (http:\/\/\S+)/.exec(line)?.[1]
      )
    )
    await createTable(servers[0]!.url, true)
    await createTable(servers[1]!.url, false)
    console.log(`  ${IN_FLIGHT} in flight, ${warmUp} s warm-up + ${seconds} s measured per run, ${rounds} rounds`)

    const results = new Map<Server, Array<Run>>(servers.map((server) => [server, []]))
    for (let round = 1; round <= rounds; round++) {
      const order = round % 2 === 1 ? servers : [...servers].reverse()
      for (const server of order) {
        const cpuBefore = cpuSecondsOf(server.process.pid)
        const result = await runChild(writer, [server.url, TABLE, String(seconds), String(IN_FLIGHT), String(warmUp)], {
          ...(options.profileDir === undefined ? {} : {
            profileDir: options.profileDir,
            profileName: `EmulatorWrites-${server.name}-writer-${round}.cpuprofile`
          })
        })
        const cpuAfter = cpuSecondsOf(server.process.pid)
        const warmUpWrites = result.items * warmUp / seconds
        const serverCpuMicros = cpuBefore === undefined || cpuAfter === undefined
          ? undefined
          : 1e6 * (cpuAfter - cpuBefore) / (result.items + warmUpWrites)
        results.get(server)!.push({ result, ...(serverCpuMicros === undefined ? {} : { serverCpuMicros }) })
        console.log(
          `  round ${round}/${rounds}  ${server.name.padEnd(8)}  ${
            thousands(writesPerSecond(result)).padStart(7)
          } writes/s  server ${serverCpuMicros?.toFixed(0) ?? "?"} µs CPU/write  writer ${
            (1e6 * result.cpuSeconds / result.items).toFixed(0)
          } µs CPU/write`
        )
      }
    }

    const rows = [["", "writes/s", "best", "worst", "server CPU µs/write", "runs"]]
    const serverCpu = (runs: ReadonlyArray<Run>) => {
      const known = runs.flatMap((run) => run.serverCpuMicros === undefined ? [] : [run.serverCpuMicros])
      return known.length === 0 ? undefined : median(known)
    }
    for (const [server, runs] of results) {
      const rates = runs.map((run) => writesPerSecond(run.result))
      rows.push([
        server.label,
        thousands(median(rates)),
        thousands(Math.max(...rates)),
        thousands(Math.min(...rates)),
        serverCpu(runs)?.toFixed(0) ?? "?",
        String(runs.length)
      ])
    }
    console.log()
    console.log(
      "writes/s and server CPU: medians over the runs; each run a separate writer process, PutItem via the JS SDK"
    )
    console.log(table(rows))
    const ours = median(results.get(servers[0]!)!.map((run) => writesPerSecond(run.result)))
    const dynalite = median(results.get(servers[1]!)!.map((run) => writesPerSecond(run.result)))
    const ratio = ours / dynalite
    console.log()
    console.log(
      `${ratio >= TARGET_RATIO ? "PASS" : "FAIL"}  ours ${thousands(ours)} writes/s / dynalite ${
        thousands(dynalite)
      } writes/s = ${ratio.toFixed(2)} (target ≥ ${TARGET_RATIO.toFixed(1)})`
    )
    const oursCpu = serverCpu(results.get(servers[0]!)!), dynaliteCpu = serverCpu(results.get(servers[1]!)!)
    if (oursCpu !== undefined && dynaliteCpu !== undefined) {
      console.log(
        `      server CPU per write: ours ${oursCpu.toFixed(0)} µs, dynalite ${dynaliteCpu.toFixed(0)} µs (${
          (oursCpu / dynaliteCpu).toFixed(2)
        }×); with ${IN_FLIGHT} in flight on few cores, the writer and the server share the CPU`
      )
    }
    if (options.quick) console.log(`(quick run: ${seconds} s runs; run without --quick for the figures that count)`)
  } finally {
    await Promise.all(servers.map(stopServer))
  }
}

export const benchmark: Benchmark = {
  name: "EmulatorWrites",
  description: "PutItem/s through the JS SDK, 32 in flight: our emulator (stream + PITR) against plain dynalite",
  run
}
