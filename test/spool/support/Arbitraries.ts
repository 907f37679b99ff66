/**
 * Arbitrary capture elements and capture states, for the spool's codec and contract tests; and a deterministic
 * capture history (elements with the state after each) for the contract suites.
 */
import { FastCheck as fc } from "effect"
import * as AV from "../../../core/AttributeValue.ts"
import { itemArbitrary } from "../../../core/AttributeValueSchema.ts"
import type { Batch, Element } from "../../../core/Capture.ts"
import * as CaptureState from "../../../core/CaptureState.ts"
import type { ChangeEvent } from "../../../core/ChangeEvent.ts"

const STREAM = "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2026-01-14T10:00:00.000"

export const shardIdArbitrary: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom("shardId-00000001768385930000-0a1b2c3d", "shardId-2", "shardId-3") },
  { weight: 1, arbitrary: fc.constantFrom("__proto__", "é😀", 'a"b\\c,"events":[', "\u2028") },
  { weight: 1, arbitrary: fc.fullUnicodeString({ minLength: 1, maxLength: 8 }) }
)

export const sequenceNumberArbitrary: fc.Arbitrary<string> = fc.bigInt({ min: 10n ** 20n, max: 10n ** 40n }).map(
  String
)

const timeArbitrary = fc.integer({ min: 0, max: 2 ** 42 })

const eventArbitrary = (shardId: string): fc.Arbitrary<ChangeEvent> =>
  fc.record({
    op: fc.constantFrom("c", "u", "d") as fc.Arbitrary<ChangeEvent["op"]>,
    pk: fc.fullUnicodeString({ maxLength: 6 }),
    oldImage: fc.option(itemArbitrary(2), { nil: undefined }),
    newImage: itemArbitrary(2),
    sequenceNumber: sequenceNumberArbitrary,
    timeMs: timeArbitrary,
    ttl: fc.boolean()
  }).map(({ newImage, oldImage, op, pk, sequenceNumber, timeMs, ttl }): ChangeEvent => ({
    op,
    key: AV.item({ pk: AV.s(pk) }),
    ...(oldImage === undefined ? {} : { oldImage }),
    ...(op === "d" ? {} : { newImage }),
    timestampMs: timeMs,
    position: { _tag: "Stream", streamArn: STREAM, shardId, sequenceNumber, approximateCreationTimeMs: timeMs, ttl }
  }))

export const batchArbitrary: fc.Arbitrary<Batch> = shardIdArbitrary.chain((shardId) =>
  fc.record({
    events: fc.array(eventArbitrary(shardId), { minLength: 1, maxLength: 4 }),
    sequenceNumber: sequenceNumberArbitrary,
    approximateCreationTimeMs: timeArbitrary
  }).map(({ approximateCreationTimeMs, events, sequenceNumber }): Batch => ({
    _tag: "Batch",
    shardId,
    events,
    position: { sequenceNumber, approximateCreationTimeMs }
  }))
)

export const elementArbitrary: fc.Arbitrary<Element> = fc.oneof(
  { weight: 4, arbitrary: batchArbitrary },
  { weight: 1, arbitrary: shardIdArbitrary.map((shardId): Element => ({ _tag: "ShardFinished", shardId })) },
  {
    weight: 1,
    arbitrary: fc.array(shardIdArbitrary, { maxLength: 3 }).map((shardIds): Element => ({
      _tag: "ShardsGone",
      shardIds
    }))
  },
  { weight: 1, arbitrary: timeArbitrary.map((readToMs): Element => ({ _tag: "CaughtUp", readToMs })) }
)

// "__proto__" is left out: CaptureState.schema's record encoding loses that key (real shard ids never take it).
export const captureStateArbitrary: fc.Arbitrary<CaptureState.CaptureState> = fc.uniqueArray(
  fc.tuple(
    shardIdArbitrary.filter((shardId) => shardId !== "__proto__"),
    fc.option(fc.record({ sequenceNumber: sequenceNumberArbitrary, approximateCreationTimeMs: timeArbitrary }), {
      nil: undefined
    })
  ),
  { maxLength: 6, selector: ([shardId]) => shardId }
).map((shards) => ({
  positions: new Map(shards.flatMap(([shardId, position]) => position === undefined ? [] : [[shardId, position]])),
  finished: new Set(shards.flatMap(([shardId, position]) => position === undefined ? [shardId] : []))
}))

/**
 * A capture history, the same every time: `appends` appends of up to a few elements each, over a few shards that
 * finish and are replaced, each with the state after it. Batch events carry `size` bytes of payload.
 */
export const history = (
  appends: number,
  options: { readonly payload?: number } = {}
): ReadonlyArray<{ readonly elements: ReadonlyArray<Element>; readonly state: CaptureState.CaptureState }> => {
  const payload = "x".repeat(options.payload ?? 16)
  const out: Array<{ elements: ReadonlyArray<Element>; state: CaptureState.CaptureState }> = []
  let state = CaptureState.empty
  let sequence = 10n ** 20n
  let generation = 0
  let shards = ["shardId-0-a", "shardId-0-b"]
  for (let i = 0; i < appends; i++) {
    const elements: Array<Element> = []
    for (const shardId of shards) {
      const events: Array<ChangeEvent> = []
      for (let e = 0; e < 1 + ((i + e) % 3); e++) {
        sequence += 7n
        events.push({
          op: e % 2 === 0 ? "c" : "u",
          key: AV.item({ pk: AV.s(`item-${i}-${e}`) }),
          newImage: AV.item({ pk: AV.s(`item-${i}-${e}`), n: AV.n(String(i)), payload: AV.s(payload) }),
          timestampMs: 1_768_385_930_000 + i,
          position: {
            _tag: "Stream",
            streamArn: STREAM,
            shardId,
            sequenceNumber: String(sequence),
            approximateCreationTimeMs: 1_768_385_930_000 + i,
            ttl: false
          }
        })
      }
      const last = events[events.length - 1]!.position
      elements.push({
        _tag: "Batch",
        shardId,
        events,
        position: {
          sequenceNumber: last._tag === "Stream" ? last.sequenceNumber : "",
          approximateCreationTimeMs: 1_768_385_930_000 + i
        }
      })
    }
    if (i % 7 === 6) {
      const finished = shards
      elements.push(...finished.map((shardId): Element => ({ _tag: "ShardFinished", shardId })))
      generation++
      shards = [`shardId-${generation}-a`, `shardId-${generation}-b`]
      if (generation > 1) {
        elements.push({ _tag: "ShardsGone", shardIds: [`shardId-${generation - 2}-a`, `shardId-${generation - 2}-b`] })
      }
    }
    if (i % 5 === 4) elements.push({ _tag: "CaughtUp", readToMs: 1_768_385_930_000 + i })
    for (const element of elements) state = CaptureState.apply(state, element)
    out.push({ elements, state })
  }
  return out
}
