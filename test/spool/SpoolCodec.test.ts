import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Either, FastCheck as fc, Stream } from "effect"
import type { Element } from "../../core/Capture.ts"
import * as CaptureState from "../../core/CaptureState.ts"
import * as SpoolCodec from "../../core/SpoolCodec.ts"
import { captureStateArbitrary, elementArbitrary, history } from "./support/Arbitraries.ts"

const encoder = new TextEncoder()

const decodeRight = (line: string): SpoolCodec.Entry =>
  Either.getOrThrowWith(SpoolCodec.decodeEntry(line), (reason) => new Error(`${reason}: ${line}`))

/** The bytes cut at the given points (sorted, within the length). */
const chunked = (bytes: Uint8Array, cuts: ReadonlyArray<number>): Array<Uint8Array> => {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)
  const out: Array<Uint8Array> = []
  let from = 0
  for (const point of [...points, bytes.length]) {
    out.push(bytes.subarray(from, point))
    from = point
  }
  return out
}

const decodeAll = (chunks: ReadonlyArray<Uint8Array>, segment = "segment-0000000007.jsonl") =>
  SpoolCodec.decodeSegment("folder /spool", segment, Stream.fromIterable(chunks)).pipe(
    Stream.runCollect,
    Effect.map(Chunk.toReadonlyArray),
    Effect.either,
    Effect.runSync
  )

const failureOf = (text: string | Uint8Array) => {
  const result = decodeAll([typeof text === "string" ? encoder.encode(text) : text])
  assert.isTrue(Either.isLeft(result), "the segment should be refused")
  return Either.isLeft(result) ? result.left : assert.fail()
}

const sampleBatch: Element = history(1)[0]!.elements[0]!

describe("SpoolCodec", () => {
  it.prop("an element round trips through its line", [elementArbitrary], ([element]) => {
    const line = SpoolCodec.encodeElement(element)
    assert.notInclude(line, "\n")
    const decoded = decodeRight(line)
    assert.strictEqual(decoded._tag, element._tag)
    assert.strictEqual(SpoolCodec.encodeElement(decoded as Element), line)
    if (decoded._tag === "Batch" && element._tag === "Batch") {
      assert.strictEqual(decoded.shardId, element.shardId)
      assert.deepStrictEqual(decoded.position, element.position)
      assert.strictEqual(decoded.events.length, element.events.length)
      decoded.events.forEach((event, i) => assert.deepStrictEqual(event.position, element.events[i]!.position))
    } else {
      assert.deepStrictEqual(decoded, element)
    }
  }, { fastCheck: { numRuns: 300 } })

  it.prop("a capture state round trips through its line", [captureStateArbitrary], ([state]) => {
    const line = Either.getOrThrow(SpoolCodec.encodeState(state))
    const decoded = decodeRight(line)
    assert.strictEqual(decoded._tag, "State")
    assert.isTrue(decoded._tag === "State" && CaptureState.equals(decoded.state, state))
  }, { fastCheck: { numRuns: 300 } })

  it.prop(
    "a segment of appends decodes to its elements and state lines, however its bytes are cut",
    [
      fc.array(fc.tuple(fc.array(elementArbitrary, { maxLength: 4 }), captureStateArbitrary), { maxLength: 5 }),
      fc.array(fc.nat(), { maxLength: 30 })
    ],
    ([appends, cuts]) => {
      const text = appends.map(([elements, state]) => Either.getOrThrow(SpoolCodec.encodeAppend(elements, state)))
        .join("")
      const result = decodeAll(chunked(encoder.encode(text), cuts))
      const entries = Either.getOrThrowWith(result, (failure) => new Error(failure.message))
      const expected = appends.flatMap(([elements, state]) => [
        ...elements.map(SpoolCodec.encodeElement),
        Either.getOrThrow(SpoolCodec.encodeState(state))
      ])
      assert.deepStrictEqual(
        entries.map((entry) =>
          entry._tag === "State"
            ? Either.getOrThrow(SpoolCodec.encodeState(entry.state))
            : SpoolCodec.encodeElement(entry)
        ),
        expected
      )
    },
    { fastCheck: { numRuns: 200 } }
  )

  it("an append ends with its state line, every line with a newline", () => {
    const { elements, state } = history(8)[7]!
    const text = Either.getOrThrow(SpoolCodec.encodeAppend(elements, state))
    const lines = text.split("\n")
    assert.strictEqual(lines.pop(), "")
    assert.strictEqual(lines.length, elements.length + 1)
    assert.isTrue(lines[lines.length - 1]!.startsWith(`{"_tag":"State","state":{"positions":{`))
  })

  it("refuses to encode an invalid capture state", () => {
    const invalid = {
      positions: new Map([["s", { sequenceNumber: "12", approximateCreationTimeMs: 1 }]]),
      finished: new Set<string>()
    }
    assert.isTrue(Either.isLeft(SpoolCodec.encodeAppend([], invalid)))
  })

  it("a damaged line fails with the segment, the line and the reason", () => {
    const good = SpoolCodec.encodeElement(sampleBatch)
    const cases: ReadonlyArray<readonly [string | Uint8Array, number, string]> = [
      [`${good}\n${good.slice(0, 40)}\n`, 2, "batch"],
      [`${good}\n${good}`, 2, "cut short (no newline at its end)"],
      [`${good.replace(/"sizes":\[(\d+)/, (_, n) => `"sizes":[${Number(n) - 1}`)}\n`, 1, "batch: event 0: not JSON"],
      [`${good.slice(0, -2)}, 1]}\n`, 1, "do not end where"],
      [`{"_tag":"ShardFinished"}\n`, 1, `missing field "shardId"`],
      [`{"_tag":"ShardFinished","shardId":"s","x":1}\n`, 1, `unexpected field "x"`],
      [`{"_tag":"Nope"}\n`, 1, `"_tag"`],
      [`{"shardId":"s","_tag":"Batch","events":[]}\n`, 1, "a batch must begin"],
      [`[1]\n`, 1, "not a JSON object"],
      [`{"_tag":"State","state":{"positions":{},"finished":["a"],"x":1}}\n`, 1, "State"],
      [`\n`, 1, "an empty line"],
      [`{"_tag":"ShardFinished",\n`, 1, "not JSON"],
      [Uint8Array.of(0x7b, 0xff, 0x7d, 0x0a), 1, "not valid UTF-8"]
    ]
    for (const [text, line, reason] of cases) {
      const failure = failureOf(text)
      assert.strictEqual(failure._tag, "SpoolFailure")
      assert.strictEqual(failure.spool, "folder /spool")
      assert.include(failure.message, `segment-0000000007.jsonl, line ${line}: `, String(text))
      assert.include(failure.message, reason, String(text))
      assert.include(failure.message, "start again with a new backfill")
    }
  })

  it("an event that is not an envelope names its place in the batch", () => {
    const good = SpoolCodec.encodeElement(sampleBatch)
    const damaged = good.replace(`"op":"c"`, `"op":"x"`)
    assert.notStrictEqual(damaged, good)
    assert.include(failureOf(`${damaged}\n`).message, "batch: event 0: $.op")
  })

  it("names segments so that they sort in order", () => {
    assert.strictEqual(SpoolCodec.segmentName(1), "segment-0000000001.jsonl")
    assert.strictEqual(SpoolCodec.segmentNumber(SpoolCodec.segmentName(123456)), 123456)
    assert.isUndefined(SpoolCodec.segmentNumber("state.json"))
    assert.isUndefined(SpoolCodec.segmentNumber("segment-0000000000.jsonl"))
  })

  it("a head round trips and a damaged one says why", () => {
    const { state } = history(3)[2]!
    const head = Either.getOrThrow(SpoolCodec.decodeHead(SpoolCodec.encodeHead({ segment: 3, length: 120, state })))
    assert.strictEqual(head.segment, 3)
    assert.strictEqual(head.length, 120)
    assert.isTrue(CaptureState.equals(head.state, state))
    const reason = SpoolCodec.decodeHead(`{"version":1,"segment":0,"length":1,"state":{"positions":{},"finished":[]}}`)
    assert.isTrue(Either.isLeft(reason) && reason.left.includes("$.segment"))
  })
})
