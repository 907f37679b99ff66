/**
 * Writes to the harness's table over a few keys, as a property test draws them: puts, updates, deletes and two-item
 * transactions, each with a fresh value so that every image differs; and the steps of a history between writes (time
 * passing on the emulator's virtual clock, a shard split).
 */
import {
  DeleteItemCommand,
  PutItemCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand
} from "@aws-sdk/client-dynamodb"
import { Effect, FastCheck as fc } from "effect"
import * as EngineHarness from "./EngineHarness.ts"

export type Write =
  | { readonly _tag: "Put" | "Update" | "Delete"; readonly key: number }
  | { readonly _tag: "Transaction"; readonly key: number; readonly other: number }

export type Step =
  | Write
  | { readonly _tag: "Advance"; readonly ms: number }
  | { readonly _tag: "Split" }

const KEYS = 6

export const writeArbitrary: fc.Arbitrary<Write> = fc.oneof(
  { arbitrary: fc.record({ _tag: fc.constant("Put" as const), key: fc.nat(KEYS - 1) }), weight: 4 },
  { arbitrary: fc.record({ _tag: fc.constant("Update" as const), key: fc.nat(KEYS - 1) }), weight: 3 },
  { arbitrary: fc.record({ _tag: fc.constant("Delete" as const), key: fc.nat(KEYS - 1) }), weight: 2 },
  {
    arbitrary: fc.record({ _tag: fc.constant("Transaction" as const), key: fc.nat(KEYS - 1), other: fc.nat(KEYS - 2) }),
    weight: 1
  }
)

/** Writes, time passing (mostly under a second, sometimes minutes: past the margin, past iterator expiry), splits. */
export const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  { arbitrary: writeArbitrary, weight: 8 },
  {
    arbitrary: fc.record({
      _tag: fc.constant("Advance" as const),
      ms: fc.oneof(fc.integer({ min: 0, max: 1500 }), fc.integer({ min: 60_000, max: 20 * 60_000 }))
    }),
    weight: 3
  },
  { arbitrary: fc.record({ _tag: fc.constant("Split" as const) }), weight: 1 }
)

export const keyOf = (key: number) => ({ pk: { S: `item-${key % KEYS}` }, sk: { N: String(key % 2) } })

let written = 0

/** Applies one write with the SDK. */
export const write = (harness: EngineHarness.Harness, step: Write): Effect.Effect<void> =>
  Effect.promise((): Promise<unknown> => {
    const n = String(++written)
    const Key = keyOf(step.key)
    const table = EngineHarness.TABLE
    switch (step._tag) {
      case "Put":
        return harness.sdk.dynamodb.send(
          new PutItemCommand({ TableName: table, Item: { ...Key, v: { N: n }, note: { S: `put ${n}` } } })
        )
      case "Update":
        return harness.sdk.dynamodb.send(
          new UpdateItemCommand({
            TableName: table,
            Key,
            UpdateExpression: "SET v = :v ADD hits :one",
            ExpressionAttributeValues: { ":v": { N: n }, ":one": { N: "1" } }
          })
        )
      case "Delete":
        return harness.sdk.dynamodb.send(new DeleteItemCommand({ TableName: table, Key }))
      case "Transaction": {
        const other = (step.key + 1 + step.other) % KEYS
        return harness.sdk.dynamodb.send(
          new TransactWriteItemsCommand({
            TransactItems: [
              { Put: { TableName: table, Item: { ...Key, v: { N: n }, note: { S: `tx ${n}` } } } },
              {
                Update: {
                  TableName: table,
                  Key: keyOf(other),
                  UpdateExpression: "SET tx = :n",
                  ExpressionAttributeValues: { ":n": { N: n } }
                }
              }
            ]
          })
        )
      }
    }
  }).pipe(Effect.asVoid)

/** Applies one step: a write, time passing on the emulator's virtual clock, or a split of the fullest open shard. */
export const step = (harness: EngineHarness.Harness, streamArn: string, step: Step): Effect.Effect<void> => {
  switch (step._tag) {
    case "Advance":
      return Effect.orDie(harness.instance.clock.advance(step.ms))
    case "Split":
      return Effect.ignore(
        harness.instance.streams.splitShard(streamArn).pipe(Effect.withClock(harness.instance.clock))
      )
    default:
      return write(harness, step)
  }
}
