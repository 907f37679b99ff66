#!/usr/bin/env node
// Launches the TypeScript command line on Node: our sources are bundled by esbuild (about 0.1 s; packages stay
// external), cached by content, then imported. Deno runs adapters/cli/main.ts directly.
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { build } from "esbuild"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const result = await build({
  entryPoints: [path.join(root, "adapters/cli/main.ts")],
  bundle: true,
  packages: "external",
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: "inline",
  write: false,
  logLevel: "error"
})
const code = result.outputFiles[0].contents
const cache = path.join(root, "node_modules/.cache/backstream")
const file = path.join(cache, `cli-${createHash("sha256").update(code).digest("hex").slice(0, 16)}.mjs`)
if (!fs.existsSync(file)) {
  fs.mkdirSync(cache, { recursive: true })
  const temporary = `${file}.${process.pid}.tmp`
  fs.writeFileSync(temporary, code)
  fs.renameSync(temporary, file)
}
process.setSourceMapsEnabled(true)
await import(pathToFileURL(file).href)
