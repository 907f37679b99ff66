import type { PGlite } from "@electric-sql/pglite"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as PgliteTemplate from "../../adapters/cli/PgliteTemplate.ts"
import * as PgliteSink from "../../adapters/sinks/PgliteSink.ts"
import * as Checkpoint from "../../core/Checkpoint.ts"
import { Sink } from "../../core/Sink.ts"
import { checkpointOf, key, type SinkTarget, sourceTable, stream, testSink } from "../contract/SinkContract.ts"
import * as PgliteMemory from "../support/PgliteMemory.ts"

let counter = 0
const fresh = () => `t_${process.pid}_${counter++}`

const pgliteTarget = (db: () => PGlite, dataDir?: string): SinkTarget => ({
  fresh,
  layer: (table, options) =>
    Layer.succeed(
      Sink,
      PgliteSink.fromDatabase(db(), {
        ...options,
        table: options?.table ?? table,
        ...(dataDir === undefined ? {} : { dataDir })
      })
    ),
  sql: PgliteMemory.sqlOf(db)
})

describe("PGlite in memory", () => {
  const db = PgliteMemory.inMemory()
  testSink("PGlite (memory)", () => pgliteTarget(db), { transactional: true, propertyRuns: 10 })
})

describe("PGlite on disk", () => {
  let db: PGlite
  let folder: string
  let dataDir: string
  beforeAll(async () => {
    // A copy of the cached empty database (the CLI's template) instead of initdb's seconds; `PgliteSink.layer` below
    // still makes one the slow way.
    folder = fs.mkdtempSync(path.join(os.tmpdir(), "backstream-pglite-"))
    dataDir = path.join(folder, "db")
    db = await PgliteTemplate.openNew(dataDir)
  }, 120_000)
  afterAll(async () => {
    await db?.close()
    fs.rmSync(folder, { recursive: true, force: true })
  })
  testSink("PGlite (disk)", () => pgliteTarget(() => db, dataDir), { transactional: true, propertyRuns: 5 })
})

describe("PgliteSink.layer", () => {
  it.live("keeps data and checkpoint in its folder across close and reopen", () =>
    Effect.gen(function* () {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "backstream-pglite-"))
      const source = sourceTable()
      const layer = PgliteSink.layer({ dataDir, table: "kept" })
      yield* Effect.gen(function* () {
        const sink = yield* Sink
        assert.strictEqual(sink.description, `pglite table public.kept at ${dataDir}`)
        yield* sink.open(source)
        yield* sink.write({ events: [stream("c", 1, key("a"))], checkpoint: checkpointOf(source, 7) })
      }).pipe(Effect.provide(layer), Effect.scoped)
      const loaded = yield* Effect.gen(function* () {
        const sink = yield* Sink
        yield* sink.open(source)
        return yield* sink.loadCheckpoint
      }).pipe(Effect.provide(layer), Effect.scoped)
      assert.strictEqual(Checkpoint.encode(Option.getOrThrow(loaded)), Checkpoint.encode(checkpointOf(source, 7)))
      fs.rmSync(dataDir, { recursive: true, force: true })
    }), 120_000)
})
