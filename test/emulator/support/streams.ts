import { Effect } from "effect"
import type { AwsError } from "../../../emulator/AwsError.ts"
import { EmulatorClock } from "../../../emulator/EmulatorClock.ts"
import * as EmulatorConfig from "../../../emulator/EmulatorConfig.ts"
import { Streams } from "../../../emulator/streams/Streams.ts"

// deno-lint-ignore no-explicit-any
export type Json = any

export const T0 = Date.UTC(2026, 0, 14, 10, 18, 50, 622)
export const MINUTE = 60_000
export const HOUR = 60 * MINUTE

/** A Streams model on a virtual clock at T0, with its operations as effects on that clock. */
export const harness = (overrides: Partial<EmulatorConfig.EmulatorConfig> = {}) => {
  const clock = new EmulatorClock("virtual", T0)
  const streams = new Streams(EmulatorConfig.make({ clock: "virtual", startTimeMs: T0, ...overrides }), clock)
  const call = (operation: string, input: Record<string, unknown>): Effect.Effect<Json, AwsError> =>
    streams.operations[operation]!(input).pipe(Effect.withClock(clock))
  const failure = (operation: string, input: Record<string, unknown>) => Effect.flip(call(operation, input))
  const advance = (ms: number) => Effect.orDie(clock.advance(ms))
  const describe = (arn: string, input: Record<string, unknown> = {}) =>
    call("DescribeStream", { StreamArn: arn, ...input }).pipe(Effect.map((out) => out.StreamDescription))
  const shards = (arn: string) => Effect.map(describe(arn), (d) => d.Shards as Array<Json>)
  const iterator = (arn: string, shardId: string, type = "TRIM_HORIZON", sequenceNumber?: string) =>
    call("GetShardIterator", {
      StreamArn: arn,
      ShardId: shardId,
      ShardIteratorType: type,
      ...(sequenceNumber === undefined ? {} : { SequenceNumber: sequenceNumber })
    }).pipe(Effect.map((out) => out.ShardIterator as string))
  /** Reads from an iterator until a closed shard ends or an open one has nothing new. */
  const drain = (start: string, limit?: number) =>
    Effect.gen(function* () {
      const records: Array<Json> = []
      let next: string | undefined = start
      while (next !== undefined) {
        const out: Json = yield* call("GetRecords", {
          ShardIterator: next,
          ...(limit === undefined ? {} : { Limit: limit })
        })
        records.push(...out.Records)
        next = out.Records.length === 0 ? undefined : out.NextShardIterator
      }
      return records
    })
  const readAll = (arn: string) =>
    Effect.gen(function* () {
      const records: Array<Json> = []
      for (const shard of yield* shards(arn)) records.push(...yield* drain(yield* iterator(arn, shard.ShardId)))
      return records
    })
  return { clock, streams, call, failure, advance, describe, shards, iterator, drain, readAll }
}
