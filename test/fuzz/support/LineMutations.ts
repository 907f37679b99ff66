/**
 * Mutations of one line of an export data file, each with what reading the line must then give: the original event,
 * a changed one, a typed error, or either (a typed error or the given event). Lines are rebuilt from their fields'
 * raw JSON, so that a mutation can write what `JSON.stringify` never does: duplicate names, escapes, spaces, bytes
 * that are not UTF-8. Random edits of a line's text are judged by {@link referenceDecode}.
 */
import { FastCheck as fc } from "effect"
import * as AV from "../../../core/AttributeValue.ts"
import type { ChangeEvent } from "../../../core/ChangeEvent.ts"
import { type LineContext, referenceDecode } from "./ReferenceDecoder.ts"
import {
  BAD_NUMBERS,
  concat,
  EDGE_NAMES,
  EDGE_NUMBERS,
  EDGE_STRINGS,
  INVALID_UTF8,
  mutateBytes,
  mutateText,
  nested,
  pick,
  shownAs,
  spaced,
  stringLiteral,
  type TextMutation,
  textMutation,
  withAttribute,
  WRONG_VALUES
} from "./Values.ts"

/** What reading a line must give. */
export type Expect =
  | { readonly _tag: "Event"; readonly event: ChangeEvent }
  | { readonly _tag: "Invalid" }
  | { readonly _tag: "Either"; readonly event?: ChangeEvent }

/** The lines that replace the mutated one, and what each must give. */
export interface Replaced {
  readonly lines: ReadonlyArray<Uint8Array>
  readonly expects: ReadonlyArray<Expect>
}

const invalid: Expect = { _tag: "Invalid" }
const event = (event: ChangeEvent): Expect => ({ _tag: "Event", event })

// A line as its fields' raw JSON; the image's field as its attributes' raw JSON.
type Fields = Array<[string, string | Fields]>

const encoder = new TextEncoder()
const POISON = "\u{F8FF}POISON\u{F8FF}"

const render = (fields: Fields, ws = ""): string =>
  `{${ws}${
    fields.map(([name, raw]) => `${JSON.stringify(name)}${ws}:${ws}${typeof raw === "string" ? raw : render(raw, ws)}`)
      .join(`${ws},${ws}`)
  }${ws}}`

/** The bytes of a rendered line, with the poison marker replaced by bytes that are not UTF-8. */
const bytesOf = (text: string, poison: Uint8Array = new Uint8Array(0)): Uint8Array => {
  const at = text.indexOf(POISON)
  if (at === -1) return encoder.encode(text)
  return concat(encoder.encode(text.slice(0, at)), poison, encoder.encode(text.slice(at + POISON.length)))
}

interface Parsed {
  readonly fields: Fields
  /** The image the mutations work on: `Item`, or an incremental line's `NewImage` (else `OldImage`). */
  readonly image: string | undefined
  readonly entries: Fields
}

const parse = (text: string, full: boolean): Parsed => {
  const json = JSON.parse(text) as Record<string, Record<string, unknown>>
  const image = full ? "Item" : "NewImage" in json ? "NewImage" : "OldImage" in json ? "OldImage" : undefined
  const entries: Fields = image === undefined
    ? []
    : Object.entries(json[image]!).map(([name, value]) => [name, JSON.stringify(value)])
  const fields: Fields = Object.entries(json).map((
    [name, value]
  ) => [name, name === image ? entries : JSON.stringify(value)])
  return { fields, image, entries }
}

const KEY_NAMES = new Set(["pk", "sk"])

/** The event with the mutated image changed by `f`. */
const changeImage = (original: ChangeEvent, image: string, f: (item: AV.Item) => AV.Item): ChangeEvent =>
  image === "OldImage"
    ? { ...original, oldImage: f(original.oldImage!) }
    : { ...original, newImage: f(original.newImage!) }

/** A replacement attribute value: raw JSON and its expectation from the original event. */
interface Value {
  readonly raw: string
  readonly poison?: Uint8Array
  /** The value it stands for when valid; "unchecked" when any value (or a typed error) will do. */
  readonly value?: AV.AttributeValue | "unchecked"
  /** Past DynamoDB's 32 levels of nesting: the reader may refuse it (typed) or read it exactly. */
  readonly deep?: boolean
}

const valueArbitrary: fc.Arbitrary<Value> = fc.oneof(
  fc.constantFrom(...WRONG_VALUES).map((raw): Value => ({ raw })),
  fc.constantFrom(...BAD_NUMBERS).map((n): Value => ({ raw: `{"N":${JSON.stringify(n)}}` })),
  fc.constantFrom(...BAD_NUMBERS).map((n): Value => ({ raw: `{"NS":["1",${JSON.stringify(n)}]}` })),
  fc.constantFrom(...EDGE_NUMBERS).map((n): Value => ({ raw: `{"N":${JSON.stringify(n)}}`, value: AV.n(n) })),
  fc.constantFrom(`{"SS":[]}`, `{"NS":[]}`, `{"BS":[]}`).map((raw): Value => ({ raw })),
  fc.constantFrom(`{"SS":["a","a"]}`, `{"NS":["1","1.0"]}`, `{"NS":["1E2","100"]}`, `{"BS":["AA==","AA=="]}`).map((
    raw
  ): Value => ({ raw })),
  fc.tuple(fc.constantFrom(...EDGE_STRINGS), fc.boolean()).map(([s, escaped]): Value => ({
    raw: `{"S":${stringLiteral(s, escaped)}}`,
    value: AV.s(s)
  })),
  fc.tuple(fc.constantFrom(...EDGE_STRINGS), fc.boolean()).map(([s, escaped]): Value => ({
    raw: `{"SS":[${stringLiteral(s, escaped)},${stringLiteral(s + "!", escaped)}]}`,
    value: AV.ss([s, s + "!"])
  })),
  fc.tuple(fc.constantFrom(...EDGE_STRINGS), fc.boolean()).map(([s, escaped]): Value => ({
    raw: `{"S":"first","S":${stringLiteral(s, escaped)}}`,
    value: AV.s(s)
  })),
  fc.constantFrom(...INVALID_UTF8).map((poison): Value => ({ raw: `{"S":"a${POISON}b"}`, poison })),
  fc.constantFrom("\u0000", "\t", "\u001f").map((control): Value => ({ raw: `{"S":"a${control}b"}` })),
  fc.tuple(fc.constantFrom(1000, 300), fc.constantFrom("M" as const, "L" as const)).map(([depth, tag]): Value => {
    const deep = nested(depth, tag)
    return shownAs({ raw: deep.raw, value: deep.value(), deep: depth > 300 }, `nested(${depth}, ${tag})`)
  }),
  fc.constantFrom("M" as const, "L" as const).map((tag): Value =>
    shownAs({ raw: nested(100_000, tag).raw, value: "unchecked" }, `nested(100000, ${tag})`)
  )
)

/** The mutations of the catalogue; `at` and `n` pick among the line's attributes, offsets and choices. */
export type LineMutation =
  | { readonly _tag: "SetValue"; readonly at: number; readonly value: Value }
  | { readonly _tag: "EdgeName"; readonly name: string; readonly escaped: boolean }
  | { readonly _tag: "RemoveAttribute"; readonly at: number }
  | { readonly _tag: "DuplicateName"; readonly at: number; readonly value: string }
  | { readonly _tag: "DuplicateImage" }
  | { readonly _tag: "Spaced"; readonly ws: string }
  | { readonly _tag: "Reorder" }
  | { readonly _tag: "ExtraField"; readonly name: string }
  | { readonly _tag: "MissingField"; readonly n: number }
  | { readonly _tag: "ImageNotObject"; readonly raw: string }
  | { readonly _tag: "Cut"; readonly at: number }
  | { readonly _tag: "Truncate"; readonly at: number }
  | { readonly _tag: "KeyTamper"; readonly raw: string | undefined }
  | { readonly _tag: "DuplicateLine" }
  | { readonly _tag: "RemoveLine" }
  | { readonly _tag: "EmptyLine" }
  | { readonly _tag: "Micros"; readonly raw: string }
  | { readonly _tag: "Random"; readonly text: TextMutation; readonly flip: number | undefined }

export const lineMutation: fc.Arbitrary<LineMutation> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ _tag: fc.constant("SetValue" as const), at: fc.nat(), value: valueArbitrary }) },
  {
    weight: 1,
    arbitrary: fc.record({
      _tag: fc.constant("EdgeName" as const),
      name: fc.constantFrom(...EDGE_NAMES),
      escaped: fc.boolean()
    })
  },
  { weight: 1, arbitrary: fc.record({ _tag: fc.constant("RemoveAttribute" as const), at: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      _tag: fc.constant("DuplicateName" as const),
      at: fc.nat(),
      value: fc.constantFrom(...EDGE_STRINGS)
    })
  },
  { weight: 1, arbitrary: fc.constant({ _tag: "DuplicateImage" as const }) },
  {
    weight: 1,
    arbitrary: fc.record({ _tag: fc.constant("Spaced" as const), ws: fc.constantFrom(" ", "\t", "\r", " \r\t ") })
  },
  { weight: 1, arbitrary: fc.constant({ _tag: "Reorder" as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      _tag: fc.constant("ExtraField" as const),
      name: fc.constantFrom("Extra", "item", "Keys", "__proto__")
    })
  },
  { weight: 1, arbitrary: fc.record({ _tag: fc.constant("MissingField" as const), n: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      _tag: fc.constant("ImageNotObject" as const),
      raw: fc.constantFrom("[]", "null", `"x"`, "1", "[{}]")
    })
  },
  { weight: 2, arbitrary: fc.record({ _tag: fc.constant("Cut" as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ _tag: fc.constant("Truncate" as const), at: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      _tag: fc.constant("KeyTamper" as const),
      raw: fc.constantFrom(`{"M":{}}`, `{"BOOL":true}`, `{"S":""}`, `{"L":[]}`, `{"S":"another key"}`, undefined)
    })
  },
  { weight: 1, arbitrary: fc.constant({ _tag: "DuplicateLine" as const }) },
  { weight: 1, arbitrary: fc.constant({ _tag: "RemoveLine" as const }) },
  { weight: 1, arbitrary: fc.constant({ _tag: "EmptyLine" as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      _tag: fc.constant("Micros" as const),
      raw: fc.constantFrom(
        `{"N":"12345678901234567890"}`,
        `{"N":"abc"}`,
        `{"N":"-1"}`,
        `{"N":"1.5"}`,
        `{"N":""}`,
        `{"S":"1"}`,
        `{"N":1}`,
        `{"N":"0"}`,
        `{"N":"1"}`,
        `{"N":"9223372036854775807"}`
      )
    })
  },
  {
    weight: 4,
    arbitrary: fc.record({
      _tag: fc.constant("Random" as const),
      text: textMutation,
      flip: fc.option(fc.nat(), { nil: undefined })
    })
  }
)

const judged = (lines: ReadonlyArray<Uint8Array>, context: LineContext): Replaced => ({
  lines,
  expects: lines.map((line) => {
    const decoded = referenceDecode(line, context)
    return decoded === undefined ? invalid : event(decoded)
  })
})

const splitLines = (bytes: Uint8Array): Array<Uint8Array> => {
  const out: Array<Uint8Array> = []
  let from = 0
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 10) {
      out.push(bytes.subarray(from, i))
      from = i + 1
    }
  }
  out.push(bytes.subarray(from))
  return out
}

/**
 * Applies a mutation to a line (its text, without newline) whose event is `original`. Returns the lines that replace
 * it (possibly none, possibly several) and what each must give.
 */
export const applyLineMutation = (
  mutation: LineMutation,
  text: string,
  original: ChangeEvent,
  context: LineContext
): Replaced => {
  const full = context.source.type === "FULL_EXPORT"
  const { entries, fields, image } = parse(text, full)
  const same = (lines: ReadonlyArray<string | Uint8Array>, expects: ReadonlyArray<Expect>): Replaced => ({
    lines: lines.map((line) => (typeof line === "string" ? bytesOf(line) : line)),
    expects
  })
  const nonKey = entries.filter(([name]) => !KEY_NAMES.has(name))
  const bytes = encoder.encode(text)
  switch (mutation._tag) {
    case "SetValue": {
      if (image === undefined) return same([text], [event(original)])
      const target = nonKey.length === 0 || mutation.at % 3 === 0 ? undefined : pick(nonKey, mutation.at)
      const name = target?.[0] ?? "fuzz"
      if (target === undefined) entries.push([name, mutation.value.raw])
      else target[1] = mutation.value.raw
      const line = bytesOf(render(fields), mutation.value.poison)
      const value = mutation.value.value
      if (value === undefined) return { lines: [line], expects: [invalid] }
      if (value === "unchecked") return { lines: [line], expects: [{ _tag: "Either" }] }
      const changed = changeImage(original, image, (item) => withAttribute(item, name, value))
      return {
        lines: [line],
        expects: [mutation.value.deep === true ? { _tag: "Either", event: changed } : event(changed)]
      }
    }
    case "EdgeName": {
      if (image === undefined || entries.some(([name]) => name === mutation.name)) {
        return same([text], [event(original)])
      }
      entries.push([mutation.name, `{"S":"v"}`])
      const line = render(fields).replace(JSON.stringify(mutation.name), stringLiteral(mutation.name, mutation.escaped))
      return same([line], [
        event(changeImage(original, image, (item) => withAttribute(item, mutation.name, AV.s("v"))))
      ])
    }
    case "RemoveAttribute": {
      if (image === undefined || nonKey.length === 0) return same([text], [event(original)])
      const [name] = pick(nonKey, mutation.at)
      entries.splice(entries.findIndex(([n]) => n === name), 1)
      const changed = changeImage(original, image, (item) => new Map([...item].filter(([n]) => n !== name)))
      return same([render(fields)], [event(changed)])
    }
    case "DuplicateName": {
      if (image === undefined) return same([text], [event(original)])
      const shadowed = nonKey.length > 0 && mutation.at % 2 === 0 ? pick(nonKey, mutation.at)[0] : undefined
      if (shadowed !== undefined) {
        // A first occurrence before the real one: the last one wins, so the event is the original's.
        entries.splice(entries.findIndex(([n]) => n === shadowed), 0, [shadowed, `{"S":"shadowed"}`])
        return same([render(fields)], [event(original)])
      }
      entries.unshift(["fuzzDup", `{"S":"first"}`])
      entries.push(["fuzzDup", `{"S":${JSON.stringify(mutation.value)}}`])
      return same([render(fields)], [
        event(changeImage(original, image, (item) => withAttribute(item, "fuzzDup", AV.s(mutation.value))))
      ])
    }
    case "DuplicateImage": {
      if (image === undefined) return same([text], [event(original)])
      const second: Fields = [...entries.map(([n, raw]): [string, string | Fields] => [n, raw]), [
        "second",
        `{"BOOL":true}`
      ]]
      fields.push([image, second])
      return same([render(fields)], [
        event(changeImage(original, image, (item) => withAttribute(item, "second", AV.bool(true))))
      ])
    }
    case "Spaced": {
      const json = JSON.parse(text)
      return same([spaced(json, mutation.ws) + (mutation.ws.includes("\r") ? "\r" : "")], [event(original)])
    }
    case "Reorder": {
      fields.reverse()
      entries.reverse()
      return same([render(fields)], [event(original)])
    }
    case "ExtraField": {
      if (fields.some(([name]) => name === mutation.name)) return same([text], [event(original)])
      fields.push([mutation.name, `{}`])
      return same([render(fields)], [invalid])
    }
    case "MissingField": {
      const required = full ? ["Item"] : ["Keys", "Metadata"]
      const name = pick(required, mutation.n)
      fields.splice(fields.findIndex(([n]) => n === name), 1)
      return same([render(fields)], [invalid])
    }
    case "ImageNotObject": {
      const name = image ?? "Keys"
      const at = fields.findIndex(([n]) => n === name)
      fields[at] = [name, mutation.raw]
      return same([render(fields)], [invalid])
    }
    case "Cut": {
      const at = 1 + (mutation.at % (bytes.length - 1))
      return same([bytes.slice(0, at), bytes.slice(at)], [invalid, invalid])
    }
    case "Truncate":
      return same([bytes.slice(0, 1 + (mutation.at % (bytes.length - 1)))], [invalid])
    case "KeyTamper": {
      if (full) {
        const at = entries.findIndex(([n]) => n === "pk")
        if (mutation.raw === undefined) entries.splice(at, 1)
        else entries[at] = ["pk", mutation.raw]
        const valid = mutation.raw === `{"S":"another key"}`
        if (!valid) return same([render(fields)], [invalid])
        const key = new Map([...original.key!, ["pk", AV.s("another key")]])
        return same([render(fields)], [
          event({ ...original, key, newImage: withAttribute(original.newImage!, "pk", AV.s("another key")) })
        ])
      }
      const keys = fields.find(([n]) => n === "Keys")!
      const keyEntries: Fields = Object.entries(JSON.parse(keys[1] as string)).map(([n, v]) => [n, JSON.stringify(v)])
      const at = keyEntries.findIndex(([n]) => n === "pk")
      if (mutation.raw === undefined) keyEntries.splice(at, 1)
      else keyEntries[at] = ["pk", mutation.raw]
      keys[1] = keyEntries
      // Keys that an image contradicts are refused; the reader does not hold an incremental line's Keys to the key
      // schema, so Keys that no image contradicts are read as they are: the reference decoder says which.
      return judged([bytesOf(render(fields))], context)
    }
    case "DuplicateLine":
      return same([text, text], [event(original), event(original)])
    case "RemoveLine":
      return same([], [])
    case "EmptyLine":
      return same(["", text], [invalid, event(original)])
    case "Micros": {
      if (full) return same([text], [event(original)])
      const at = fields.findIndex(([n]) => n === "Metadata")
      fields[at] = ["Metadata", `{"WriteTimestampMicros":${mutation.raw}}`]
      const micros = /^\{"N":"([0-9]{1,19})"\}$/.exec(mutation.raw)?.[1]
      if (micros === undefined) return same([render(fields)], [invalid])
      return same([render(fields)], [
        event({
          ...original,
          timestampMs: Math.floor(Number(micros) / 1000),
          position: { ...original.position, writeTimestampMicros: micros } as ChangeEvent["position"]
        })
      ])
    }
    case "Random": {
      let mutated: Uint8Array = encoder.encode(mutateText(text, mutation.text))
      if (mutation.flip !== undefined) {
        mutated = mutateBytes(mutated, { _tag: "Flip", flips: [[mutation.flip, 1 + (mutation.flip % 255)]] })
      }
      return judged(splitLines(mutated), context)
    }
  }
}
