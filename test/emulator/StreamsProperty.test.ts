import { assert, describe, it } from "@effect/vitest"
import { Effect, FastCheck as fc } from "effect"
import * as SequenceNumber from "../../core/SequenceNumber.ts"
import type { AwsError } from "../../emulator/AwsError.ts"
import { EmulatorClock } from "../../emulator/EmulatorClock.ts"
import * as EmulatorConfig from "../../emulator/EmulatorConfig.ts"
import { type Change, Streams } from "../../emulator/streams/Streams.ts"

// deno-lint-ignore no-explicit-any
type Json = any

const T0 = Date.UTC(2026, 0, 14, 10, 18, 50, 622)
const KEYS = ["a", "b", "c", "d", "e"]
const TABLE = {
  name: "history",
  arn: "arn:aws:dynamodb:us-east-1:000000000000:table/history",
  keySchema: [{ AttributeName: "pk", KeyType: "HASH" }]
}

type Command =
  | { readonly _tag: "write"; readonly key: number; readonly remove: boolean }
  | { readonly _tag: "advance"; readonly ms: number }
  | { readonly _tag: "split"; readonly pick: number }

const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({ _tag: fc.constant("write"), key: fc.nat(KEYS.length - 1), remove: fc.boolean() })
  },
  { weight: 2, arbitrary: fc.record({ _tag: fc.constant("advance"), ms: fc.integer({ min: 1, max: 3 * 3_600_000 }) }) },
  { weight: 1, arbitrary: fc.record({ _tag: fc.constant("split"), pick: fc.nat() }) }
) as fc.Arbitrary<Command>

const scenario = fc.record({
  shardsPerStream: fc.integer({ min: 1, max: 3 }),
  splitAfterRecords: fc.constantFrom(0, 0, 3, 7),
  commands: fc.array(command, { maxLength: 80 }),
  limits: fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 5 })
})

/** What a history of one item looks like: its event names and versions, in order. */
const describeRecord = (r: Json) =>
  `${r.eventName}:${r.dynamodb.OldImage?.v.N ?? "-"}>${r.dynamodb.NewImage?.v.N ?? "-"}`

type Scenario = typeof scenario extends fc.Arbitrary<infer A> ? A : never

const run = ({ shardsPerStream, splitAfterRecords, commands, limits }: Scenario) =>
  Effect.gen(function* () {
    const clock = new EmulatorClock("virtual", T0)
    const config = EmulatorConfig.make({
      clock: "virtual",
      shardsPerStream,
      splitAfterRecords,
      shardRolloverMs: 3_600_000,
      retentionMs: 90 * 24 * 3_600_000
    })
    const streams = new Streams(config, clock)
    const call = (operation: string, input: Record<string, unknown>): Effect.Effect<Json, AwsError> =>
      streams.operations[operation]!(input).pipe(Effect.withClock(clock))
    const { arn } = streams.enable(TABLE, "NEW_AND_OLD_IMAGES")

    const expected = new Map<string, Array<string>>(KEYS.map((k) => [k, []]))
    const versions = new Map<string, number>()
    let version = 0
    for (const c of commands) {
      if (c._tag === "advance") yield* Effect.orDie(clock.advance(c.ms))
      else if (c._tag === "split") {
        const open = (yield* call("DescribeStream", { StreamArn: arn })).StreamDescription.Shards.filter((s: Json) =>
          s.SequenceNumberRange.EndingSequenceNumber === undefined
        )
        yield* Effect.ignore(streams.splitShard(arn, open[c.pick % open.length].ShardId).pipe(Effect.withClock(clock)))
      } else {
        const k = KEYS[c.key]!, old = versions.get(k)
        if (c.remove && old === undefined) continue
        const image = (v: number) => ({ pk: { S: k }, v: { N: String(v) } })
        const change: Change = {
          keys: { pk: { S: k } },
          routingKey: k,
          ...(old === undefined ? {} : { oldImage: image(old) }),
          ...(c.remove ? {} : { newImage: image(++version) })
        }
        if (c.remove) versions.delete(k)
        else versions.set(k, version)
        streams.append(TABLE.name, change)
        const name = old === undefined ? "INSERT" : c.remove ? "REMOVE" : "MODIFY"
        expected.get(k)!.push(`${name}:${old ?? "-"}>${c.remove ? "-" : version}`)
      }
    }

    const shards: Array<Json> = []
    let start: string | undefined
    do {
      const d: Json = (yield* call("DescribeStream", {
        StreamArn: arn,
        Limit: 3,
        ...(start === undefined ? {} : { ExclusiveStartShardId: start })
      })).StreamDescription
      shards.push(...d.Shards)
      start = d.LastEvaluatedShardId
    } while (start !== undefined)

    const read = new Set<string>(), seen = new Map<string, Array<string>>(KEYS.map((k) => [k, []]))
    const sequenceNumbers: Array<string> = []
    let call_ = 0
    while (read.size < shards.length) {
      const ready = shards.filter((s) =>
        !read.has(s.ShardId) && (s.ParentShardId === undefined || read.has(s.ParentShardId))
      )
      assert.isNotEmpty(ready, "every shard's parent is listed")
      for (const shard of ready) {
        let next: string | undefined = (yield* call("GetShardIterator", {
          StreamArn: arn,
          ShardId: shard.ShardId,
          ShardIteratorType: "TRIM_HORIZON"
        })).ShardIterator
        while (next !== undefined) {
          const out: Json = yield* call("GetRecords", { ShardIterator: next, Limit: limits[call_++ % limits.length] })
          for (const r of out.Records) {
            seen.get(r.dynamodb.Keys.pk.S)!.push(describeRecord(r))
            sequenceNumbers.push(r.dynamodb.SequenceNumber)
          }
          next = out.Records.length === 0 ? undefined : out.NextShardIterator
        }
        read.add(shard.ShardId)
      }
    }
    assert.deepStrictEqual(seen, expected)
    assert.strictEqual(new Set(sequenceNumbers).size, sequenceNumbers.length)
    for (const s of sequenceNumbers) assert.isTrue(SequenceNumber.isSequenceNumber(s))
  })

describe("Streams: property", () => {
  it.effect.prop(
    "reading every shard, parents first, yields each item's history exactly once and in order",
    [scenario],
    ([s]) => run(s),
    { fastCheck: { numRuns: 150 } }
  )
})
