/**
 * `backstream emulator` as a process of its own, for suites that must reach the emulator exactly as a user would.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { repoRoot } from "./fixtures.ts"

export interface RunningEmulator {
  readonly url: string
  readonly stop: () => Promise<void>
}

/** Resolves with the URL the emulator prints on its first line. */
const urlOf = (child: ChildProcess) =>
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

/** Starts `node bin/backstream.mjs emulator --port 0 …args` and waits for its URL. */
export const startEmulatorProcess = async (args: ReadonlyArray<string> = []): Promise<RunningEmulator> => {
  const child = spawn(process.execPath, ["bin/backstream.mjs", "emulator", "--port", "0", ...args], {
    cwd: repoRoot,
    stdio: ["ignore", "pipe", "pipe"]
  })
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((resolve) => child.once("exit", resolve))
    child.kill("SIGTERM")
    await exited
  }
  try {
    return { url: await urlOf(child), stop }
  } catch (error) {
    await stop()
    throw error
  }
}
