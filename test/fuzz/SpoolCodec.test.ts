/**
 * The spool's codec on damaged lines and segments: random edits, batch sizes that lie, events replaced by damaged
 * envelopes (the sizes made to fit, so the envelope decoder is reached), deep nesting, Unicode edge cases, bytes that
 * are not UTF-8, cut and merged lines. A line decodes to an entry that round-trips exactly, or to the reason it is not
 * one, never a throw; a segment gives every line's entry or a `SpoolFailure`, never a defect.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Chunk, Effect, Either, Exit, FastCheck as fc, Stream } from "effect"
import type { Element } from "../../core/Capture.ts"
import * as SpoolCodec from "../../core/SpoolCodec.ts"
import { captureStateArbitrary, elementArbitrary } from "../spool/support/Arbitraries.ts"
import {
  bytesMutation,
  EDGE_STRINGS,
  mutateBytes,
  mutateText,
  nested,
  runs,
  type TextMutation,
  textMutation,
  WRONG_VALUES
} from "./support/Values.ts"

const encoder = new TextEncoder()

const encodeEntry = (entry: SpoolCodec.Entry): string =>
  entry._tag === "State" ? Either.getOrThrow(SpoolCodec.encodeState(entry.state)) : SpoolCodec.encodeElement(entry)

/** Decodes a line: never a throw; an entry it gives encodes to a line that decodes to the same entry. */
const decode = (line: string): SpoolCodec.Entry | undefined => {
  const result = SpoolCodec.decodeEntry(line)
  if (Either.isLeft(result)) {
    assert.isString(result.left)
    return undefined
  }
  const encoded = encodeEntry(result.right)
  const again = SpoolCodec.decodeEntry(encoded)
  if (Either.isLeft(again)) return assert.fail(`an accepted line does not read back: ${again.left}\n${encoded}`)
  assert.strictEqual(encodeEntry(again.right), encoded)
  return result.right
}

const lineArbitrary: fc.Arbitrary<string> = fc.oneof(
  elementArbitrary.map(SpoolCodec.encodeElement),
  captureStateArbitrary.map((state) => Either.getOrThrow(SpoolCodec.encodeState(state)))
)

const batchArbitrary = elementArbitrary.filter((element): element is Extract<Element, { _tag: "Batch" }> =>
  element._tag === "Batch"
)

/** A batch line rebuilt from its header fields and event texts, `sizes` taken from the texts unless given. */
const batchLine = (header: Record<string, unknown>, events: ReadonlyArray<string>, sizes?: ReadonlyArray<unknown>) =>
  `{"_tag":"Batch","shardId":${JSON.stringify(header.shardId)},"sequenceNumber":${
    JSON.stringify(header.sequenceNumber)
  },"approximateCreationTimeMs":${JSON.stringify(header.approximateCreationTimeMs)},"sizes":${
    JSON.stringify(sizes ?? events.map((event) => event.length))
  },"events":[${events.join(",")}]}`

/** Splits a batch line into its header fields and its events' texts, by its sizes. */
const splitBatch = (line: string) => {
  const at = line.indexOf(`,"events":[`)
  const header = JSON.parse(line.slice(0, at) + "}") as Record<string, unknown>
  const events: Array<string> = []
  let from = at + `,"events":[`.length
  for (const size of header.sizes as Array<number>) {
    events.push(line.slice(from, from + size))
    from += size + 1
  }
  return { header, events }
}

type BatchDamage =
  | { readonly _tag: "Size"; readonly at: number; readonly delta: number }
  | { readonly _tag: "Sizes"; readonly sizes: ReadonlyArray<unknown> }
  | { readonly _tag: "Event"; readonly at: number; readonly mutation: TextMutation }
  | { readonly _tag: "Value"; readonly at: number; readonly raw: string }
  | { readonly _tag: "Header"; readonly field: string; readonly value: unknown }
  | { readonly _tag: "DropEvent"; readonly at: number }

const batchDamage: fc.Arbitrary<BatchDamage> = fc.oneof(
  fc.record({ _tag: fc.constant("Size" as const), at: fc.nat(), delta: fc.constantFrom(-2, -1, 1, 2, 1000) }),
  fc.record({
    _tag: fc.constant("Sizes" as const),
    sizes: fc.constantFrom([], [0], [-1], [1.5], ["3"], [null], [2 ** 53], [1, 2, 3, 4, 5, 6, 7, 8])
  }),
  fc.record({ _tag: fc.constant("Event" as const), at: fc.nat(), mutation: textMutation }),
  fc.record({
    _tag: fc.constant("Value" as const),
    at: fc.nat(),
    raw: fc.oneof(
      fc.constantFrom(...WRONG_VALUES),
      fc.constantFrom(...EDGE_STRINGS).map((s) => `{"S":${JSON.stringify(s)}}`),
      fc.constantFrom(30, 1000, 100_000).map((depth) => nested(depth, "L").raw)
    )
  }),
  fc.record({
    _tag: fc.constant("Header" as const),
    field: fc.constantFrom("shardId", "sequenceNumber", "approximateCreationTimeMs"),
    value: fc.constantFrom("", "x", -1, 1e300, null, [], "1", "100000000000000000000", "\ud800", "😀")
  }),
  fc.record({ _tag: fc.constant("DropEvent" as const), at: fc.nat() })
)

const damageBatch = (line: string, damage: BatchDamage): string => {
  const { events, header } = splitBatch(line)
  const sizes = header.sizes as Array<number>
  switch (damage._tag) {
    case "Size":
      return batchLine(
        header,
        events,
        sizes.map((size, i) => (i === damage.at % sizes.length ? size + damage.delta : size))
      )
    case "Sizes":
      return batchLine(header, events, damage.sizes)
    case "Event":
      return batchLine(
        header,
        events.map((e, i) => (i === damage.at % events.length ? mutateText(e, damage.mutation) : e))
      )
    case "Value":
      return batchLine(
        header,
        events.map((
          e,
          i
        ) => (i === damage.at % events.length ? e.replace(`"after":{`, `"after":{"fuzz":${damage.raw},`) : e))
      )
    case "Header":
      return batchLine({ ...header, [damage.field]: damage.value }, events)
    case "DropEvent":
      return batchLine(header, events.filter((_, i) => i !== damage.at % events.length))
  }
}

/** Decodes a segment's bytes; a failure must be a SpoolFailure naming the spool and the segment. */
const decodeSegment = (bytes: Uint8Array, cut: number) =>
  SpoolCodec.decodeSegment(
    "folder /fuzz",
    "segment-0000000001.jsonl",
    Stream.fromIterable([bytes.subarray(0, cut % (bytes.length + 1)), bytes.subarray(cut % (bytes.length + 1))])
  ).pipe(Stream.runCollect, Effect.map(Chunk.toReadonlyArray), Effect.exit, Effect.runSync)

describe("Fuzz: SpoolCodec", () => {
  it.prop("random edits of a line: the reason it is not an entry, or an entry that round-trips", [
    lineArbitrary,
    textMutation
  ], ([line, mutation]) => {
    decode(mutateText(line, mutation))
  }, { fastCheck: { numRuns: runs(300) } })

  it.prop("damaged batches: sizes that lie, damaged events, bad headers: refused, or an exact round trip", [
    batchArbitrary,
    batchDamage
  ], ([batch, damage]) => {
    const line = SpoolCodec.encodeElement(batch)
    const damaged = damageBatch(line, damage)
    const decoded = decode(damaged)
    if (decoded !== undefined && damage._tag === "Value" && damage.raw.length > 100_000 && damaged !== line) {
      assert.fail("an event nested 100000 levels deep was accepted")
    }
  }, { fastCheck: { numRuns: runs(200) } })

  it.prop(
    "segments with damaged bytes: every line's entry, or a SpoolFailure; never a defect",
    [
      fc.array(fc.tuple(fc.array(elementArbitrary, { maxLength: 3 }), captureStateArbitrary), {
        minLength: 1,
        maxLength: 3
      }),
      fc.option(bytesMutation, { nil: undefined }),
      fc.nat()
    ],
    ([appends, mutation, cut]) => {
      const text = appends.map(([elements, state]) => Either.getOrThrow(SpoolCodec.encodeAppend(elements, state))).join(
        ""
      )
      const original = encoder.encode(text)
      const bytes = mutation === undefined ? original : mutateBytes(original, mutation)
      const exit = decodeSegment(bytes, cut)
      if (Exit.isFailure(exit)) {
        const failure = Cause.failureOption(exit.cause)
        if (failure._tag === "None") return assert.fail(`a defect: ${Cause.pretty(exit.cause)}`)
        assert.strictEqual(failure.value._tag, "SpoolFailure")
        assert.include(failure.value.message, "segment-0000000001.jsonl, line ")
        return
      }
      // Read whole: valid UTF-8, ending with a newline, every line an entry, none dropped.
      const lines = new TextDecoder("utf-8", { fatal: true }).decode(bytes).split("\n")
      assert.strictEqual(lines.pop(), "", "the segment ends with a newline")
      assert.strictEqual(exit.value.length, lines.length)
      exit.value.forEach((entry, i) => assert.strictEqual(encodeEntry(entry), encodeEntry(decode(lines[i]!)!)))
      if (mutation === undefined) assert.strictEqual(exit.value.map(encodeEntry).join("\n") + "\n", text)
    },
    { fastCheck: { numRuns: runs(100) } }
  )

  it.prop(
    "damaged heads: the reason, or a head that round-trips",
    [captureStateArbitrary, textMutation],
    ([state, mutation]) => {
      const text = mutateText(SpoolCodec.encodeHead({ segment: 3, length: 1234, state }), mutation)
      const head = SpoolCodec.decodeHead(text)
      if (Either.isRight(head)) {
        const again = SpoolCodec.decodeHead(SpoolCodec.encodeHead(head.right))
        assert.isTrue(Either.isRight(again), "an accepted head reads back")
      }
    },
    { fastCheck: { numRuns: runs(200) } }
  )
})
