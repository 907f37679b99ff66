/**
 * Starting and stopping `moto_server` for cross-checks: the approach of `S3Moto.test.ts`, shared. moto runs in its own
 * process group on 127.0.0.1 and a free port, so stopping it ends the server and nothing else.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as path from "node:path"

export const motoOnPath = (process.env["PATH"] ?? "").split(path.delimiter).some((dir) =>
  fs.existsSync(path.join(dir, "moto_server"))
)

export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port
      server.close(() => resolve(port))
    })
  })

export interface RunningMoto {
  readonly url: string
  readonly stop: () => Promise<void>
}

/** Starts moto_server and waits (up to 20 s) until it answers. */
export const startMoto = async (): Promise<RunningMoto> => {
  const port = await freePort()
  const moto: ChildProcess = spawn("moto_server", ["-H", "127.0.0.1", "-p", String(port)], {
    stdio: "ignore",
    detached: true
  })
  const url = `http://127.0.0.1:${port}`
  const stop = async () => {
    if (moto.pid !== undefined && moto.exitCode === null && moto.signalCode === null) {
      const exited = new Promise((resolve) => moto.once("exit", resolve))
      process.kill(-moto.pid, "SIGTERM")
      await exited
    }
  }
  const deadline = Date.now() + 20_000
  while (!(await fetch(url).then((response) => response.ok, () => false))) {
    if (moto.exitCode !== null || Date.now() > deadline) {
      await stop()
      throw new Error(`moto_server did not answer on ${url} (exit code ${moto.exitCode}); try it by hand`)
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return { url, stop }
}
