/**
 * The AWS SDK adapter's walk from the SDK's record shapes to the value model (adapters/aws/internal/fromSdk.ts), fed
 * directly: records built from random items give exactly those items; arbitrary values anywhere in a record give an
 * `InvalidAttributeValue` with the record's path or a record, never a throw; and on almost-valid items the walk agrees
 * with the DynamoDB JSON decoder.
 */
import type { _Record } from "@aws-sdk/client-dynamodb-streams"
import { assert, describe, it } from "@effect/vitest"
import { Either, FastCheck as fc } from "effect"
import * as FromSdk from "../../adapters/aws/internal/fromSdk.ts"
import type * as AV from "../../core/AttributeValue.ts"
import { itemArbitrary } from "../../core/AttributeValueSchema.ts"
import * as Base64 from "../../core/Base64.ts"
import * as DynamoJson from "../../core/DynamoJson.ts"
import { InvalidAttributeValue } from "../../core/Errors.ts"
import { nearValidItem } from "./support/NearValid.ts"
import { itemText, nested, runs } from "./support/Values.ts"

const isObject = (json: unknown): json is Record<string, unknown> =>
  typeof json === "object" && json !== null && !Array.isArray(json)

/** An object with no prototype, so that an attribute named `__proto__` is an attribute (as the SDK makes them). */
const bare = (entries: Iterable<readonly [string, unknown]>): Record<string, unknown> => {
  const out: Record<string, unknown> = Object.create(null)
  for (const [name, value] of entries) out[name] = value
  return out
}

/** DynamoDB JSON in the SDK's shape: base64 turned into bytes where it decodes (the SDK fails on the rest). */
const sdkValue = (json: unknown): unknown => {
  if (!isObject(json)) return json
  return bare(
    Object.keys(json).map((tag) => {
      const payload = json[tag]
      if (tag === "B" && typeof payload === "string") return [tag, Base64.decode(payload) ?? payload]
      if (tag === "BS" && Array.isArray(payload)) {
        return [tag, payload.map((e) => (typeof e === "string" ? Base64.decode(e) ?? e : e))]
      }
      if (tag === "M") return [tag, sdkItem(payload)]
      if (tag === "L" && Array.isArray(payload)) return [tag, payload.map(sdkValue)]
      return [tag, payload]
    })
  )
}

const sdkItem = (json: unknown): unknown =>
  isObject(json) ? bare(Object.keys(json).map((name) => [name, sdkValue(json[name])])) : json

const wire = (item: AV.Item): unknown => JSON.parse(JSON.stringify(DynamoJson.encodeItem(item)))

/** A record around `fields` of its `dynamodb`, the rest valid. */
const record = (dynamodb: Record<string, unknown>, top: Record<string, unknown> = {}): _Record =>
  ({
    eventID: "e1",
    eventName: "MODIFY",
    dynamodb: {
      SequenceNumber: "100000000000000000001",
      ApproximateCreationDateTime: new Date(1768385930000),
      Keys: sdkItem({ pk: { S: "a" } }),
      ...dynamodb
    },
    ...top
  }) as _Record

/** The walk's answer, which must not be a throw; a refusal names a path under the record. */
const records = (input: ReadonlyArray<unknown>) => {
  const result = FromSdk.records(input as ReadonlyArray<_Record>)
  if (Either.isLeft(result)) {
    assert.instanceOf(result.left, InvalidAttributeValue)
    assert.match(result.left.path, /^\$\.Records\[\d+\]/)
  }
  return result
}

describe("Fuzz: fromSdk", () => {
  it.prop(
    "records built from items give exactly those items",
    [itemArbitrary(3), itemArbitrary(3)],
    ([keys, image]) => {
      const result = records([record({ Keys: sdkItem(wire(keys)), NewImage: sdkItem(wire(image)), SizeBytes: 12 })])
      const [got] = Either.getOrThrowWith(result, (error) => new Error(error.message))
      assert.strictEqual(itemText(got!.keys), itemText(keys))
      assert.strictEqual(itemText(got!.newImage), itemText(image))
      assert.strictEqual(got!.sizeBytes, 12)
      assert.strictEqual(got!.approximateCreationTimeMs, 1768385930000)
    },
    { fastCheck: { numRuns: runs(200) } }
  )

  it.prop(
    "arbitrary values anywhere in a record: a record or an InvalidAttributeValue, never a throw",
    [
      fc.constantFrom(
        "record",
        "dynamodb",
        "Keys",
        "NewImage",
        "value",
        "eventName",
        "SequenceNumber",
        "time",
        "identity"
      ),
      fc.anything({
        withBoxedValues: true,
        withMap: true,
        withSet: true,
        withTypedArray: true,
        withNullPrototype: true
      }),
      fc.anything({ maxDepth: 2 })
    ],
    ([where, value, unknown]) => {
      const input = where === "record"
        ? [value]
        : where === "dynamodb"
        ? [record({}, { dynamodb: value })]
        : where === "Keys" || where === "NewImage"
        ? [record({ [where]: value })]
        : where === "value"
        ? [
          record({ Keys: bare([["pk", value]]) }),
          record({ Keys: bare([["pk", bare([["$unknown", unknown]])]]) })
        ]
        : where === "eventName"
        ? [record({}, { eventName: value })]
        : where === "SequenceNumber"
        ? [record({ SequenceNumber: value })]
        : where === "time"
        ? [record({ ApproximateCreationDateTime: value })]
        : [record({}, { userIdentity: value })]
      records(input)
    },
    { fastCheck: { numRuns: runs(300) } }
  )

  it.prop(
    "almost-valid items: the same verdict and the same item as the DynamoDB JSON decoder",
    [nearValidItem],
    ([json]) => {
      const decoded = DynamoJson.decodeItemEither(json)
      const result = records([record({ Keys: sdkItem(json) })])
      assert.strictEqual(Either.isRight(result), Either.isRight(decoded), JSON.stringify(json)?.slice(0, 300))
      if (Either.isRight(result) && Either.isRight(decoded)) {
        assert.strictEqual(itemText(result.right[0]!.keys), itemText(decoded.right))
      }
    },
    { fastCheck: { numRuns: runs(300) } }
  )

  it("nesting far past DynamoDB's 32 levels is an InvalidAttributeValue naming the record, never a stack overflow", () => {
    for (const tag of ["M", "L"] as const) {
      const deep: unknown = JSON.parse(nested(100_000, tag).raw)
      const result = records([record({}), record({ NewImage: bare([["deep", deep]]) })])
      if (Either.isRight(result)) return assert.fail("100000 levels were decoded")
      assert.strictEqual(result.left.path, "$.Records[1]")
      assert.match(result.left.reason, /nested too deeply/)
    }
  })
})
