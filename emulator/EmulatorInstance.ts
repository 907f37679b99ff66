/**
 * A whole emulator: the clock, the tables (dynalite), their streams, PITR exports, S3 and the admin API, wired to one
 * router. `make` builds one in memory; `NodeServer.serve` puts it on a port; tests can also call `emulator.handle`
 * and move the virtual clock in-process.
 */
import { Effect } from "effect"
import * as AdminApi from "./AdminApi.ts"
import { Emulator, RequestLog } from "./Emulator.ts"
import { EmulatorClock } from "./EmulatorClock.ts"
import * as EmulatorConfig from "./EmulatorConfig.ts"
import { Faults } from "./Faults.ts"
import * as Persistence from "./Persistence.ts"
import { Tables } from "./dynamodb/Tables.ts"
import { Exports } from "./exports/Exports.ts"
import * as S3Api from "./s3/S3Api.ts"
import { S3Store } from "./s3/S3Store.ts"
import { Streams } from "./streams/Streams.ts"

export interface EmulatorInstance {
  readonly emulator: Emulator
  readonly config: EmulatorConfig.EmulatorConfig
  readonly clock: EmulatorClock
  readonly tables: Tables
  readonly streams: Streams
  readonly exports: Exports
  readonly s3: S3Store
  readonly faults: Faults
  /** Brings time-driven work up to now: due exports complete, expired TTL items are deleted. */
  readonly tick: Effect.Effect<void>
  /** Drops every table, stream, export, bucket, fault rule and log entry. */
  readonly reset: Effect.Effect<void>
}

export const make = (overrides: Partial<EmulatorConfig.EmulatorConfig> = {}): Effect.Effect<EmulatorInstance> =>
  Effect.gen(function* () {
    const config = EmulatorConfig.make(overrides)
    const clock = yield* EmulatorClock.make(config.clock, config.startTimeMs)
    const log = new RequestLog(clock)
    const streams = new Streams(config, clock)
    const faults = new Faults((iterator) => streams.shardOfIterator(iterator))
    const tables = new Tables(config, clock, streams)
    const s3 = new S3Store()
    const exports = new Exports(config, tables, s3, faults)
    let instance: EmulatorInstance | undefined
    const tick = Effect.zipRight(exports.settle(), Effect.ignore(tables.expireItems())).pipe(Effect.withClock(clock))
    const dynamodb = { ...tables.operations, ...exports.operations }
    const emulator = new Emulator(config, clock, log, {
      dynamodb,
      direct: tables.directOperations,
      streams: streams.operations,
      s3: S3Api.make(s3, log, config, faults),
      admin: AdminApi.make(() => instance!)
    }, faults)
    instance = {
      emulator,
      config,
      clock,
      tables,
      streams,
      exports,
      s3,
      faults,
      tick,
      reset: Effect.gen(function* () {
        const listed = yield* Effect.orElseSucceed(tables.operations.ListTables!({}), () => ({}))
        for (const name of (listed as { TableNames?: Array<string> }).TableNames ?? []) {
          yield* Effect.ignore(tables.operations.DeleteTable!({ TableName: name }))
        }
        tables.reset()
        streams.reset()
        exports.reset()
        yield* s3.reset()
        faults.clear()
        log.clear()
      }).pipe(Effect.withClock(clock))
    }
    return instance
  })

/**
 * An instance holding a saved state (see `Persistence.ts`). A virtual clock starts where the saved clock stood (or at
 * a later `startTimeMs`), so time never runs backwards across a restart; a real one is the wall clock.
 */
export const fromSnapshot = (
  document: Persistence.Document,
  overrides: Partial<EmulatorConfig.EmulatorConfig> = {}
): Effect.Effect<EmulatorInstance, Persistence.PersistenceError> =>
  Effect.gen(function* () {
    const virtual = (overrides.clock ?? EmulatorConfig.defaults.clock) === "virtual"
    const instance = yield* make(
      virtual
        ? { ...overrides, startTimeMs: Math.max(overrides.startTimeMs ?? document.clock.nowMs, document.clock.nowMs) }
        : overrides
    )
    yield* Persistence.restore(instance, document)
    return instance
  })
