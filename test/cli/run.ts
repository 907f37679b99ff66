import { spawn } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")

export interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

const exec = (command: string, args: ReadonlyArray<string>): Promise<Run> =>
  new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: repoRoot, env: { ...process.env, NO_COLOR: "1" } })
    let stdout = "", stderr = ""
    child.stdout.setEncoding("utf8").on("data", (data: string) => (stdout += data))
    child.stderr.setEncoding("utf8").on("data", (data: string) => (stderr += data))
    child.on("error", reject)
    child.on("close", (code) => resolve({ code, stdout, stderr }))
  })

/** Runs the CLI on Node, as `npm start -- …` does. */
export const runNode = (...args: ReadonlyArray<string>) => exec(process.execPath, ["bin/backstream.mjs", ...args])

/** Runs the CLI on Deno, as `deno task start …` does (the permissions of deno.json's task). */
export const runDeno = (...args: ReadonlyArray<string>) =>
  exec(path.join(repoRoot, "node_modules/deno/deno"), [
    "run",
    "--allow-read",
    "--allow-write",
    "--allow-env",
    "--allow-sys",
    "adapters/cli/main.ts",
    ...args
  ])
