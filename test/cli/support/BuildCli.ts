/**
 * vitest's global setup: runs `node bin/backstream.mjs --version` once, so that the command line's cached bundle is
 * built (when the sources changed) before the test files start the CLI, several processes at a time, each of which
 * would otherwise build it too.
 */
import { spawnSync } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..")

export default function setup() {
  const run = spawnSync(process.execPath, [path.join(repoRoot, "bin/backstream.mjs"), "--version"], {
    cwd: repoRoot,
    encoding: "utf8"
  })
  if (run.status !== 0) throw new Error(`node bin/backstream.mjs --version: exit ${run.status}\n${run.stderr}`)
}
