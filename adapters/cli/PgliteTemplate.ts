/**
 * A new PGlite database in a folder, quickly. Creating one runs initdb in WebAssembly, which takes seconds (many more
 * on a busy machine), so the first database made is kept empty as a template — in `node_modules/.cache/backstream`,
 * per PGlite version, like the command line's bundle — and the next ones are copies of it. Without a usable cache
 * folder, every database is created the slow way.
 */
import type { PGlite } from "@electric-sql/pglite"
import * as fs from "node:fs/promises"
import { createRequire } from "node:module"
import * as path from "node:path"
import * as PgliteSink from "../sinks/PgliteSink.ts"

const templateFolder = async (): Promise<string | undefined> => {
  try {
    const entry = createRequire(import.meta.url).resolve("@electric-sql/pglite")
    const marker = `${path.sep}node_modules${path.sep}@electric-sql${path.sep}pglite${path.sep}`
    const at = entry.lastIndexOf(marker)
    if (at === -1) return undefined
    const modules = entry.slice(0, at + `${path.sep}node_modules`.length)
    const manifest = JSON.parse(
      await fs.readFile(path.join(modules, "@electric-sql", "pglite", "package.json"), "utf8")
    )
    return path.join(modules, ".cache", "backstream", `pglite-${String(manifest.version)}-empty`)
  } catch {
    return undefined
  }
}

const exists = (file: string) => fs.access(file).then(() => true, () => false)

const makeTemplate = async (template: string): Promise<boolean> => {
  const temporary = `${template}.${process.pid}.tmp`
  try {
    await fs.rm(temporary, { recursive: true, force: true })
    await fs.mkdir(path.dirname(template), { recursive: true })
    const db = await PgliteSink.openDatabase(temporary)
    await db.close()
    await fs.rename(temporary, template).catch(async (error) => {
      // Another run made it meanwhile.
      if (!(await exists(path.join(template, "PG_VERSION")))) throw error
    })
    return true
  } catch {
    return false
  } finally {
    await fs.rm(temporary, { recursive: true, force: true }).catch(() => undefined)
  }
}

/** Opens a new, empty database in `dataDir` (which must not exist yet). */
export const openNew = async (dataDir: string): Promise<PGlite> => {
  const template = await templateFolder()
  if (template !== undefined && (await exists(path.join(template, "PG_VERSION")) || await makeTemplate(template))) {
    try {
      await fs.cp(template, dataDir, { recursive: true })
      return await PgliteSink.openDatabase(dataDir)
    } catch {
      // A damaged template: made again next time; this database the slow way.
      await fs.rm(template, { recursive: true, force: true }).catch(() => undefined)
      await fs.rm(dataDir, { recursive: true, force: true })
    }
  }
  return PgliteSink.openDatabase(dataDir)
}
