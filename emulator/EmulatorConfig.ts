/**
 * The emulator's settings. Durations in milliseconds; defaults are AWS's.
 */
import type { ClockMode } from "./EmulatorClock.ts"

export interface EmulatorConfig {
  readonly region: string
  readonly accountId: string
  readonly clock: ClockMode
  /** Where a virtual clock starts (ms since the epoch); default: now. */
  readonly startTimeMs?: number
  /** Shards a new stream starts with (its partitions). */
  readonly shardsPerStream: number
  /** Every open shard closes and a child opens after this long (AWS: about 4 hours). */
  readonly shardRolloverMs: number
  /** A partition splits into two children once its open shard holds this many records (0: never). */
  readonly splitAfterRecords: number
  /** Stream records are trimmed after this long (AWS: 24 hours). */
  readonly retentionMs: number
  /** Shard iterators expire after this long (AWS: 15 minutes). */
  readonly iteratorTtlMs: number
  /** How far LatestRestorableDateTime trails now (AWS: about 5 minutes). */
  readonly pitrLagMs: number
  /** How long an export stays IN_PROGRESS (virtual or real time). */
  readonly exportDurationMs: number
  /** Fuzzy exports: a full export also holds writes up to this long after its ExportTime (0: exact). */
  readonly exportFuzzMs: number
  /** Maximum item size in KB (AWS: 400). */
  readonly maxItemSizeKb: number
}

export const defaults: EmulatorConfig = {
  region: "us-east-1",
  accountId: "000000000000",
  clock: "real",
  shardsPerStream: 2,
  shardRolloverMs: 4 * 60 * 60 * 1000,
  splitAfterRecords: 0,
  retentionMs: 24 * 60 * 60 * 1000,
  iteratorTtlMs: 15 * 60 * 1000,
  pitrLagMs: 5 * 60 * 1000,
  exportDurationMs: 1000,
  exportFuzzMs: 0,
  maxItemSizeKb: 400
}

export const make = (overrides: Partial<EmulatorConfig> = {}): EmulatorConfig => ({ ...defaults, ...overrides })
