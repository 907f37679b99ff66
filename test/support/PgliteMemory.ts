/**
 * A PGlite database in memory for the tests of a `describe` block or file, and SQL on it as the sink tests read a
 * replica back.
 */
import type { PGlite } from "@electric-sql/pglite"
import { afterAll, beforeAll } from "@effect/vitest"
import * as PgliteSink from "../../adapters/sinks/PgliteSink.ts"

/** Opens the database before the tests (of the enclosing block) and closes it after: its getter. */
export const inMemory = (): () => PGlite => {
  let db: PGlite | undefined
  beforeAll(async () => {
    db = await PgliteSink.openDatabase()
  }, 120_000)
  afterAll(async () => {
    await db?.close()
  })
  return () => db!
}

/** Runs SQL: several statements without parameters (`exec`, the last one's rows), else one (`query`). */
export const sqlOf =
  (db: () => PGlite) =>
  async (text: string, params?: ReadonlyArray<unknown>): Promise<ReadonlyArray<Record<string, unknown>>> =>
    params === undefined && text.includes(";")
      ? (await db().exec(text)).at(-1)?.rows ?? []
      : (await db().query<Record<string, unknown>>(text, params === undefined ? [] : [...params])).rows
