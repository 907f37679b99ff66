/**
 * The PGlite sink with every batch sent by COPY through a staging table (`bulkRows: 1`), as a backfill's large batches
 * go: the same contract as the JSON path.
 */
import type { PGlite } from "@electric-sql/pglite"
import { afterAll, beforeAll, describe } from "@effect/vitest"
import { Layer } from "effect"
import * as PgliteSink from "../../adapters/sinks/PgliteSink.ts"
import { Sink } from "../../core/Sink.ts"
import { type SinkTarget, testSink } from "../contract/SinkContract.ts"

let counter = 0

describe("PGlite in memory, every batch by COPY", () => {
  let db: PGlite
  beforeAll(async () => {
    db = await PgliteSink.openDatabase()
  }, 120_000)
  afterAll(async () => {
    await db?.close()
  })
  const target = (): SinkTarget => ({
    fresh: () => `bulk_${counter++}`,
    layer: (table, options) =>
      Layer.succeed(Sink, PgliteSink.fromDatabase(db, { ...options, table: options?.table ?? table, bulkRows: 1 })),
    sql: async (text, params) =>
      params === undefined && text.includes(";")
        ? (await db.exec(text)).at(-1)?.rows ?? []
        : (await db.query<Record<string, unknown>>(text, params === undefined ? [] : [...params])).rows
  })
  testSink("PGlite (memory), every batch by COPY", target, { transactional: true, propertyRuns: 5 })
})
