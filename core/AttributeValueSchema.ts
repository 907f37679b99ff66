/**
 * `Schema`s for the value model: the model itself (for types, cold paths, error reports and `Arbitrary`) and its
 * DynamoDB JSON form. The hot path uses {@link DynamoJson}; a differential test holds both to the same answers.
 *
 * @module
 */
import { Arbitrary, Effect, FastCheck as fc, ParseResult, Schema } from "effect"
import type * as AV from "./AttributeValue.ts"
import * as Base64 from "./Base64.ts"
import * as DynamoNumber from "./DynamoNumber.ts"

const numberArbitrary = (): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 1, arbitrary: fc.constantFrom("0", "0.0", "-0", "0E+5", "000", "1", "-1", "10", "1.0", "100.500") },
    {
      weight: 8,
      arbitrary: fc.record({
        negative: fc.boolean(),
        digits: fc.tuple(fc.integer({ min: 1, max: 9 }), fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: 37 }))
          .map(([first, rest]) => `${first}${rest.join("")}`),
        exponent: fc.oneof(fc.integer({ min: -8, max: 20 }), fc.integer({ min: -130, max: 125 })),
        style: fc.constantFrom("plain", "E", "e", "plainPadded")
      }).map(({ digits, exponent, negative, style }) => {
        const sign = negative ? "-" : ""
        if (style === "E" || style === "e") {
          const mantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits
          return `${sign}${mantissa}${style}${exponent >= 0 ? "+" : "-"}${Math.abs(exponent)}`
        }
        const plain = DynamoNumber.canonical(
          `${digits[0]}${digits.length > 1 ? "." + digits.slice(1) : ""}E${exponent}`
        )
        return sign + (style === "plainPadded" && plain.includes(".") ? plain + "00" : plain)
      })
    }
  )

const nameArbitrary = (): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 6, arbitrary: fc.string({ minLength: 1, maxLength: 8 }) },
    { weight: 1, arbitrary: fc.constantFrom("__proto__", "constructor", "toString", "a.b", "$x", "é", "😀", "") },
    { weight: 1, arbitrary: fc.fullUnicodeString({ maxLength: 4 }) }
  )

const bytesArbitrary = () => fc.uint8Array({ maxLength: 24 })

const key = (bytes: Uint8Array) => Base64.encode(bytes)

/** Arbitrary attribute values: every type, nested maps and lists, valid numbers in many spellings. */
export const attributeValueArbitrary = (maxDepth = 3): fc.Arbitrary<AV.AttributeValue> =>
  fc.letrec<{ value: AV.AttributeValue; item: AV.Item }>((tie) => ({
    value: fc.oneof(
      { maxDepth, depthIdentifier: "attribute-value" },
      fc.string().map((value): AV.AttributeValue => ({ _tag: "S", value })),
      numberArbitrary().map((value): AV.AttributeValue => ({ _tag: "N", value })),
      bytesArbitrary().map((value): AV.AttributeValue => ({ _tag: "B", value })),
      fc.boolean().map((value): AV.AttributeValue => ({ _tag: "BOOL", value })),
      fc.constant<AV.AttributeValue>({ _tag: "NULL" }),
      fc.uniqueArray(fc.string(), { minLength: 1, maxLength: 4 }).map((value): AV.AttributeValue => ({
        _tag: "SS",
        value
      })),
      fc.uniqueArray(numberArbitrary(), { minLength: 1, maxLength: 4, selector: DynamoNumber.canonical }).map((
        value
      ): AV.AttributeValue => ({ _tag: "NS", value })),
      fc.uniqueArray(bytesArbitrary(), { minLength: 1, maxLength: 4, selector: key }).map((
        value
      ): AV.AttributeValue => ({ _tag: "BS", value })),
      tie("item").map((value): AV.AttributeValue => ({ _tag: "M", value })),
      fc.array(tie("value"), { maxLength: 4 }).map((value): AV.AttributeValue => ({ _tag: "L", value }))
    ),
    item: fc.uniqueArray(fc.tuple(nameArbitrary(), tie("value")), { maxLength: 5, selector: ([name]) => name })
      .map((entries): AV.Item => new Map(entries))
  })).value

/** Arbitrary items (attribute names include `__proto__`, dots, emoji and the empty string). */
export const itemArbitrary = (maxDepth = 3): fc.Arbitrary<AV.Item> =>
  fc.uniqueArray(fc.tuple(nameArbitrary(), attributeValueArbitrary(maxDepth)), {
    maxLength: 8,
    selector: ([name]) => name
  }).map((entries) => new Map(entries))

const unique = <A>(keyOf: (a: A) => string) => (values: ReadonlyArray<A>): string | undefined => {
  const seen = new Set<string>()
  for (const value of values) {
    const k = keyOf(value)
    if (seen.has(k)) return "a set cannot hold duplicates"
    seen.add(k)
  }
  return undefined
}

/** A DynamoDB number: decimal text within DynamoDB's precision and range. */
export const NumberText = Schema.String.pipe(
  Schema.filter((text) => {
    const problem = DynamoNumber.check(text)
    return problem === undefined ? undefined : `the number ${problem}`
  }),
  Schema.annotations({ identifier: "DynamoNumber", arbitrary: () => () => numberArbitrary() })
)

const lazyValue = Schema.suspend((): Schema.Schema<AV.AttributeValue> => AttributeValue)

export const S = Schema.TaggedStruct("S", { value: Schema.String })
export const N = Schema.TaggedStruct("N", { value: NumberText })
export const B = Schema.TaggedStruct("B", { value: Schema.Uint8ArrayFromSelf })
export const BOOL = Schema.TaggedStruct("BOOL", { value: Schema.Boolean })
export const NULL = Schema.TaggedStruct("NULL", {})
export const M = Schema.TaggedStruct("M", {
  value: Schema.ReadonlyMapFromSelf({ key: Schema.String, value: lazyValue })
})
export const L = Schema.TaggedStruct("L", { value: Schema.Array(lazyValue) })
export const SS = Schema.TaggedStruct("SS", {
  value: Schema.Array(Schema.String).pipe(Schema.minItems(1), Schema.filter(unique((s: string) => s)))
})
export const NS = Schema.TaggedStruct("NS", {
  value: Schema.Array(NumberText).pipe(Schema.minItems(1), Schema.filter(unique(DynamoNumber.canonical)))
})
export const BS = Schema.TaggedStruct("BS", {
  value: Schema.Array(Schema.Uint8ArrayFromSelf).pipe(Schema.minItems(1), Schema.filter(unique(key)))
})

/** The value model. */
export const AttributeValue: Schema.Schema<AV.AttributeValue> = Schema.Union(S, N, B, BOOL, NULL, M, L, SS, NS, BS)
  .annotations({ identifier: "AttributeValue", arbitrary: () => () => attributeValueArbitrary() })

/** An item of the value model. */
export const Item: Schema.Schema<AV.Item> = Schema.ReadonlyMapFromSelf({ key: Schema.String, value: AttributeValue })
  .annotations({ identifier: "Item", arbitrary: () => () => itemArbitrary() })

/** Bytes as DynamoDB writes them: canonical padded base64. */
export const Base64Bytes = Schema.transformOrFail(Schema.String, Schema.Uint8ArrayFromSelf, {
  strict: true,
  decode: (text, _, ast) => {
    const bytes = Base64.decode(text)
    return bytes === undefined
      ? ParseResult.fail(new ParseResult.Type(ast, text, `${JSON.stringify(text)} is not valid base64`))
      : ParseResult.succeed(bytes)
  },
  encode: (bytes) => ParseResult.succeed(Base64.encode(bytes))
})

const exact = { parseOptions: { onExcessProperty: "error" } } as const

const lazyWire = Schema.suspend((): Schema.Schema<AV.AttributeValue, unknown> => AttributeValueFromDynamoJson)

const JsonObject = Schema.declare(
  (input: unknown): input is { readonly [name: string]: unknown } =>
    typeof input === "object" && input !== null && !Array.isArray(input),
  { identifier: "JsonObject", description: "a JSON object" }
)

// Not `Schema.Record`: its decoded objects drop an own `__proto__` key, which is a legal attribute name.
const wireRecord = (value: Schema.Schema<AV.AttributeValue, unknown>) =>
  Schema.transformOrFail(
    JsonObject,
    Schema.ReadonlyMapFromSelf({ key: Schema.String, value: Schema.typeSchema(value) }),
    {
      strict: true,
      decode: (record, options) =>
        Effect.gen(function* () {
          const out = new Map<string, AV.AttributeValue>()
          for (const name in record) {
            const decoded = yield* ParseResult.decodeUnknown(value)(record[name], options).pipe(
              Effect.mapError((issue) => new ParseResult.Pointer(name, record, issue))
            )
            out.set(name, decoded)
          }
          return out
        }),
      encode: (map, options) =>
        Effect.gen(function* () {
          const out: Record<string, unknown> = Object.create(null)
          for (const [name, item] of map) {
            out[name] = yield* ParseResult.encodeUnknown(value)(item, options).pipe(
              Effect.mapError((issue) => new ParseResult.Pointer(name, map, issue))
            )
          }
          return out
        })
    }
  )

const tagged = <const T extends AV.Tag, W, I, A extends AV.AttributeValue>(
  tag: T,
  wire: Schema.Schema<W, I>,
  model: Schema.Schema<A, A>
) =>
  Schema.transform(Schema.Struct({ [tag]: wire } as { [K in T]: typeof wire }).annotations(exact), model, {
    strict: false,
    decode: (w) => ({ _tag: tag, value: (w as Record<string, unknown>)[tag] }),
    encode: (a) => ({ [tag]: (a as { value?: unknown }).value ?? true })
  })

/**
 * One attribute value in DynamoDB JSON (`{"N": "12"}`) decoded into the model. Excess type tags are rejected.
 */
export const AttributeValueFromDynamoJson: Schema.Schema<AV.AttributeValue, unknown> = Schema.Union(
  tagged("S", Schema.String, S),
  tagged("N", Schema.String, N),
  tagged("B", Base64Bytes, B),
  tagged("BOOL", Schema.Boolean, BOOL),
  Schema.transform(Schema.Struct({ NULL: Schema.Literal(true) }).annotations(exact), NULL, {
    strict: true,
    decode: () => ({ _tag: "NULL" as const }),
    encode: () => ({ NULL: true as const })
  }),
  tagged("M", wireRecord(lazyWire), M),
  tagged("L", Schema.Array(lazyWire), L),
  tagged("SS", Schema.Array(Schema.String), SS),
  tagged("NS", Schema.Array(Schema.String), NS),
  tagged("BS", Schema.Array(Base64Bytes), BS)
) as unknown as Schema.Schema<AV.AttributeValue, unknown>

/** An item in DynamoDB JSON (an object of attribute values) decoded into the model. */
export const ItemFromDynamoJson: Schema.Schema<AV.Item, unknown> = wireRecord(
  AttributeValueFromDynamoJson
) as unknown as Schema.Schema<AV.Item, unknown>

/** `Arbitrary` of the model, for property tests. */
export const arbitrary = Arbitrary.make(AttributeValue)
