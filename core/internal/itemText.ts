/**
 * A fast path for the common case of export lines: DynamoDB JSON as AWS writes it, compact and without escapes, parsed
 * from the line's text straight into the value model, without the intermediate objects of `JSON.parse`. It accepts
 * only what `JSON.parse` and `DynamoJson` would accept and decode to the same value; for anything else (whitespace,
 * escapes, control characters, names that are array indices, duplicate names, invalid values, unknown shapes) it
 * returns `undefined`, and the caller takes the general path, which gives the answer or the error.
 *
 * Strings of the result may be slices of the line's text.
 */
import type { AttributeValue, Item } from "../AttributeValue.ts"
import * as Base64 from "../Base64.ts"
import * as DynamoNumber from "../DynamoNumber.ts"

// Thrown to leave the fast path (made once: no stack trace to capture); never escapes this module.
const GIVE_UP: unknown = Object.freeze({ giveUp: true })

// The parser's state: the text and the position of the next character.
let text = ""
let at = 0
// False while checking only: values are read and checked as when building, but not made (see `checkFullExportItem`).
let build = true
// What `value`, `map`, `list` and the sets give while checking only: nothing is made.
const CHECKED: AttributeValue = Object.freeze({ _tag: "NULL" })
const NO_ATTRIBUTES: Map<string, AttributeValue> = new Map()
const NO_VALUES: Array<never> = []
const NO_BYTES = new Uint8Array(0)

const giveUp = (): never => {
  throw GIVE_UP
}

const expect = (code: number): void => {
  if (text.charCodeAt(at) !== code) giveUp()
  at++
}

// Where the last string read starts and ends (its quotes excluded).
let start = 0
let end = 0

/**
 * Reads a string to `start` and `end`. Escapes and raw control characters (which JSON forbids in strings) are left
 * to `JSON.parse`.
 */
const read = (): void => {
  if (text.charCodeAt(at) !== 34) giveUp()
  start = at + 1
  for (let i = start;; i++) {
    const code = text.charCodeAt(i)
    if (code === 34) {
      end = i
      at = i + 1
      return
    }
    if (code < 32 || code === 92 || code !== code) giveUp()
  }
}

const string = (): string => {
  read()
  return build ? text.slice(start, end) : ""
}

const number = (): string => {
  read()
  return DynamoNumber.classify(text, start, end) === "invalid" ? giveUp() : build ? text.slice(start, end) : ""
}

const bytes = (): Uint8Array => {
  read()
  if (!build) return Base64.isCanonical(text, start, end) ? NO_BYTES : giveUp()
  return Base64.decode(text, start, end) ?? giveUp()
}

// The spans (start, end) of the names of the maps being read and of the elements of the set being read, on one stack
// (`spans` up to `top`): a repeated one is found by comparing text in place, without a string made for it.
let spans = new Int32Array(256)
let top = 0

/** Empties the stack of spans, and gives back the room a large item took. */
const resetSpans = (): void => {
  top = 0
  if (spans.length > 4096) spans = new Int32Array(256)
}

/** Whether the last string read repeats one of the spans from `from` on; if not, it is pushed there. */
const repeats = (from: number): boolean => {
  const length = end - start
  for (let i = from; i < top; i += 2) {
    const other = spans[i]!
    if (spans[i + 1]! - other !== length) continue
    let k = 0
    while (k < length && text.charCodeAt(other + k) === text.charCodeAt(start + k)) k++
    if (k === length) return true
  }
  if (top === spans.length) {
    const grown = new Int32Array(spans.length * 2)
    grown.set(spans)
    spans = grown
  }
  spans[top++] = start
  spans[top++] = end
  return false
}

/** After an element of a list or set: true when another follows, false at the closing bracket. */
const more = (): boolean => {
  const code = text.charCodeAt(at++)
  return code === 44 ? true : code === 93 ? false : giveUp()
}

const list = (): Array<AttributeValue> => {
  expect(91)
  const out: Array<AttributeValue> = build ? [] : NO_VALUES
  if (text.charCodeAt(at) === 93) {
    at++
    return out
  }
  do {
    const element = value()
    if (build) out.push(element)
  } while (more())
  return out
}

// Sets: non-empty, elements distinct (pairwise: sets are small, and a large one only costs time, not correctness).
const stringSet = (): Array<string> => {
  expect(91)
  const out: Array<string> = build ? [] : NO_VALUES
  const from = top
  do {
    read()
    if (repeats(from)) giveUp()
    if (build) out.push(text.slice(start, end))
  } while (more())
  top = from
  return out
}

// Numbers are compared by value: their texts while every one is canonical, else their canonical texts.
const numberSet = (): Array<string> => {
  expect(91)
  const out: Array<string> = build ? [] : NO_VALUES
  const from = top
  let keys: Array<string> | undefined
  do {
    read()
    const kind = DynamoNumber.classify(text, start, end)
    if (kind === "invalid") giveUp()
    if (keys === undefined && kind !== "canonical") {
      keys = []
      for (let i = from; i < top; i += 2) keys.push(text.slice(spans[i], spans[i + 1]))
    }
    if (keys === undefined) {
      if (repeats(from)) giveUp()
    } else {
      const key = DynamoNumber.canonical(text.slice(start, end))
      if (keys.includes(key)) giveUp()
      keys.push(key)
    }
    if (build) out.push(text.slice(start, end))
  } while (more())
  top = from
  return out
}

// Canonical base64 spells each byte string one way: the texts are compared.
const binarySet = (): Array<Uint8Array> => {
  expect(91)
  const out: Array<Uint8Array> = build ? [] : NO_VALUES
  const from = top
  do {
    const element = bytes()
    if (repeats(from)) giveUp()
    if (build) out.push(element)
  } while (more())
  top = from
  return out
}

/** An attribute value: `{"<tag>":<payload>}`, exactly one tag. */
const value = (): AttributeValue => {
  if (text.charCodeAt(at) !== 123 || text.charCodeAt(at + 1) !== 34) giveUp()
  at += 2
  const first = text.charCodeAt(at)
  const second = text.charCodeAt(at + 1)
  let result: AttributeValue = CHECKED
  if (second === 34 && text.charCodeAt(at + 2) === 58) {
    at += 3
    switch (first) {
      case 83: {
        const made = string()
        if (build) result = { _tag: "S", value: made }
        break
      }
      case 78: {
        const made = number()
        if (build) result = { _tag: "N", value: made }
        break
      }
      case 66: {
        const made = bytes()
        if (build) result = { _tag: "B", value: made }
        break
      }
      case 77: {
        const made = map()
        if (build) result = { _tag: "M", value: made }
        break
      }
      case 76: {
        const made = list()
        if (build) result = { _tag: "L", value: made }
        break
      }
      default:
        return giveUp()
    }
  } else if (second === 83 && text.charCodeAt(at + 2) === 34 && text.charCodeAt(at + 3) === 58) {
    at += 4
    switch (first) {
      case 83: {
        const made = stringSet()
        if (build) result = { _tag: "SS", value: made }
        break
      }
      case 78: {
        const made = numberSet()
        if (build) result = { _tag: "NS", value: made }
        break
      }
      case 66: {
        const made = binarySet()
        if (build) result = { _tag: "BS", value: made }
        break
      }
      default:
        return giveUp()
    }
  } else if (first === 66 && text.startsWith('BOOL":', at)) {
    at += 6
    if (text.startsWith("true", at)) {
      at += 4
      if (build) result = { _tag: "BOOL", value: true }
    } else if (text.startsWith("false", at)) {
      at += 5
      if (build) result = { _tag: "BOOL", value: false }
    } else {
      return giveUp()
    }
  } else if (first === 78 && text.startsWith('NULL":true', at)) {
    at += 10
    if (build) result = { _tag: "NULL" }
  } else {
    return giveUp()
  }
  expect(125)
  return result
}

/**
 * A map of attribute values. Names that could be array indices (a leading digit) are left to `JSON.parse`, which
 * puts them first in an object; a repeated name (the map's size does not grow) too.
 */
const map = (): Map<string, AttributeValue> => {
  expect(123)
  // While checking, only the top map is made, and only with the key's attributes.
  const out = build || depth === 0 ? new Map<string, AttributeValue>() : NO_ATTRIBUTES
  if (text.charCodeAt(at) === 125) {
    at++
    return out
  }
  const from = top
  for (;;) {
    const first = text.charCodeAt(at + 1)
    if (first >= 48 && first <= 57) giveUp()
    read()
    if (build) {
      const name = text.slice(start, end)
      expect(58)
      const size = out.size
      out.set(name, value())
      if (out.size === size) giveUp()
    } else {
      if (repeats(from)) giveUp()
      const key = depth === 0 ? keyName() : undefined
      expect(58)
      if (key !== undefined) {
        build = true
        try {
          out.set(key, value())
        } finally {
          build = false
        }
      } else {
        depth++
        try {
          value()
        } finally {
          depth--
        }
      }
    }
    const code = text.charCodeAt(at++)
    if (code === 125) {
      top = from
      return out
    }
    if (code !== 44) giveUp()
  }
}

/** The key attribute the last string read names, if any. */
const keyName = (): string | undefined => {
  for (let i = 0; i < keyNames.length; i++) {
    const name = keyNames[i]!
    if (name.length === end - start && text.startsWith(name, start)) return name
  }
  return undefined
}

// While checking only: the names of the attributes to make (the key's), and how deep in maps the check is.
let keyNames: ReadonlyArray<string> = []
let depth = 0

/**
 * Reads a full export's line (`{"Item":{…}}`): its item, or with `names` only checks it and makes those attributes
 * (the key's); `undefined` when the fast path cannot read it.
 */
const readItem = (line: string, names: ReadonlyArray<string> | undefined): Item | undefined => {
  if (!line.startsWith('{"Item":')) return undefined
  text = line
  at = 8
  build = names === undefined
  keyNames = names ?? []
  depth = 0
  resetSpans()
  try {
    const item = map()
    return at === line.length - 1 && line.charCodeAt(at) === 125 ? item : undefined
  } catch {
    // Giving up, or anything else (a nesting deep enough to overflow the stack): the general path decides.
    return undefined
  } finally {
    text = ""
    build = true
    keyNames = []
  }
}

/**
 * The item of a full export's line (`{"Item":{…}}`) when the fast path can read it, else `undefined` (the line may
 * still be valid: decode it the general way).
 */
export const fullExportItem = (line: string): Item | undefined => readItem(line, undefined)

/**
 * Checks a full export's line as {@link fullExportItem} reads it, without making its values: `undefined` when the fast
 * path cannot read it (the line may still be valid), else the attributes named in `names` (the key's) as a map. A line
 * this accepts is one {@link fullExportItem} reads, to the same item.
 */
export const checkFullExportItem = (line: string, names: ReadonlyArray<string>): Item | undefined =>
  readItem(line, names)
