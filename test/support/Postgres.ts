/**
 * A throwaway Postgres server for the tests: `initdb` in a temporary folder, `pg_ctl start` on 127.0.0.1 and a free
 * port with trust authentication, a connection URL, and at the end a stop and the folder deleted. Postgres refuses to
 * run as root, so as root the server runs as the `postgres` user (the Debian package creates it).
 *
 * Without a server binary, the Postgres suites fail when `CI` is set (CI must test them: `.ci/run` installs the
 * server) and are skipped with a visible notice otherwise.
 */
import { execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"

export interface PostgresServer {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  readonly url: string
  readonly port: number
  /** Stops the server and deletes its folder. */
  readonly stop: () => Promise<void>
}

const versionOf = (dir: string) => Number(/\/postgresql\/(\d+)\//.exec(dir)?.[1] ?? 0)

/** The folder of `initdb`, `pg_ctl` and `postgres`: `BACKSTREAM_PG_BIN`, Debian's layout, or the `PATH`. */
export const binDir = (): string | undefined => {
  const fromEnv = process.env.BACKSTREAM_PG_BIN
  if (fromEnv !== undefined && fs.existsSync(path.join(fromEnv, "postgres"))) return fromEnv
  const debian = "/usr/lib/postgresql"
  if (fs.existsSync(debian)) {
    const found = fs.readdirSync(debian).map((version) => path.join(debian, version, "bin"))
      .filter((dir) => fs.existsSync(path.join(dir, "postgres")))
      .sort((a, b) => versionOf(b) - versionOf(a))
    if (found[0] !== undefined) return found[0]
  }
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (dir !== "" && fs.existsSync(path.join(dir, "postgres")) && fs.existsSync(path.join(dir, "initdb"))) return dir
  }
  return undefined
}

const isRoot = () => process.getuid?.() === 0

const run = (command: string, args: ReadonlyArray<string>): Promise<string> =>
  new Promise((resolve, reject) => {
    const [file, argv] = isRoot() ? ["runuser", ["-u", "postgres", "--", command, ...args]] : [command, [...args]]
    // The postgres user may not be allowed into our working folder: run from the temporary one.
    const child = spawn(file, argv, {
      cwd: os.tmpdir(),
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, LC_ALL: "C" }
    })
    let output = ""
    child.stdout.setEncoding("utf8").on("data", (text: string) => (output += text))
    child.stderr.setEncoding("utf8").on("data", (text: string) => (output += text))
    child.on("error", reject)
    child.on("close", (code) =>
      code === 0
        ? resolve(output)
        : reject(new Error(`${path.basename(command)} ${args.join(" ")} exited with ${code}:\n${output}`)))
  })

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })

const running = new Set<string>()
let exitHookInstalled = false

/** If the test process dies without stopping its servers, the servers go with it. */
const installExitHook = () => {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.once("exit", () => {
    for (const dataDir of running) {
      try {
        const pid = Number(fs.readFileSync(path.join(dataDir, "postmaster.pid"), "utf8").split("\n")[0])
        if (pid > 0) process.kill(pid, "SIGQUIT")
      } catch {
        // already gone
      }
    }
  })
}

/**
 * Starts a server; throws when there is no server binary (see {@link binDir}). `settings` are more `-c name=value`
 * (the benchmarks size the server's memory as one would for a bulk load).
 */
export const start = async (settings: Readonly<Record<string, string>> = {}): Promise<PostgresServer> => {
  const bin = binDir()
  if (bin === undefined) throw new Error(missingMessage)
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "backstream-pg-"))
  if (isRoot()) execFileSync("chown", ["-R", "postgres:postgres", dataDir])
  await run(path.join(bin, "initdb"), [
    "-D",
    dataDir,
    "-U",
    "postgres",
    "--auth=trust",
    "--encoding=UTF8",
    "--locale=C",
    "--no-sync"
  ])
  const port = await freePort()
  const options = [
    "-c listen_addresses=127.0.0.1",
    `-c port=${port}`,
    `-c unix_socket_directories=${dataDir}`,
    "-c fsync=off",
    "-c synchronous_commit=off",
    "-c full_page_writes=off",
    "-c max_connections=50",
    ...Object.entries(settings).map(([name, value]) => `-c ${name}=${value}`)
  ].join(" ")
  installExitHook()
  running.add(dataDir)
  await run(path.join(bin, "pg_ctl"), [
    "start",
    "-w",
    "-t",
    "60",
    "-D",
    dataDir,
    "-l",
    path.join(dataDir, "log"),
    "-o",
    options
  ])
  let stopped = false
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    stop: async () => {
      if (stopped) return
      stopped = true
      await run(path.join(bin, "pg_ctl"), ["stop", "-w", "-m", "immediate", "-D", dataDir]).catch(() => undefined)
      running.delete(dataDir)
      fs.rmSync(dataDir, { recursive: true, force: true })
    }
  }
}

export const missingMessage =
  "no Postgres server binary found (looked in BACKSTREAM_PG_BIN, /usr/lib/postgresql/*/bin and "
  + "the PATH): install it with `apt-get install -y postgresql` (.ci/run does) or point BACKSTREAM_PG_BIN at its bin "
  + "folder"
