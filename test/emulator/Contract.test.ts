import { afterAll, beforeAll, describe } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as EmulatorInstance from "../../emulator/EmulatorInstance.ts"
import * as NodeServer from "../../emulator/NodeServer.ts"
import { adminTarget, type StreamsContractTarget, testStreamsContract } from "../contract/StreamsContract.ts"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")

describe("in-process emulator over HTTP", () => {
  let scope: Scope.CloseableScope
  let target: StreamsContractTarget
  beforeAll(async () => {
    scope = await Effect.runPromise(Scope.make())
    const server = await Effect.runPromise(
      EmulatorInstance.make({ clock: "virtual", exportDurationMs: 60_000 }).pipe(
        Effect.flatMap((instance) => NodeServer.serve(instance.emulator)),
        Scope.extend(scope)
      )
    )
    target = adminTarget(server.url)
  })
  afterAll(() => Effect.runPromise(Scope.close(scope, Exit.void)))
  testStreamsContract("emulator in-process", () => target)
})

/** Starts `backstream emulator` and resolves with its URL, read from the first line it prints. */
const startCli = (child: ChildProcess) =>
  new Promise<string>((resolve, reject) => {
    let output = ""
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      output += chunk
      const newline = output.indexOf("\n")
      if (newline === -1) return
      const url = /(http:\/\/\S+)/.exec(output.slice(0, newline))?.[1]
      if (url === undefined) reject(new Error(`no URL in ${output.slice(0, newline)}`))
      else resolve(url)
    })
    let errors = ""
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (errors += chunk))
    child.on("exit", (code) => reject(new Error(`the emulator exited (${code}): ${errors}`)))
    child.on("error", reject)
  })

describe("emulator started by the command line", () => {
  let child: ChildProcess
  let target: StreamsContractTarget
  beforeAll(async () => {
    child = spawn(
      process.execPath,
      ["bin/backstream.mjs", "emulator", "--port", "0", "--clock", "virtual", "--export-seconds", "60"],
      { cwd: root, stdio: ["ignore", "pipe", "pipe"] }
    )
    target = adminTarget(await startCli(child))
  })
  afterAll(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((resolve) => child.once("exit", resolve))
    child.kill("SIGTERM")
    await exited
  })
  testStreamsContract("emulator process", () => target)
})
