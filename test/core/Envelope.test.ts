import { assert, describe, it } from "@effect/vitest"
import { Either, FastCheck as fc, Schema } from "effect"
import * as AV from "../../core/AttributeValue.ts"
import { attributeValueArbitrary, itemArbitrary } from "../../core/AttributeValueSchema.ts"
import type { ChangeEvent, Position } from "../../core/ChangeEvent.ts"
import * as DynamoJson from "../../core/DynamoJson.ts"
import * as Envelope from "../../core/Envelope.ts"
import * as ExportLine from "../../core/ExportLine.ts"
import * as ItemKey from "../../core/ItemKey.ts"
import * as PlainJson from "../../core/PlainJson.ts"

const position: fc.Arbitrary<Position> = fc.oneof(
  fc.record({
    _tag: fc.constant("Export" as const),
    exportArn: fc.string(),
    file: fc.string(),
    line: fc.integer({ min: 1, max: 10_000_000 })
  }, { requiredKeys: ["_tag", "exportArn", "file", "line"] }).chain((p) =>
    fc.option(fc.bigInt({ min: 0n, max: 2n ** 60n }).map(String), { nil: undefined }).map((micros) =>
      micros === undefined ? p : { ...p, writeTimestampMicros: micros }
    )
  ),
  fc.record({
    _tag: fc.constant("Stream" as const),
    streamArn: fc.string(),
    shardId: fc.string(),
    sequenceNumber: fc.bigInt({ min: 10n ** 20n, max: 10n ** 40n }).map(String),
    approximateCreationTimeMs: fc.integer({ min: 0, max: 2 ** 42 }),
    ttl: fc.boolean()
  })
)

const event: fc.Arbitrary<ChangeEvent> = fc.record({
  op: fc.constantFrom("r", "c", "u", "d") as fc.Arbitrary<ChangeEvent["op"]>,
  key: fc.option(fc.tuple(attributeValueArbitrary(0)).map(([pk]) => AV.item({ pk })), { nil: undefined }),
  oldImage: fc.option(itemArbitrary(2), { nil: undefined }),
  newImage: itemArbitrary(2),
  timestampMs: fc.integer({ min: 0, max: 2 ** 45 }),
  position
}).map(({ key, newImage, oldImage, op, position, timestampMs }): ChangeEvent => ({
  op,
  ...(key === undefined ? {} : { key }),
  ...(oldImage === undefined ? {} : { oldImage }),
  ...(op === "d" ? {} : { newImage }),
  timestampMs,
  position
}))

const sameImage = (a: AV.Item | undefined, b: AV.Item | undefined) =>
  a === undefined ? b === undefined : b !== undefined && AV.itemEquals(a, b)

let kept = 0

describe("Envelope", () => {
  it.prop("round trips in the dynamodb format", [event], ([original]) => {
    const line = Envelope.encode(original)
    const decoded = Either.getOrThrowWith(Envelope.decode(line), (e) => new Error(e.message))
    assert.strictEqual(Envelope.encode(decoded), line)
    assert.strictEqual(decoded.op, original.op)
    assert.isTrue(sameImage(decoded.key, original.key))
    assert.isTrue(sameImage(decoded.oldImage, original.oldImage))
    assert.isTrue(sameImage(decoded.newImage, original.newImage))
    assert.strictEqual(decoded.timestampMs, original.timestampMs)
    assert.deepStrictEqual(decoded.position, original.position)
  }, { fastCheck: { numRuns: 500 } })

  it.prop(
    "a snapshot read that keeps its line (itemsWhenAsked) gives the envelope of its copy, in both formats",
    [itemArbitrary(3), fc.string({ minLength: 1 }), fc.integer({ min: -1_000_000, max: 1_000_000 }), fc.string()],
    ([attributes, pk, sk, file]) => {
      const item = new Map([["pk", AV.s(pk)], ["sk", AV.n(String(sk))], ...attributes])
      const context: ExportLine.LineContext = {
        exportArn: "arn:aws:dynamodb:us-east-1:123456789012:table/t/export/01768385930622-efd1a093",
        file,
        type: "FULL_EXPORT",
        exportTimeMs: 1768385930622,
        keySchema: ItemKey.make("pk", "sk"),
        newImageOnly: false,
        itemsWhenAsked: true
      }
      const read = ExportLine.decodeTextUnsafe(JSON.stringify({ Item: DynamoJson.encodeItem(item) }), 9, context)
      const copy = { ...read, newImage: read.newImage! }
      for (const format of Envelope.formats) {
        assert.strictEqual(Envelope.encode(read, format), Envelope.encode(copy, format))
      }
      if (ExportLine.itemText(read) !== undefined) kept++
    },
    { fastCheck: { numRuns: 1000 } }
  )

  it("(most of those reads kept their line: the comparison above is not vacuous)", () => {
    assert.isAbove(kept, 300)
  })

  it("has Debezium's shape", () => {
    const line = Envelope.encode({
      op: "d",
      key: AV.item({ pk: AV.s("a") }),
      oldImage: AV.item({ pk: AV.s("a"), n: AV.n("1.50") }),
      timestampMs: 1_700_000_000_000,
      position: {
        _tag: "Stream",
        streamArn: "arn:s",
        shardId: "shardId-1",
        sequenceNumber: "100000000000000000000001",
        approximateCreationTimeMs: 1_700_000_000_000,
        ttl: true
      }
    })
    assert.strictEqual(
      line,
      `{"op":"d","key":{"pk":{"S":"a"}},"before":{"pk":{"S":"a"},"n":{"N":"1.50"}},"after":null,`
        + `"ts_ms":1700000000000,"source":{"connector":"backstream","kind":"stream","stream_arn":"arn:s",`
        + `"shard_id":"shardId-1","sequence_number":"100000000000000000000001","approximate_creation_ms":1700000000000,`
        + `"ttl":true}}`
    )
  })

  it("rejects lines that are not envelopes, saying why", () => {
    const reason = (line: string) => {
      const result = Envelope.decode(line)
      assert.isTrue(Either.isLeft(result), line)
      return Either.isLeft(result) ? result.left.message : ""
    }
    const good = JSON.parse(
      Envelope.encode({
        op: "r",
        newImage: AV.item({ pk: AV.s("a") }),
        timestampMs: 1,
        position: { _tag: "Export", exportArn: "e", file: "f", line: 1 }
      })
    )
    assert.include(reason("{"), "not JSON")
    assert.include(reason(JSON.stringify({ ...good, op: "x" })), "op")
    assert.include(reason(JSON.stringify({ ...good, after: { pk: { X: "1" } } })), "after")
    assert.include(reason(JSON.stringify({ ...good, op: "d" })), `op d cannot have "after"`)
    assert.include(reason(JSON.stringify({ ...good, after: null })), `op r needs "after"`)
    assert.include(reason(JSON.stringify({ ...good, source: { ...good.source, line: 0 } })), "source")
    assert.include(reason(JSON.stringify({ ...good, extra: 1 })), "extra")
  })

  it("the hand-checked fast path accepts exactly the envelopes the Schema accepts (differential)", () => {
    const schemaAccepts = Schema.decodeUnknownEither(Envelope.EnvelopeJson)
    const exportSource = { connector: "backstream", kind: "export", export_arn: "e", file: "f", line: 3 }
    const streamSource = {
      connector: "backstream",
      kind: "stream",
      stream_arn: "arn:s",
      shard_id: "shardId-1",
      sequence_number: "100000000000000000000001",
      approximate_creation_ms: 5,
      ttl: false
    }
    const odd = fc.constantFrom<unknown>(
      undefined,
      null,
      0,
      -1,
      1.5,
      Number.MAX_SAFE_INTEGER + 2,
      "",
      "x",
      "100000000000000000000001",
      "12",
      true,
      [],
      {},
      { pk: { S: "a" } },
      "backstream",
      "export",
      "stream",
      "u",
      "d"
    )
    const mutate = (base: Record<string, unknown>) =>
      fc.tuple(fc.constantFrom(...Object.keys(base), "extra"), odd).map(([field, value]) => {
        const copy: Record<string, unknown> = { ...base }
        if (value === undefined) delete copy[field]
        else copy[field] = value
        return copy
      })
    const envelope = fc.oneof(
      fc.constant({ op: "u", key: { pk: { S: "a" } }, before: null, after: { pk: { S: "a" } }, ts_ms: 1 }),
      fc.constant({ op: "d", key: { pk: { S: "a" } }, before: { pk: { S: "a" } }, after: null, ts_ms: 2 })
    )
    const lines = fc.tuple(
      envelope,
      fc.oneof(
        fc.constant<Record<string, unknown>>(exportSource),
        fc.constant<Record<string, unknown>>(streamSource),
        mutate(exportSource),
        mutate(streamSource)
      )
    ).chain(([base, source]) => fc.oneof(fc.constant({ ...base, source }), mutate({ ...base, source })))
    fc.assert(
      fc.property(lines, (json) => {
        const ours = Envelope.decode(JSON.stringify(json))
        const schema = schemaAccepts(JSON.parse(JSON.stringify(json)), { onExcessProperty: "error" })
        if (Either.isRight(ours)) assert.isTrue(Either.isRight(schema), JSON.stringify(json))
        if (Either.isLeft(schema)) assert.isTrue(Either.isLeft(ours), JSON.stringify(json))
      }),
      { numRuns: 2000 }
    )
  })

  it("plain format: exact numbers as JSON numbers, the rest as strings; bytes as base64; sets as arrays", () => {
    const item = AV.item({
      small: AV.n("12.50"),
      tenth: AV.n("0.1"),
      big: AV.n("9007199254740993"),
      safe: AV.n("9007199254740992"),
      huge: AV.n("1E+125"),
      precise: AV.n("3.14159265358979323846"),
      bytes: AV.b(Uint8Array.of(1, 2, 3)),
      set: AV.ns(["1", "12345678901234567890"]),
      nothing: AV.nul,
      list: AV.l([AV.bool(false), AV.bs([Uint8Array.of(255)])])
    })
    assert.deepStrictEqual(JSON.parse(JSON.stringify(PlainJson.fromItem(item))), {
      small: 12.5,
      tenth: 0.1,
      big: "9007199254740993",
      safe: 9007199254740992,
      huge: 1e125,
      precise: "3.14159265358979323846",
      bytes: "AQID",
      set: [1, "12345678901234567890"],
      nothing: null,
      list: [false, ["/w=="]]
    })
  })
})
