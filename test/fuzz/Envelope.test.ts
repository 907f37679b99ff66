/**
 * The change event envelope decoder (`Envelope.decode`, the `dynamodb` format) on damaged lines: random edits, values
 * of the wrong kind anywhere in the JSON, deep nesting, duplicate names, whitespace. It never throws; what it refuses
 * is an `EnvelopeInvalid`; what it accepts round-trips exactly; a line that only looks different (a name given twice,
 * the last one right; spaces) reads as the original event.
 */
import { assert, describe, it } from "@effect/vitest"
import { Either, FastCheck as fc } from "effect"
import * as AV from "../../core/AttributeValue.ts"
import { attributeValueArbitrary, itemArbitrary } from "../../core/AttributeValueSchema.ts"
import type { ChangeEvent, Position } from "../../core/ChangeEvent.ts"
import * as Envelope from "../../core/Envelope.ts"
import { EnvelopeInvalid } from "../../core/Errors.ts"
import { eventText, mutateText, nested, runs, textMutation, WRONG_VALUES } from "./support/Values.ts"

const positionArbitrary: fc.Arbitrary<Position> = fc.oneof(
  fc.record({
    _tag: fc.constant("Export" as const),
    exportArn: fc.string(),
    file: fc.string(),
    line: fc.integer({ min: 1, max: 10_000_000 })
  }),
  fc.record({
    _tag: fc.constant("Export" as const),
    exportArn: fc.string(),
    file: fc.string(),
    line: fc.integer({ min: 1, max: 10_000_000 }),
    writeTimestampMicros: fc.bigInt({ min: 0n, max: 2n ** 60n }).map(String)
  }),
  fc.record({
    _tag: fc.constant("Stream" as const),
    streamArn: fc.string(),
    shardId: fc.string(),
    sequenceNumber: fc.bigInt({ min: 10n ** 20n, max: 10n ** 40n }).map(String),
    approximateCreationTimeMs: fc.integer({ min: 0, max: 2 ** 42 }),
    ttl: fc.boolean()
  })
)

export const eventArbitrary: fc.Arbitrary<ChangeEvent> = fc.record({
  op: fc.constantFrom("r" as const, "c" as const, "u" as const, "d" as const),
  key: fc.option(attributeValueArbitrary(0).map((pk) => AV.item({ pk })), { nil: undefined }),
  oldImage: fc.option(itemArbitrary(2), { nil: undefined }),
  newImage: itemArbitrary(2),
  timestampMs: fc.integer({ min: 0, max: 2 ** 45 }),
  position: positionArbitrary
}).map(({ key, newImage, oldImage, op, position, timestampMs }): ChangeEvent => ({
  op,
  ...(key === undefined ? {} : { key }),
  ...(oldImage === undefined ? {} : { oldImage }),
  ...(op === "d" ? {} : { newImage }),
  timestampMs,
  position
}))

/** Decodes a line: never a throw; a refusal is an EnvelopeInvalid; an acceptance round-trips exactly. */
const decode = (line: string): ChangeEvent | undefined => {
  const result = Envelope.decode(line)
  if (Either.isLeft(result)) {
    assert.instanceOf(result.left, EnvelopeInvalid)
    assert.isString(result.left.reason)
    return undefined
  }
  const event = result.right
  assert.strictEqual(event.op === "d", event.newImage === undefined, "a d has no after, the others have one")
  const again = Envelope.decode(Envelope.encode(event))
  if (Either.isLeft(again)) return assert.fail(`an accepted envelope does not read back: ${again.left.message}`)
  assert.strictEqual(eventText(again.right), eventText(event))
  return event
}

type Json = unknown

/** Every place in a JSON value, as a parent and a key. */
const places = (json: Json, out: Array<[Record<string, Json> | Array<Json>, string | number]> = []) => {
  if (Array.isArray(json)) json.forEach((v, i) => (out.push([json, i]), places(v, out)))
  else if (typeof json === "object" && json !== null) {
    for (const [k, v] of Object.entries(json)) {
      out.push([json as Record<string, Json>, k])
      places(v, out)
    }
  }
  return out
}

const replacement: fc.Arbitrary<() => Json> = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }).map((json) => () => json),
  fc.constantFrom(...WRONG_VALUES).map((raw) => () => JSON.parse(raw)),
  fc.constantFrom(undefined, null, -1, 0, 1.5, 1e300, "", "d", "x", "export", "stream", "1", [], {}).map((json) => () =>
    json
  )
)

describe("Fuzz: Envelope.decode", () => {
  it.prop(
    "random edits of a line: EnvelopeInvalid or an event that round-trips",
    [eventArbitrary, textMutation],
    ([event, mutation]) => {
      decode(mutateText(Envelope.encode(event), mutation))
    },
    { fastCheck: { numRuns: runs(300) } }
  )

  it.prop(
    "any field set to any value: EnvelopeInvalid or an event that round-trips",
    [eventArbitrary, fc.array(fc.tuple(fc.nat(), replacement), { minLength: 1, maxLength: 3 })],
    ([event, replacements]) => {
      const json = JSON.parse(Envelope.encode(event))
      for (const [at, value] of replacements) {
        const all = places(json)
        const [parent, key] = all[at % all.length]!
        ;(parent as Record<string | number, Json>)[key] = value()
      }
      decode(JSON.stringify(json))
    },
    { fastCheck: { numRuns: runs(300) } }
  )

  it.prop(
    "a name given twice (the last one right) or spaces between tokens: the original event",
    [
      eventArbitrary,
      fc.constantFrom("op", "key", "before", "after", "ts_ms", "source"),
      fc.constantFrom(" ", "\t", "\r\n")
    ],
    ([event, name, ws]) => {
      const line = Envelope.encode(event)
      const shadowed = `{"${name}":{"S":"shadowed"},${line.slice(1)}`
      assert.strictEqual(eventText(decode(shadowed)!), eventText(event))
      const spaced = line.replace(/([{}[\],:])(?=(?:[^"\\]|\\.)*$)/g, `${ws}$1${ws}`)
      assert.strictEqual(
        eventText(decode(JSON.stringify(JSON.parse(line)) === line ? spaced : line)!),
        eventText(event)
      )
    },
    { fastCheck: { numRuns: runs(100) } }
  )

  it.prop(
    "deep nesting in an image: exactly the event at 30 and 1000 levels; at 100000, EnvelopeInvalid, never a throw",
    [
      eventArbitrary.filter((event) => event.op !== "d"),
      fc.constantFrom(30, 1000, 100_000),
      fc.constantFrom("M" as const, "L" as const)
    ],
    ([event, depth, tag]) => {
      const deep = nested(depth, tag)
      const comma = event.newImage!.size > 0 ? "," : ""
      const line = Envelope.encode(event).replace(`"after":{`, `"after":{"deep":${deep.raw}${comma}`)
      if (depth > 1000) {
        const result = Envelope.decode(line)
        if (Either.isRight(result)) return assert.fail(`${depth} levels were decoded`)
        return assert.match(result.left.reason, /^\$\.after: nested too deeply/)
      }
      const expected = { ...event, newImage: new Map([...event.newImage!, ["deep", deep.value()]]) }
      assert.strictEqual(eventText(decode(line)!), eventText(expected))
    },
    { fastCheck: { numRuns: runs(20) } }
  )
})
