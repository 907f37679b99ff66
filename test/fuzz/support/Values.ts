/**
 * What the fuzz tests feed the readers: attribute values that break one rule each, numbers at and past DynamoDB's
 * limits, strings at the edges of Unicode, bytes that are not UTF-8, deep nesting; and exact comparisons of what the
 * readers give back.
 */
import { FastCheck as fc } from "effect"
import type * as AV from "../../../core/AttributeValue.ts"
import * as Base64 from "../../../core/Base64.ts"
import type { ChangeEvent } from "../../../core/ChangeEvent.ts"

/** A replacement: its raw JSON text, and the value it stands for when it is valid. */
export interface Replacement {
  readonly raw: string
  readonly value?: AV.AttributeValue
}

/** Attribute values (raw JSON) that break exactly one rule of DynamoDB JSON. */
export const WRONG_VALUES: ReadonlyArray<string> = [
  `{"S":1}`,
  `{"S":null}`,
  `{"S":["a"]}`,
  `{"S":{"S":"a"}}`,
  `{"N":12}`,
  `{"N":null}`,
  `{"B":"abc"}`,
  `{"B":"A==="}`,
  `{"B":"AB=="}`,
  `{"B":1}`,
  `{"BOOL":"true"}`,
  `{"BOOL":1}`,
  `{"NULL":false}`,
  `{"NULL":"true"}`,
  `{"NULL":null}`,
  `{"M":[]}`,
  `{"M":"x"}`,
  `{"M":{"a":1}}`,
  `{"L":{}}`,
  `{"L":[1]}`,
  `{"SS":"a"}`,
  `{"SS":[1]}`,
  `{"NS":[1]}`,
  `{"BS":["abc"]}`,
  `{"Q":"1"}`,
  `{"s":"a"}`,
  `{}`,
  `{"S":"a","N":"1"}`,
  `{"S":"a","x":1}`,
  `"plain"`,
  `null`,
  `[]`,
  `1`,
  `true`
]

/** Numbers DynamoDB refuses: 39 significant digits, out of range, not decimal. */
export const BAD_NUMBERS: ReadonlyArray<string> = [
  "123456789012345678901234567890123456789",
  "9.99999999999999999999999999999999999999E+125",
  "1E+126",
  "1E126",
  "10E+125",
  "1E-131",
  "0.1E-130",
  "-1E+126",
  "1E+9999999",
  "1E-9999999",
  "NaN",
  "Infinity",
  "-Infinity",
  "",
  "-",
  "+",
  ".",
  "1.2.3",
  "0x10",
  " 1",
  "1 ",
  "1e",
  "1E+",
  "\u0661",
  "1_000",
  "--1",
  "1,5"
]

/** Numbers at the edges of what DynamoDB accepts, in odd spellings. */
export const EDGE_NUMBERS: ReadonlyArray<string> = [
  "0",
  "-0",
  "0.0",
  "000",
  "+1",
  "9.9999999999999999999999999999999999999E+125",
  "-9.9999999999999999999999999999999999999E+125",
  "1E-130",
  "-1E-130",
  "99999999999999999999999999999999999999",
  "0.00000000000000000000000000000000000001",
  "1.00000000000000000000000000000000000000000000",
  "100000000000000000000000000000000000000000000",
  "1e5",
  "1E+125",
  ".5",
  "5.",
  "1E-0"
]

/** Strings at the edges of Unicode: lone surrogates, U+0000, U+FFFF, 4-byte characters, separators. */
export const EDGE_STRINGS: ReadonlyArray<string> = [
  "",
  "\u0000",
  "a\u0000b",
  "\ud800",
  "\udfff",
  "a\ud800b",
  "\udc00\ud800",
  "\uffff",
  "\ufffe",
  "\u2028\u2029",
  "😀",
  "\ud83d\ude00x",
  "𝄞𠀀",
  "日本語",
  "\u007f\u0085",
  `"\\/`,
  "\t\r"
]

/** Attribute names as odd as values. */
export const EDGE_NAMES: ReadonlyArray<string> = [
  "é",
  "😀",
  "\u0000",
  "\ud800",
  "\uffff",
  "a.b",
  "[0]",
  "constructor",
  "toString",
  "0",
  "123",
  " "
]

/** Byte sequences that are not UTF-8: a lone continuation byte, 0xFF, an overlong NUL, an encoded surrogate, a cut 4-byte character. */
export const INVALID_UTF8: ReadonlyArray<Uint8Array> = [
  Uint8Array.of(0x80),
  Uint8Array.of(0xff),
  Uint8Array.of(0xc0, 0x80),
  Uint8Array.of(0xc3, 0x28),
  Uint8Array.of(0xed, 0xa0, 0x80),
  Uint8Array.of(0xf0, 0x9f, 0x98),
  Uint8Array.of(0xf4, 0x90, 0x80, 0x80)
]

/** A JSON string literal with every character escaped as `\uXXXX`. */
export const escapeAll = (text: string): string => {
  let out = `"`
  for (let i = 0; i < text.length; i++) out += `\\u${text.charCodeAt(i).toString(16).padStart(4, "0")}`
  return out + `"`
}

/** A JSON string literal, plainly (`JSON.stringify`) or with every character escaped. */
export const stringLiteral = (text: string, escaped: boolean): string =>
  escaped ? escapeAll(text) : JSON.stringify(text)

/**
 * `depth` levels of M (`{"M":{"x":…}}`) or L (`{"L":[…]}`) around `{"S":"deep"}`, as raw JSON and as a value; shown
 * as `nested(depth, tag)` in counterexamples.
 */
export const nested = (
  depth: number,
  tag: "M" | "L"
): { readonly raw: string; readonly value: () => AV.AttributeValue } =>
  shownAs({
    raw: tag === "M"
      ? `{"M":{"x":`.repeat(depth) + `{"S":"deep"}` + `}}`.repeat(depth)
      : `{"L":[`.repeat(depth) + `{"S":"deep"}` + `]}`.repeat(depth),
    value: () => {
      let value: AV.AttributeValue = { _tag: "S", value: "deep" }
      for (let i = 0; i < depth; i++) {
        value = tag === "M" ? { _tag: "M", value: new Map([["x", value]]) } : { _tag: "L", value: [value] }
      }
      return value
    }
  }, `nested(${depth}, ${tag})`)

/** Shows an object as `name` in fast-check's counterexamples (for values too large to print). */
export const shownAs = <A extends object>(value: A, name: string): A =>
  Object.assign(value, { [fc.toStringMethod]: () => name })

/** A value as plain JSON with sorted names, bytes as base64, number texts as they are: equal exactly when the values are. */
const exact = (value: AV.AttributeValue): unknown => {
  switch (value._tag) {
    case "B":
      return { B: Base64.encode(value.value) }
    case "BS":
      return { BS: value.value.map(Base64.encode) }
    case "M":
      return { M: exactItem(value.value) }
    case "L":
      return { L: value.value.map(exact) }
    case "NULL":
      return { NULL: true }
    default:
      return { [value._tag]: value.value }
  }
}

const exactItem = (item: AV.Item): Array<[string, unknown]> =>
  [...item].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, value]) => [name, exact(value)])

/** An item as text that is equal for two items exactly when they hold the same names, tags, texts and bytes. */
export const itemText = (item: AV.Item | undefined): string | undefined =>
  item === undefined ? undefined : JSON.stringify(exactItem(item))

/** A change event as comparable text (items exact, whatever their names' order). */
export const eventText = (event: ChangeEvent): string =>
  JSON.stringify({
    op: event.op,
    key: itemText(event.key),
    oldImage: itemText(event.oldImage),
    newImage: itemText(event.newImage),
    timestampMs: event.timestampMs,
    position: event.position
  })

/** JSON with `ws` around every token (`ws` without a newline keeps it on one line). */
export const spaced = (json: unknown, ws: string): string => {
  if (Array.isArray(json)) return `[${ws}${json.map((v) => spaced(v, ws)).join(`${ws},${ws}`)}${ws}]`
  if (typeof json === "object" && json !== null) {
    const entries = Object.entries(json).map(([k, v]) => `${JSON.stringify(k)}${ws}:${ws}${spaced(v, ws)}`)
    return `{${ws}${entries.join(`${ws},${ws}`)}${ws}}`
  }
  return JSON.stringify(json)
}

/** An item with `name` set to `value` (added last, or replaced in place). */
export const withAttribute = (item: AV.Item, name: string, value: AV.AttributeValue): AV.Item =>
  new Map([...item, [name, value]])

/** Picks from a list with an index drawn by fast-check. */
export const pick = <A>(list: ReadonlyArray<A>, index: number): A => list[index % list.length]!

/** Concatenates byte arrays. */
export const concat = (...parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0))
  let at = 0
  for (const part of parts) {
    out.set(part, at)
    at += part.length
  }
  return out
}

/** A mutation of a byte string: flipped bytes, a cut, appended garbage, an inserted or deleted run. */
export type BytesMutation =
  | { readonly _tag: "Flip"; readonly flips: ReadonlyArray<readonly [offset: number, xor: number]> }
  | { readonly _tag: "Truncate"; readonly at: number }
  | { readonly _tag: "Append"; readonly bytes: Uint8Array }
  | { readonly _tag: "Insert"; readonly at: number; readonly bytes: Uint8Array }
  | { readonly _tag: "Delete"; readonly at: number; readonly length: number }

export const bytesMutation: fc.Arbitrary<BytesMutation> = fc.oneof(
  fc.record({
    _tag: fc.constant("Flip" as const),
    flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 3 })
  }),
  fc.record({ _tag: fc.constant("Truncate" as const), at: fc.nat() }),
  fc.record({
    _tag: fc.constant("Append" as const),
    bytes: fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 64 }),
      fc.constantFrom(Uint8Array.of(0), Uint8Array.of(10), Uint8Array.of(0x1f, 0x8b), Uint8Array.of(0x1f, 0x8b, 8, 0))
    )
  }),
  fc.record({
    _tag: fc.constant("Insert" as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 })
  }),
  fc.record({ _tag: fc.constant("Delete" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 16 }) })
)

/** Applies a mutation (offsets taken modulo the length, so every mutation fits every input). */
export const mutateBytes = (bytes: Uint8Array, mutation: BytesMutation): Uint8Array => {
  const length = bytes.length
  switch (mutation._tag) {
    case "Flip": {
      const out = bytes.slice()
      if (length === 0) return out
      for (const [offset, xor] of mutation.flips) out[offset % length] = out[offset % length]! ^ xor
      return out
    }
    case "Truncate":
      return bytes.slice(0, length === 0 ? 0 : mutation.at % length)
    case "Append":
      return concat(bytes, mutation.bytes)
    case "Insert": {
      const at = mutation.at % (length + 1)
      return concat(bytes.subarray(0, at), mutation.bytes, bytes.subarray(at))
    }
    case "Delete": {
      if (length === 0) return bytes.slice()
      const at = mutation.at % length
      return concat(bytes.subarray(0, at), bytes.subarray(Math.min(length, at + mutation.length)))
    }
  }
}

/** Characters that make and break JSON. */
const INTERESTING = [
  `"`,
  `\\`,
  "{",
  "}",
  "[",
  "]",
  ",",
  ":",
  " ",
  "0",
  "9",
  "e",
  "E",
  "-",
  "+",
  ".",
  "a",
  "S",
  "N",
  "L",
  "M",
  "B",
  "\n",
  "\u0000",
  "\ud800",
  "😀",
  "é",
  "\uffff",
  "u",
  "/"
]

/** A mutation of a text: characters replaced, inserted or deleted, a run duplicated. */
export type TextMutation = ReadonlyArray<
  | { readonly _tag: "Replace"; readonly at: number; readonly char: string }
  | { readonly _tag: "Insert"; readonly at: number; readonly char: string }
  | { readonly _tag: "Delete"; readonly at: number; readonly length: number }
  | { readonly _tag: "Duplicate"; readonly at: number; readonly length: number }
>

export const textMutation: fc.Arbitrary<TextMutation> = fc.array(
  fc.oneof(
    fc.record({ _tag: fc.constant("Replace" as const), at: fc.nat(), char: fc.constantFrom(...INTERESTING) }),
    fc.record({ _tag: fc.constant("Insert" as const), at: fc.nat(), char: fc.constantFrom(...INTERESTING) }),
    fc.record({ _tag: fc.constant("Delete" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 6 }) }),
    fc.record({ _tag: fc.constant("Duplicate" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 12 }) })
  ),
  { minLength: 1, maxLength: 3 }
)

export const mutateText = (text: string, mutation: TextMutation): string => {
  let out = text
  for (const step of mutation) {
    const at = step.at % (out.length + 1)
    switch (step._tag) {
      case "Replace":
        out = out.slice(0, at) + step.char + out.slice(at + 1)
        break
      case "Insert":
        out = out.slice(0, at) + step.char + out.slice(at)
        break
      case "Delete":
        out = out.slice(0, at) + out.slice(at + step.length)
        break
      case "Duplicate":
        out = out.slice(0, at + step.length) + out.slice(at, at + step.length) + out.slice(at + step.length)
        break
    }
  }
  return out
}

/** A property's number of runs, scaled by `BACKSTREAM_FUZZ_SCALE` (default 1) for a longer local search. */
export const runs = (n: number): number => Math.max(1, Math.round(n * Number(process.env.BACKSTREAM_FUZZ_SCALE ?? "1")))
