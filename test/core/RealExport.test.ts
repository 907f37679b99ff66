import { assert, describe, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import * as LocalExport from "../../adapters/node/LocalExport.ts"
import type { ChangeEvent, ExportPosition } from "../../core/ChangeEvent.ts"
import * as DynamoJson from "../../core/DynamoJson.ts"
import * as Envelope from "../../core/Envelope.ts"
import * as ItemKey from "../../core/ItemKey.ts"
import * as Fixtures from "../support/fixtures.ts"

const keySchema = ItemKey.make("pk", "sk")

type Line = Record<string, Record<string, unknown>>

/** DynamoDB JSON text of an item, names in the item's order. */
const wire = (item: ReadonlyMap<string, unknown> | undefined) =>
  item === undefined ? undefined : JSON.stringify(DynamoJson.encodeItem(item as never))

const assertFullEvent = (event: ChangeEvent, line: Line, exportTimeMs: number) => {
  assert.strictEqual(event.op, "r")
  assert.strictEqual(wire(event.newImage), JSON.stringify(line.Item))
  assert.deepStrictEqual(JSON.parse(wire(event.newImage)!), line.Item)
  assert.deepStrictEqual(
    JSON.parse(wire(event.key)!),
    { pk: line.Item!.pk, sk: line.Item!.sk },
    "the key is the key schema's attributes"
  )
  assert.isUndefined(event.oldImage)
  assert.strictEqual(event.timestampMs, exportTimeMs)
  assert.isUndefined((event.position as ExportPosition).writeTimestampMicros)
}

const assertIncrementalEvent = (event: ChangeEvent, line: Line) => {
  const expectedOp = line.NewImage === undefined ? "d" : line.OldImage === undefined ? "c" : "u"
  assert.strictEqual(event.op, expectedOp)
  assert.strictEqual(wire(event.key), JSON.stringify(line.Keys))
  assert.strictEqual(wire(event.newImage), line.NewImage === undefined ? undefined : JSON.stringify(line.NewImage))
  assert.strictEqual(wire(event.oldImage), line.OldImage === undefined ? undefined : JSON.stringify(line.OldImage))
  const micros = (line.Metadata!.WriteTimestampMicros as { N: string }).N
  assert.strictEqual((event.position as ExportPosition).writeTimestampMicros, micros)
  assert.strictEqual(event.timestampMs, Math.floor(Number(micros) / 1000))
}

describe.skipIf(!Fixtures.realExportPresent)(Fixtures.realExportSuite("Reading a real AWS export"), () => {
  for (const real of Fixtures.REAL_EXPORTS) {
    for (const variant of Fixtures.variants) {
      it.effect(`${real.type} ${real.id}: ${real.itemCount} events equal to the decoded lines (${variant.name})`, () =>
        Effect.gen(function* () {
          const summary = JSON.parse(Fixtures.readRealText(Fixtures.realSummaryKey(real.id))) as Record<string, string>
          const events = yield* Fixtures.readAll(Fixtures.realExportRoot, Fixtures.realSummaryKey(real.id), {
            keySchema,
            decompress: variant.decompress,
            md5: variant.md5
          })
          assert.strictEqual(events.length, real.itemCount)
          // Events in manifest order, then line order, one per decoded line.
          const expected = Fixtures.readRealEntries(real.id).flatMap((entry) =>
            Fixtures.readRealDecoded(entry.dataFileS3Key).split("\n").slice(0, -1).map((text, i) => ({
              position: { _tag: "Export", exportArn: summary.exportArn, file: entry.dataFileS3Key, line: i + 1 },
              line: JSON.parse(text) as Line
            }))
          )
          assert.strictEqual(expected.length, real.itemCount)
          events.forEach((event, i) => {
            const { line, position } = expected[i]!
            const { writeTimestampMicros: _, ...at } = event.position as ExportPosition
            assert.deepStrictEqual(at, position, `event ${i}`)
            if (real.type === "FULL_EXPORT") assertFullEvent(event, line, Date.parse(summary.exportTime!))
            else assertIncrementalEvent(event, line)
            // The envelope of the event reads back as the same event.
            assert.deepStrictEqual(Either.getOrThrow(Envelope.decode(Envelope.encode(event))), event)
          })
        }))
    }
  }

  it.effect("the operations of the incremental exports, in order", () =>
    Effect.gen(function* () {
      const ops = []
      for (const real of Fixtures.REAL_EXPORTS) {
        const events = yield* Fixtures.readAll(Fixtures.realExportRoot, Fixtures.realSummaryKey(real.id), { keySchema })
        ops.push(events.map((event) => `${event.op} ${ItemKey.encode(keySchema, event.key!)}`))
      }
      assert.deepStrictEqual(ops, [
        ["r S1:1|S1:1", "r S1:1|S1:2", "r S1:1|S1:3"],
        ["c S1:2|S1:1", "c S1:2|S1:2", "c S1:2|S1:3", "c S1:3|S1:1", "c S1:3|S1:2", "c S1:3|S1:3"],
        ["d S1:2|S1:3", "d S1:1|S1:1", "u S1:1|S1:3", "c S1:4|S1:2", "u S1:3|S1:2"]
      ])
    }))

  it.effect("LocalExport.locate finds each export in the folder it was copied to", () =>
    Effect.gen(function* () {
      for (const real of Fixtures.REAL_EXPORTS) {
        const located = yield* LocalExport.locate(`${Fixtures.realExportRoot}/AWSDynamoDB/${real.id}`)
        assert.strictEqual(located.summaryKey, Fixtures.realSummaryKey(real.id))
        const events = yield* Fixtures.readAll(located.root, located.summaryKey)
        assert.strictEqual(events.length, real.itemCount)
      }
    }))
})
