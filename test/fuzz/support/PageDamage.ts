/**
 * Damaged GetRecords answers, each with what the AWS SDK adapter must give for it: exactly the records (the damage
 * left the answer valid), a typed error, or either (where the SDK itself may reshape the answer first).
 */
import { FastCheck as fc } from "effect"
import * as AV from "../../../core/AttributeValue.ts"
import type { RecordsPage, StreamRecord } from "../../../core/StreamSource.ts"
import { bodyOf, type Page } from "./RecordPages.ts"
import {
  BAD_NUMBERS,
  type BytesMutation,
  bytesMutation,
  concat,
  EDGE_NUMBERS,
  EDGE_STRINGS,
  INVALID_UTF8,
  mutateBytes,
  mutateText,
  nested,
  shownAs,
  spaced,
  stringLiteral,
  type TextMutation,
  textMutation,
  WRONG_VALUES
} from "./Values.ts"

/** What the adapter must give for a damaged answer. */
export type PageExpect =
  | { readonly _tag: "Exact"; readonly page: RecordsPage }
  | { readonly _tag: "Typed"; readonly tags?: ReadonlyArray<string> }
  | { readonly _tag: "Either" }

/** A damaged answer: its HTTP status, body bytes and what must come of it. */
export interface Damaged {
  readonly status: number
  readonly body: Uint8Array
  readonly expect: PageExpect
}

interface Value {
  readonly raw: string
  readonly poison?: Uint8Array
  /** The value it stands for (the page is then exact), "either" (the SDK may let it through), or typed (absent). */
  readonly value?: AV.AttributeValue | "either"
}

// Values the SDK itself reshapes before the adapter sees them: an array where a map belongs becomes a map, a member
// it does not know is dropped, base64 is decoded leniently. They may come through as values: "either".
const SDK_LENIENT = new Set([`{"M":[]}`, `{"S":"a","x":1}`, `{"B":"AB=="}`])

const valueArbitrary: fc.Arbitrary<Value> = fc.oneof(
  fc.constantFrom(...WRONG_VALUES).map((raw): Value => (SDK_LENIENT.has(raw) ? { raw, value: "either" } : { raw })),
  fc.constantFrom(...BAD_NUMBERS).map((n): Value => ({ raw: `{"N":${JSON.stringify(n)}}` })),
  fc.constantFrom(...BAD_NUMBERS).map((n): Value => ({ raw: `{"NS":["1",${JSON.stringify(n)}]}` })),
  fc.constantFrom(...EDGE_NUMBERS).map((n): Value => ({ raw: `{"N":${JSON.stringify(n)}}`, value: AV.n(n) })),
  fc.constantFrom(
    `{"SS":[]}`,
    `{"NS":[]}`,
    `{"BS":[]}`,
    `{"SS":["a","a"]}`,
    `{"NS":["1","1.0"]}`,
    `{"BS":["AA==","AA=="]}`
  )
    .map((raw): Value => ({ raw })),
  fc.tuple(fc.constantFrom(...EDGE_STRINGS), fc.boolean()).map(([s, escaped]): Value => ({
    raw: `{"S":${stringLiteral(s, escaped)}}`,
    value: AV.s(s)
  })),
  fc.tuple(fc.constantFrom(...EDGE_STRINGS), fc.boolean()).map(([s, escaped]): Value => ({
    raw: `{"S":"first","S":${stringLiteral(s, escaped)}}`,
    value: AV.s(s)
  })),
  // The SDK reads the body as UTF-8 leniently (U+FFFD for bad bytes): typed, or a string with U+FFFD in it.
  fc.constantFrom(...INVALID_UTF8).map((poison): Value => ({ raw: `{"S":"a@@POISON@@b"}`, poison, value: "either" })),
  fc.constantFrom("\u0000", "\t").map((control): Value => ({ raw: `{"S":"a${control}b"}` })),
  fc.tuple(fc.constantFrom(30, 1000, 100_000), fc.constantFrom("M" as const, "L" as const)).map(
    ([depth, tag]): Value => {
      const deep = nested(depth, tag)
      return shownAs({ raw: deep.raw, value: depth <= 30 ? deep.value() : "either" }, `nested(${depth}, ${tag})`)
    }
  )
)

/** Changes of a record's own fields, with what they must give. */
const RECORD_CHANGES: ReadonlyArray<readonly [string, string, unknown, "typed" | "either" | "same"]> = [
  ["", "dynamodb", undefined, "typed"],
  ["dynamodb", "Keys", undefined, "typed"],
  ["dynamodb", "SequenceNumber", undefined, "typed"],
  ["", "eventName", undefined, "typed"],
  ["", "eventID", undefined, "typed"],
  ["dynamodb", "ApproximateCreationDateTime", undefined, "typed"],
  ["", "eventName", "UPSERT", "typed"],
  ["", "eventName", 5, "typed"],
  ["dynamodb", "SequenceNumber", "abc", "typed"],
  ["dynamodb", "SequenceNumber", "-1", "typed"],
  ["dynamodb", "SequenceNumber", "", "typed"],
  ["dynamodb", "SequenceNumber", 5, "typed"],
  ["dynamodb", "SequenceNumber", "1e30", "typed"],
  ["dynamodb", "ApproximateCreationDateTime", "x", "typed"],
  ["dynamodb", "ApproximateCreationDateTime", "1768385930", "either"],
  ["dynamodb", "ApproximateCreationDateTime", 1e300, "typed"],
  ["dynamodb", "Keys", "x", "typed"],
  ["dynamodb", "Keys", [], "either"],
  ["dynamodb", "Keys", {}, "either"],
  ["dynamodb", "NewImage", 5, "typed"],
  ["dynamodb", "NewImage", null, "either"],
  ["dynamodb", "SizeBytes", "10", "either"],
  ["dynamodb", "Extra", { a: [1, null] }, "same"],
  ["", "Extra", "x", "same"],
  ["", "userIdentity", "x", "either"],
  ["", "userIdentity", { Type: 1, PrincipalId: {} }, "either"]
]

/** Whole bodies: the record list missing or of the wrong kind, records that are not objects. */
const BODIES: ReadonlyArray<readonly [string, "typed" | "closed"]> = [
  ["", "typed"],
  ["{}", "typed"],
  ["[]", "typed"],
  ["null", "typed"],
  ["5", "typed"],
  [`{"Records":null}`, "typed"],
  [`{"Records":{}}`, "typed"],
  [`{"Records":{"0":{}}}`, "typed"],
  [`{"Records":"x"}`, "typed"],
  [`{"Records":[null]}`, "typed"],
  [`{"Records":[1]}`, "typed"],
  [`{"Records":["x"]}`, "typed"],
  [`{"Records":[[]]}`, "typed"],
  [`{"NextShardIterator":"x"}`, "typed"],
  [`{"Records":[]}`, "closed"],
  [`{"Records":[],"NextShardIterator":null}`, "closed"]
]

/** Error answers and the core errors they must become. */
const HTTP_ERRORS: ReadonlyArray<readonly [number, string, ReadonlyArray<string>]> = [
  [400, `{"__type":"com.amazonaws.dynamodb.v20120810#ExpiredIteratorException","message":"x"}`, ["ExpiredIterator"]],
  [400, `{"__type":"com.amazonaws.dynamodb.v20120810#TrimmedDataAccessException","message":"x"}`, ["TrimmedData"]],
  [400, `{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","message":"x"}`, ["NotFound"]],
  [400, `{"__type":"com.amazonaws.dynamodb.v20120810#LimitExceededException","message":"x"}`, ["Throttled"]],
  [400, `{"__type":"AccessDeniedException"}`, ["AccessDenied"]],
  [400, `garbage`, ["InvalidRequest", "Unavailable"]],
  [400, ``, ["InvalidRequest", "Unavailable"]],
  [500, `{}`, ["Unavailable"]],
  [503, `<html>`, ["Unavailable"]],
  [429, `{}`, ["Throttled"]]
]

export type PageMutation =
  | {
    readonly _tag: "Value"
    readonly record: number
    readonly image: number
    readonly at: number
    readonly value: Value
  }
  | { readonly _tag: "DuplicateName"; readonly record: number; readonly value: string }
  | { readonly _tag: "RecordField"; readonly record: number; readonly change: (typeof RECORD_CHANGES)[number] }
  | { readonly _tag: "Record"; readonly record: number; readonly raw: string }
  | { readonly _tag: "Body"; readonly body: (typeof BODIES)[number] }
  | { readonly _tag: "Next"; readonly raw: string }
  | { readonly _tag: "HttpError"; readonly error: (typeof HTTP_ERRORS)[number] }
  | { readonly _tag: "Spaced"; readonly ws: string }
  | { readonly _tag: "Bytes"; readonly mutation: BytesMutation }
  | { readonly _tag: "Text"; readonly mutation: TextMutation }

export const pageMutation: fc.Arbitrary<PageMutation> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      _tag: fc.constant("Value" as const),
      record: fc.nat(),
      image: fc.nat(),
      at: fc.nat(),
      value: valueArbitrary
    })
  },
  {
    weight: 1,
    arbitrary: fc.record({
      _tag: fc.constant("DuplicateName" as const),
      record: fc.nat(),
      value: fc.constantFrom(...EDGE_STRINGS)
    })
  },
  {
    weight: 3,
    arbitrary: fc.record({
      _tag: fc.constant("RecordField" as const),
      record: fc.nat(),
      change: fc.constantFrom(...RECORD_CHANGES)
    })
  },
  {
    weight: 1,
    arbitrary: fc.record({
      _tag: fc.constant("Record" as const),
      record: fc.nat(),
      raw: fc.constantFrom("null", "1", `"x"`, "[]", "{}")
    })
  },
  { weight: 2, arbitrary: fc.record({ _tag: fc.constant("Body" as const), body: fc.constantFrom(...BODIES) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      _tag: fc.constant("Next" as const),
      raw: fc.constantFrom("5", "{}", "[]", "true", `""`, "null", `"next"`)
    })
  },
  {
    weight: 1,
    arbitrary: fc.record({ _tag: fc.constant("HttpError" as const), error: fc.constantFrom(...HTTP_ERRORS) })
  },
  { weight: 1, arbitrary: fc.record({ _tag: fc.constant("Spaced" as const), ws: fc.constantFrom(" ", "\t", "\r\n") }) },
  { weight: 3, arbitrary: fc.record({ _tag: fc.constant("Bytes" as const), mutation: bytesMutation }) },
  { weight: 3, arbitrary: fc.record({ _tag: fc.constant("Text" as const), mutation: textMutation }) }
)

const encoder = new TextEncoder()
const IMAGES = ["Keys", "NewImage", "OldImage"] as const

const withPoison = (text: string, poison: Uint8Array | undefined): Uint8Array => {
  const at = text.indexOf("@@POISON@@")
  if (at === -1 || poison === undefined) return encoder.encode(text)
  return concat(encoder.encode(text.slice(0, at)), poison, encoder.encode(text.slice(at + "@@POISON@@".length)))
}

const exactPage = (page: Page, records: ReadonlyArray<StreamRecord>): PageExpect => ({
  _tag: "Exact",
  page: { ...page.expected, records }
})

const replaceRecord = (page: Page, index: number, record: StreamRecord): ReadonlyArray<StreamRecord> =>
  page.expected.records.map((r, i) => (i === index ? record : r))

/** Applies a mutation to an answer. Mutations of a record apply to an answer without records as the empty body. */
export const damage = (page: Page, mutation: PageMutation): Damaged => {
  const json = structuredClone(page.json)
  const records = json.Records
  const ok = (text: string, expect: PageExpect, status = 200): Damaged => ({
    status,
    body: encoder.encode(text),
    expect
  })
  const needsRecord = ["Value", "DuplicateName", "RecordField", "Record"].includes(mutation._tag)
  if (needsRecord && records.length === 0) return ok(bodyOf(page), { _tag: "Exact", page: page.expected })
  switch (mutation._tag) {
    case "Value": {
      const index = mutation.record % records.length
      const dynamodb = records[index]!.dynamodb as Record<string, Record<string, unknown>>
      const present = IMAGES.filter((image) => dynamodb[image] !== undefined)
      const image = present[mutation.image % present.length]!
      const names = Object.keys(dynamodb[image]!)
      const name = mutation.at % 3 === 0 || names.length === 0 ? "fuzz" : names[mutation.at % names.length]!
      dynamodb[image]![name] = "@@VALUE@@"
      const text = bodyOf(page, json).replace(`"@@VALUE@@"`, mutation.value.raw)
      const body = withPoison(text, mutation.value.poison)
      const value = mutation.value.value
      if (value === undefined) return { status: 200, body, expect: { _tag: "Typed" } }
      if (value === "either") return { status: 200, body, expect: { _tag: "Either" } }
      const expected = page.expected.records[index]!
      const field = image === "Keys" ? "keys" : image === "NewImage" ? "newImage" : "oldImage"
      const record = { ...expected, [field]: new Map([...expected[field]!, [name, value]]) }
      return { status: 200, body, expect: exactPage(page, replaceRecord(page, index, record)) }
    }
    case "DuplicateName": {
      const index = mutation.record % records.length
      const dynamodb = records[index]!.dynamodb as Record<string, Record<string, unknown>>
      dynamodb.Keys!.fuzzDup = "@@VALUE@@"
      const text = bodyOf(page, json).replace(
        `"fuzzDup":"@@VALUE@@"`,
        `"fuzzDup":{"S":"first"},"fuzzDup":{"S":${JSON.stringify(mutation.value)}}`
      )
      const expected = page.expected.records[index]!
      const record = { ...expected, keys: new Map([...expected.keys, ["fuzzDup", AV.s(mutation.value)]]) }
      return ok(text, exactPage(page, replaceRecord(page, index, record)))
    }
    case "RecordField": {
      const index = mutation.record % records.length
      const [parent, field, value, outcome] = mutation.change
      const target = (parent === "" ? records[index] : records[index]![parent]) as Record<string, unknown>
      if (value === undefined) delete target[field]
      else target[field] = value
      const expect: PageExpect = outcome === "typed"
        ? { _tag: "Typed" }
        : outcome === "either"
        ? { _tag: "Either" }
        : { _tag: "Exact", page: page.expected }
      return ok(bodyOf(page, json), expect)
    }
    case "Record": {
      const index = mutation.record % records.length
      ;(records as Array<unknown>)[index] = "@@RECORD@@"
      return ok(bodyOf(page, json).replace(`"@@RECORD@@"`, mutation.raw), { _tag: "Typed" })
    }
    case "Body": {
      const [body, outcome] = mutation.body
      return ok(body, outcome === "typed" ? { _tag: "Typed" } : { _tag: "Exact", page: { records: [] } })
    }
    case "Next": {
      const next = JSON.parse(mutation.raw) as unknown
      ;(json as Record<string, unknown>).NextShardIterator = "@@NEXT@@"
      const text = bodyOf(page, json).replace(`"@@NEXT@@"`, mutation.raw)
      if (typeof next !== "string" && next !== null) return ok(text, { _tag: "Typed" })
      const records = page.expected.records
      return ok(text, { _tag: "Exact", page: next === null ? { records } : { records, nextIterator: next } })
    }
    case "HttpError":
      return ok(mutation.error[1], { _tag: "Typed", tags: mutation.error[2] }, mutation.error[0])
    case "Spaced": {
      const text = spaced(JSON.parse(bodyOf(page)), mutation.ws)
      return ok(text, { _tag: "Exact", page: page.expected })
    }
    case "Bytes": {
      const original = encoder.encode(bodyOf(page))
      const body = mutateBytes(original, mutation.mutation)
      return { status: 200, body, expect: { _tag: "Either" } }
    }
    case "Text":
      return ok(mutateText(bodyOf(page), mutation.mutation), { _tag: "Either" })
  }
}
