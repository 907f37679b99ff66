#!/usr/bin/env node
// Launches the TypeScript command line on Node: esbuild bundles our sources with the packages they use (PGlite and pg
// stay external: PGlite loads its WebAssembly beside its own module) into one file cached in
// node_modules/.cache/backstream, then imports it. One bundled file loads several times faster than the few thousand
// ES modules of effect, @effect/* and the AWS SDK. The cache is keyed by the content of every source file of the last
// build (listed in cli-inputs.json), tsconfig, this launcher and the installed packages, so a run with nothing changed
// neither loads esbuild nor builds. Deno runs adapters/cli/main.ts directly.
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const cache = path.join(root, "node_modules/.cache/backstream")
const inputsFile = path.join(cache, "cli-inputs.json")
const external = ["@electric-sql/pglite", "pg"]

const readOrEmpty = (file) => {
  try {
    return fs.readFileSync(file)
  } catch {
    return ""
  }
}

/**
 * The cache key: our source files (paths relative to the root, with their content) and everything else that shapes
 * the bundle.
 */
const keyOf = (inputs, read = (input) => fs.readFileSync(path.join(root, input))) => {
  const hash = createHash("sha256")
  for (const file of [fileURLToPath(import.meta.url), "tsconfig.json", "tsconfig.base.json"]) {
    hash.update(`${file}\0`).update(readOrEmpty(path.resolve(root, file))).update("\0")
  }
  hash.update(readOrEmpty(path.join(root, "node_modules/.package-lock.json"))).update("\0")
  for (const input of inputs) hash.update(`${input}\0`).update(read(input)).update("\0")
  return hash.digest("hex").slice(0, 16)
}

const cached = () => {
  try {
    const file = path.join(cache, `cli-${keyOf(JSON.parse(fs.readFileSync(inputsFile, "utf8")))}.mjs`)
    return fs.existsSync(file) ? file : undefined
  } catch {
    return undefined
  }
}

const writeAtomically = (file, contents) => {
  const temporary = `${file}.${process.pid}.tmp`
  fs.writeFileSync(temporary, contents)
  fs.renameSync(temporary, file)
}

// VLQ base64, as source maps encode their mappings.
const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
const DIGIT = new Map([...BASE64].map((c, i) => [c, i]))
const encodeVlq = (value) => {
  let vlq = value < 0 ? (-value << 1) | 1 : value << 1
  let out = ""
  do {
    let digit = vlq & 31
    vlq >>>= 5
    if (vlq > 0) digit |= 32
    out += BASE64[digit]
  } while (vlq > 0)
  return out
}
const decodeSegment = (segment) => {
  const values = []
  let value = 0, shift = 0
  for (const c of segment) {
    const digit = DIGIT.get(c)
    value += (digit & 31) << shift
    if (digit & 32) shift += 5
    else {
      values.push(value & 1 ? -(value >>> 1) : value >>> 1)
      value = 0
      shift = 0
    }
  }
  return values
}

/**
 * Keeps the source map of our own sources only: where the packages' code starts, an unmapped segment (their frames
 * stay as they are in the bundle). The inline map stays as small, and as quick to load, as when packages were external.
 */
const ownSourcesOnly = (map) => {
  const packages = path.join(root, "node_modules") + path.sep
  const keep = map.sources.map((source) => !path.resolve(cache, source).startsWith(packages))
  const sources = [], sourcesContent = [], sourceIndex = new Map(), names = [], nameIndex = new Map()
  map.sources.forEach((source, i) => {
    if (!keep[i]) return
    sourceIndex.set(i, sources.length)
    sources.push(source)
    sourcesContent.push(map.sourcesContent?.[i] ?? null)
  })
  let source = 0, line = 0, column = 0, name = 0
  let outSource = 0, outLine = 0, outColumn = 0, outName = 0
  let unmapped = true
  const lines = map.mappings.split(";").map((text) => {
    let generated = 0, previous = 0
    const segments = []
    for (const segment of text === "" ? [] : text.split(",")) {
      const values = decodeSegment(segment)
      generated += values[0]
      if (values.length > 1) {
        source += values[1]
        line += values[2]
        column += values[3]
        if (values.length === 5) name += values[4]
      }
      if (values.length === 1 || !keep[source]) {
        if (!unmapped) segments.push(encodeVlq(generated - previous)), previous = generated
        unmapped = true
        continue
      }
      const target = sourceIndex.get(source)
      let out = encodeVlq(generated - previous) + encodeVlq(target - outSource) + encodeVlq(line - outLine)
        + encodeVlq(column - outColumn)
      if (values.length === 5) {
        if (!nameIndex.has(name)) nameIndex.set(name, names.push(map.names[name]) - 1)
        out += encodeVlq(nameIndex.get(name) - outName)
        outName = nameIndex.get(name)
      }
      segments.push(out)
      previous = generated
      outSource = target
      outLine = line
      outColumn = column
      unmapped = false
    }
    return segments.join(",")
  })
  return { ...map, sources, sourcesContent, names, mappings: lines.join(";") }
}

const LOADERS = { ".ts": "ts", ".mts": "ts", ".cts": "ts", ".tsx": "tsx", ".js": "js", ".mjs": "js", ".cjs": "js" }

const build = async () => {
  const esbuild = await import("esbuild")
  // The sources as esbuild compiled them, for the key: a file edited during the build cannot be cached under the key
  // of its new content.
  const sources = new Map()
  const recordSources = {
    name: "record-sources",
    setup: (build) =>
      build.onLoad({ filter: /.*/ }, async (args) => {
        const loader = LOADERS[path.extname(args.path)]
        if (loader === undefined || args.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined
        const contents = await fs.promises.readFile(args.path)
        sources.set(path.relative(root, args.path).split(path.sep).join("/"), contents)
        return { contents, loader }
      })
  }
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: ["adapters/cli/main.ts"],
    bundle: true,
    external,
    platform: "node",
    format: "esm",
    target: "node20",
    // CommonJS packages inside an ES module bundle call require() for Node's built-ins.
    banner: {
      js:
        'import { createRequire as __backstreamRequire } from "node:module"; const require = __backstreamRequire(import.meta.url);'
    },
    sourcemap: "external",
    outfile: path.join(cache, "cli.mjs"),
    metafile: true,
    write: false,
    logLevel: "error",
    plugins: [recordSources]
  })
  const inputs = Object.keys(result.metafile.inputs).filter((input) => !input.includes("node_modules/")).sort()
  const file = path.join(
    cache,
    `cli-${keyOf(inputs, (input) => sources.get(input) ?? fs.readFileSync(path.join(root, input)))}.mjs`
  )
  const code = result.outputFiles.find((output) => output.path.endsWith(".mjs")).text
    .replace(/\n\/\/# sourceMappingURL=\S+\s*$/, "\n")
  const map = ownSourcesOnly(JSON.parse(result.outputFiles.find((output) => output.path.endsWith(".map")).text))
  fs.mkdirSync(cache, { recursive: true })
  writeAtomically(
    file,
    `${code}//# sourceMappingURL=data:application/json;base64,${Buffer.from(JSON.stringify(map)).toString("base64")}\n`
  )
  writeAtomically(inputsFile, JSON.stringify(inputs))
  return file
}

const alive = (pid) => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return error.code === "EPERM"
  }
}

/**
 * Builds, or waits for the process that is building: the CLI is often started several times at once (by the tests),
 * and every one of them would build the same bundle. A lock whose process is gone, or older than a minute, is stale.
 */
const buildOnce = async () => {
  fs.mkdirSync(cache, { recursive: true })
  const lock = path.join(cache, "cli-build.lock")
  for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
    try {
      fs.mkdirSync(lock)
    } catch (error) {
      if (error.code !== "EEXIST") return build()
      const since = fs.statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()
      const pid = Number(readOrEmpty(path.join(lock, "pid")).toString())
      if (Date.now() - since > 60_000 || (pid > 0 && !alive(pid))) fs.rmSync(lock, { recursive: true, force: true })
      else await new Promise((resolve) => setTimeout(resolve, 100))
      const built = cached()
      if (built !== undefined) return built
      continue
    }
    try {
      fs.writeFileSync(path.join(lock, "pid"), String(process.pid))
      return cached() ?? await build()
    } finally {
      fs.rmSync(lock, { recursive: true, force: true })
    }
  }
  return build()
}

const file = cached() ?? await buildOnce()
process.setSourceMapsEnabled(true)
await import(pathToFileURL(file).href)
