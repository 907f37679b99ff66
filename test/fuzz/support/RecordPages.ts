/**
 * GetRecords answers as DynamoDB Streams sends them (JSON 1.0), generated from random items, with the records the
 * `StreamSource` port must give for them.
 */
import { FastCheck as fc } from "effect"
import * as AV from "../../../core/AttributeValue.ts"
import { itemArbitrary } from "../../../core/AttributeValueSchema.ts"
import * as DynamoJson from "../../../core/DynamoJson.ts"
import type { RecordsPage, StreamRecord } from "../../../core/StreamSource.ts"
import { itemText } from "./Values.ts"

/** Without `__proto__` attributes: the SDK's JSON deserializer loses their value (its bug, not the adapter's). */
const withoutProto = (item: AV.Item): AV.Item =>
  new Map(
    [...item].filter(([name]) => name !== "__proto__").map(([name, value]) => [name, withoutProtoValue(value)])
  )

const withoutProtoValue = (value: AV.AttributeValue): AV.AttributeValue =>
  value._tag === "M"
    ? { _tag: "M", value: withoutProto(value.value) }
    : value._tag === "L"
    ? { _tag: "L", value: value.value.map(withoutProtoValue) }
    : value

const keysArbitrary: fc.Arbitrary<AV.Item> = fc.oneof(
  fc.string({ minLength: 1, maxLength: 6 }).map((pk) => AV.item({ pk: AV.s(pk) })),
  fc.tuple(fc.string({ minLength: 1, maxLength: 6 }), fc.integer().map(String)).map(([pk, sk]) =>
    AV.item({ pk: AV.s(pk), sk: AV.n(sk) })
  ),
  fc.uint8Array({ minLength: 1, maxLength: 6 }).map((pk) => AV.item({ pk: AV.b(pk) }))
)

const imageArbitrary = itemArbitrary(2).map(withoutProto)

interface RecordSpec {
  readonly keys: AV.Item
  readonly name: "INSERT" | "MODIFY" | "REMOVE"
  readonly newImage: AV.Item
  readonly oldImage: AV.Item
  readonly seconds: number
  readonly time: "integer" | "decimal" | "exponent"
  readonly ttl: boolean
  readonly sizeBytes: number
}

const recordSpec: fc.Arbitrary<RecordSpec> = fc.record({
  keys: keysArbitrary,
  name: fc.constantFrom("INSERT" as const, "MODIFY" as const, "REMOVE" as const),
  newImage: imageArbitrary,
  oldImage: imageArbitrary,
  seconds: fc.integer({ min: 1_000_000_000, max: 2_000_000_000 }),
  time: fc.constantFrom("integer" as const, "decimal" as const, "exponent" as const),
  ttl: fc.boolean(),
  sizeBytes: fc.integer({ min: 1, max: 400_000 })
})

/** A GetRecords answer: its JSON, and the page the port must give for it. */
export interface Page {
  readonly json: { readonly Records: Array<Record<string, unknown>>; NextShardIterator?: string }
  /** Raw texts of `ApproximateCreationDateTime`, by record. */
  readonly times: ReadonlyArray<string>
  readonly expected: RecordsPage
}

const TIME = (i: number) => `@@TIME${i}@@`

export const pageArbitrary: fc.Arbitrary<Page> = fc.record({
  records: fc.array(recordSpec, { maxLength: 4 }),
  first: fc.bigInt({ min: 10n ** 20n, max: 10n ** 38n }),
  next: fc.option(fc.string({ minLength: 1, maxLength: 40 }), { nil: undefined })
}).map(({ first, next, records }) => {
  const wire = (item: AV.Item) => DynamoJson.encodeItem(item)
  const Records = records.map((spec, i) => {
    const newImage = spec.name === "REMOVE" ? undefined : new Map([...spec.newImage, ...spec.keys])
    const oldImage = spec.name === "INSERT" ? undefined : new Map([...spec.oldImage, ...spec.keys])
    return {
      eventID: `event-${i}`,
      eventName: spec.name,
      eventVersion: "1.1",
      eventSource: "aws:dynamodb",
      awsRegion: "us-east-1",
      dynamodb: {
        ApproximateCreationDateTime: TIME(i),
        Keys: wire(spec.keys),
        ...(newImage === undefined ? {} : { NewImage: wire(newImage) }),
        ...(oldImage === undefined ? {} : { OldImage: wire(oldImage) }),
        SequenceNumber: String(first + BigInt(i) * 7n),
        SizeBytes: spec.sizeBytes,
        StreamViewType: "NEW_AND_OLD_IMAGES"
      },
      ...(spec.ttl && spec.name === "REMOVE"
        ? { userIdentity: { PrincipalId: "dynamodb.amazonaws.com", Type: "Service" } }
        : {})
    }
  })
  const times = records.map(({ seconds, time }) =>
    time === "integer" ? String(seconds) : time === "decimal" ? `${seconds}.000` : `${seconds / 1e9}E9`
  )
  const expected: Array<StreamRecord> = records.map((spec, i) => {
    const dynamodb = Records[i]!.dynamodb
    return {
      eventId: `event-${i}`,
      eventName: spec.name,
      approximateCreationTimeMs: spec.seconds * 1000,
      sequenceNumber: dynamodb.SequenceNumber,
      sizeBytes: spec.sizeBytes,
      keys: spec.keys,
      ...(spec.name === "REMOVE" ? {} : { newImage: new Map([...spec.newImage, ...spec.keys]) }),
      ...(spec.name === "INSERT" ? {} : { oldImage: new Map([...spec.oldImage, ...spec.keys]) }),
      ...(spec.ttl && spec.name === "REMOVE"
        ? { userIdentity: { type: "Service", principalId: "dynamodb.amazonaws.com" } }
        : {})
    }
  })
  return {
    json: { Records, ...(next === undefined ? {} : { NextShardIterator: next }) },
    times,
    expected: next === undefined ? { records: expected } : { records: expected, nextIterator: next }
  }
})

/** The answer's body text. */
export const bodyOf = (page: Page, json: unknown = page.json): string => {
  let text = JSON.stringify(json)
  page.times.forEach((time, i) => (text = text.replace(JSON.stringify(TIME(i)), time)))
  return text
}

/** A record as comparable text (items exact). */
export const recordText = (record: StreamRecord): string =>
  JSON.stringify({
    ...record,
    keys: itemText(record.keys),
    newImage: itemText(record.newImage),
    oldImage: itemText(record.oldImage)
  })
