/**
 * The hand-written DynamoDB JSON decoder on arbitrary JSON and on almost-valid items: it never throws, and it agrees
 * with the declarative `Schema` (core/AttributeValueSchema.ts) on what is valid and on what a valid item holds; the
 * export line decoder (its fast path included) agrees with both. Values nested far past DynamoDB's 32 levels are
 * refused with a typed error, never a stack overflow.
 */
import { assert, describe, it } from "@effect/vitest"
import { Either, FastCheck as fc, Schema } from "effect"
import { AttributeValueFromDynamoJson, ItemFromDynamoJson } from "../../core/AttributeValueSchema.ts"
import * as DynamoJson from "../../core/DynamoJson.ts"
import { ExportLineInvalid, InvalidAttributeValue } from "../../core/Errors.ts"
import * as ExportLine from "../../core/ExportLine.ts"
import { nearValidItem } from "./support/NearValid.ts"
import { itemText, nested, runs } from "./support/Values.ts"

const decodeSchemaItem = Schema.decodeUnknownEither(ItemFromDynamoJson)
const decodeSchemaValue = Schema.decodeUnknownEither(AttributeValueFromDynamoJson)

const show = (json: unknown) => JSON.stringify(json)?.slice(0, 300)

/** The hand-written and the Schema decoders agree on an item: both refuse it, or both give the same item. */
const agreeOnItem = (json: unknown) => {
  const decoded = DynamoJson.decodeItemEither(json)
  const schema = decodeSchemaItem(json)
  assert.strictEqual(Either.isRight(decoded), Either.isRight(schema), `validity of ${show(json)}`)
  if (Either.isLeft(decoded)) {
    assert.instanceOf(decoded.left, InvalidAttributeValue)
    assert.isTrue(decoded.left.path.startsWith("$"), decoded.left.path)
    assert.throws(() => DynamoJson.decodeItemUnsafe(json), InvalidAttributeValue)
  } else if (Either.isRight(schema)) {
    assert.strictEqual(itemText(decoded.right), itemText(schema.right), show(json))
  }
}

const agreeOnValue = (json: unknown) => {
  const decoded = DynamoJson.decodeValueEither(json)
  const schema = decodeSchemaValue(json)
  assert.strictEqual(Either.isRight(decoded), Either.isRight(schema), `validity of ${show(json)}`)
  if (Either.isRight(decoded) && Either.isRight(schema)) {
    assert.strictEqual(itemText(new Map([["v", decoded.right]])), itemText(new Map([["v", schema.right]])))
  }
}

const context: ExportLine.LineContext = {
  exportArn: "arn:aws:dynamodb:us-east-1:123456789012:table/t/export/01768385930622-efd1a093",
  file: "AWSDynamoDB/01768385930622-efd1a093/data/5mrfg3b44e3vhnfickkozoym6a.json.gz",
  type: "FULL_EXPORT",
  exportTimeMs: 1768385930622,
  newImageOnly: false
}

/** A full export's line of the item: the same verdict and item as the decoder's, or only ExportLineInvalid. */
const agreeOnLine = (json: unknown) => {
  const decoded = DynamoJson.decodeItemEither(json)
  let event
  try {
    event = ExportLine.decodeTextUnsafe(`{"Item":${JSON.stringify(json)}}`, 1, context)
  } catch (error) {
    assert.instanceOf(error, ExportLineInvalid, String(error))
    assert.isTrue(Either.isLeft(decoded), `the line was refused (${(error as Error).message}), the item is valid`)
    return
  }
  assert.isTrue(Either.isRight(decoded), `the line was read, the item is not valid: ${show(json)}`)
  assert.strictEqual(itemText(event.newImage), itemText(Either.getOrThrow(decoded)))
}

describe("Fuzz: DynamoJson", () => {
  it.prop(
    "arbitrary JSON: never throws, agrees with the Schema as an item and as a value",
    [fc.jsonValue()],
    ([json]) => {
      agreeOnItem(json)
      agreeOnValue(json)
    },
    { fastCheck: { numRuns: runs(300) } }
  )

  it.prop(
    "almost-valid items: the same verdict and the same item from both decoders, and from the export line decoder",
    [nearValidItem],
    ([json]) => {
      agreeOnItem(json)
      agreeOnLine(json)
    },
    { fastCheck: { numRuns: runs(200) } }
  )

  it.prop("values of almost-valid items, on their own: both decoders agree", [nearValidItem], ([json]) => {
    for (const value of Object.values(json as Record<string, unknown>)) agreeOnValue(value)
  }, { fastCheck: { numRuns: runs(200) } })

  it("nesting far past DynamoDB's 32 levels is an InvalidAttributeValue, never a stack overflow", () => {
    for (const depth of [10_000, 100_000]) {
      for (const tag of ["M", "L"] as const) {
        const value = JSON.parse(nested(depth, tag).raw)
        const item = DynamoJson.decodeItemEither({ deep: value })
        if (Either.isRight(item)) return assert.fail(`${depth} levels of ${tag} were decoded`)
        assert.instanceOf(item.left, InvalidAttributeValue)
        assert.strictEqual(item.left.path, "$")
        assert.isTrue(Either.isLeft(DynamoJson.decodeValueEither(value)))
        assert.throws(
          () => DynamoJson.decodeItemUnsafe({ deep: value }, ["Item"]),
          InvalidAttributeValue,
          /nested too deeply/
        )
        assert.throws(
          () => ExportLine.decodeTextUnsafe(`{"Item":{"deep":${nested(depth, tag).raw}}}`, 7, context),
          ExportLineInvalid,
          /nested too deeply/
        )
      }
    }
  })
})
