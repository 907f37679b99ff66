#!/usr/bin/env node
// The layering rules of DESIGN.md, checked on the sources: core/ imports only `effect` and core/ itself and uses no
// runtime-specific globals; the AWS SDK only in adapters/aws; dynalite only in emulator/; nothing but the command
// line reaches emulator/ in-process; no wall-clock reads in core/ or emulator/ (time comes from Effect's Clock).
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")
const files = (dir) =>
  fs.existsSync(path.join(root, dir))
    ? fs.readdirSync(path.join(root, dir), { recursive: true }).filter((f) => /\.(ts|mts|js|mjs)$/.test(f)).map((f) =>
      path.join(dir, f)
    )
    : []

const IMPORT =
  /(?:^|[;\s])(?:import|export)\s[^'"`]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)|require\(\s*["']([^"']+)["']\s*\)/gm
const imports = (text) => [...text.matchAll(IMPORT)].map((m) => m[1] ?? m[2] ?? m[3])
const strip = (text) => text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:])\/\/.*$/gm, "$1")

const problems = []
const fail = (file, message) => problems.push(`${file}: ${message}`)

for (const file of files("core")) {
  const text = strip(fs.readFileSync(path.join(root, file), "utf8"))
  for (const specifier of imports(text)) {
    if (specifier.startsWith(".")) {
      const target = path.relative(
        path.join(root, "core"),
        path.resolve(path.dirname(path.join(root, file)), specifier)
      )
      if (target.startsWith("..")) fail(file, `imports ${specifier}, outside core/`)
      if (!specifier.endsWith(".ts")) fail(file, `relative import ${specifier} needs its .ts extension (Deno)`)
    } else if (specifier !== "effect" && !specifier.startsWith("effect/")) {
      fail(file, `imports ${specifier}; core/ may import only effect and core/`)
    }
  }
  for (
    const [pattern, what] of [
      [/\bprocess\s*\./, "process"],
      [/\bBuffer\s*[.(]/, "Buffer"],
      [/\bDeno\s*\./, "Deno"],
      [/\b__dirname\b|\b__filename\b/, "__dirname/__filename"],
      [/\bDate\.now\s*\(/, "Date.now() (use Effect's Clock)"],
      [/\bnew Date\s*\(\s*\)/, "new Date() (use Effect's Clock)"]
    ]
  ) {
    if (pattern.test(text)) fail(file, `uses ${what}`)
  }
}

for (const file of files("emulator")) {
  const text = strip(fs.readFileSync(path.join(root, file), "utf8"))
  if (/\bDate\.now\s*\(|\bnew Date\s*\(\s*\)/.test(text)) fail(file, "reads the wall clock (use Effect's Clock)")
}

for (const dir of ["core", "adapters", "emulator", "test", "bin"]) {
  for (const file of files(dir)) {
    const text = strip(fs.readFileSync(path.join(root, file), "utf8"))
    for (const specifier of imports(text)) {
      if (specifier.startsWith("@aws-sdk/") && !file.startsWith(path.join("adapters", "aws")) && dir !== "test") {
        fail(file, `imports ${specifier}; the AWS SDK belongs in adapters/aws`)
      }
      if (specifier.startsWith("dynalite") && dir !== "emulator" && dir !== "test") {
        fail(file, "imports dynalite; it belongs in emulator/ (tests may start a plain one to compare with)")
      }
      const resolved = specifier.startsWith(".")
        ? path.relative(root, path.resolve(path.dirname(path.join(root, file)), specifier))
        : ""
      if (
        resolved.startsWith("emulator") && dir === "adapters" && !file.startsWith(path.join("adapters", "cli"))
      ) {
        fail(file, `imports ${specifier}; adapters reach the emulator over HTTP only (only the CLI starts it)`)
      }
    }
  }
}

if (problems.length > 0) {
  console.error(`Layering check failed (${problems.length}):\n${problems.map((p) => `  ${p}`).join("\n")}`)
  process.exit(1)
}
console.log(`Layering check passed: ${files("core").length} core files import only effect and core/.`)
