/**
 * The PGlite sink with every batch sent by COPY through a staging table (`bulkRows: 1`), as a backfill's large batches
 * go: the same contract as the JSON path.
 */
import { describe } from "@effect/vitest"
import { Layer } from "effect"
import * as PgliteSink from "../../adapters/sinks/PgliteSink.ts"
import { Sink } from "../../core/Sink.ts"
import { type SinkTarget, testSink } from "../contract/SinkContract.ts"
import * as PgliteMemory from "../support/PgliteMemory.ts"

let counter = 0

describe("PGlite in memory, every batch by COPY", () => {
  const db = PgliteMemory.inMemory()
  const target = (): SinkTarget => ({
    fresh: () => `bulk_${counter++}`,
    layer: (table, options) =>
      Layer.succeed(Sink, PgliteSink.fromDatabase(db(), { ...options, table: options?.table ?? table, bulkRows: 1 })),
    sql: PgliteMemory.sqlOf(db)
  })
  testSink("PGlite (memory), every batch by COPY", target, { transactional: true, propertyRuns: 5 })
})
