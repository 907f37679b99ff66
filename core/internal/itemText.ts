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
// What `value` gives while checking only.
const CHECKED: AttributeValue = Object.freeze({ _tag: "NULL" })

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
  return Base64.decode(text, start, end) ?? giveUp()
}

/** After an element of a list or set: true when another follows, false at the closing bracket. */
const more = (): boolean => {
  const code = text.charCodeAt(at++)
  return code === 44 ? true : code === 93 ? false : giveUp()
}

const list = (): Array<AttributeValue> => {
  expect(91)
  const out: Array<AttributeValue> = []
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
  const out: Array<string> = []
  do {
    read()
    const element = text.slice(start, end)
    for (let i = 0; i < out.length; i++) if (out[i] === element) giveUp()
    out.push(element)
  } while (more())
  return out
}

const numberSet = (): Array<string> => {
  expect(91)
  const out: Array<string> = []
  const keys: Array<string> = []
  do {
    read()
    const kind = DynamoNumber.classify(text, start, end)
    if (kind === "invalid") giveUp()
    const element = text.slice(start, end)
    const key = kind === "canonical" ? element : DynamoNumber.canonical(element)
    for (let i = 0; i < keys.length; i++) if (keys[i] === key) giveUp()
    out.push(element)
    keys.push(key)
  } while (more())
  return out
}

// Canonical base64 spells each byte string one way: the texts serve as keys.
const binarySet = (): Array<Uint8Array> => {
  expect(91)
  const out: Array<Uint8Array> = []
  const keys: Array<string> = []
  do {
    const element = bytes()
    const key = text.slice(start, end)
    for (let i = 0; i < keys.length; i++) if (keys[i] === key) giveUp()
    out.push(element)
    keys.push(key)
  } while (more())
  return out
}

/** An attribute value: `{"<tag>":<payload>}`, exactly one tag. */
const value = (): AttributeValue => {
  if (text.charCodeAt(at) !== 123 || text.charCodeAt(at + 1) !== 34) giveUp()
  at += 2
  const first = text.charCodeAt(at)
  const second = text.charCodeAt(at + 1)
  let result: AttributeValue
  if (second === 34 && text.charCodeAt(at + 2) === 58) {
    at += 3
    switch (first) {
      case 83:
        result = { _tag: "S", value: string() }
        break
      case 78:
        result = { _tag: "N", value: number() }
        break
      case 66:
        result = { _tag: "B", value: bytes() }
        break
      case 77:
        result = { _tag: "M", value: map() }
        break
      case 76:
        result = { _tag: "L", value: list() }
        break
      default:
        return giveUp()
    }
  } else if (second === 83 && text.charCodeAt(at + 2) === 34 && text.charCodeAt(at + 3) === 58) {
    at += 4
    switch (first) {
      case 83:
        result = { _tag: "SS", value: stringSet() }
        break
      case 78:
        result = { _tag: "NS", value: numberSet() }
        break
      case 66:
        result = { _tag: "BS", value: binarySet() }
        break
      default:
        return giveUp()
    }
  } else if (first === 66 && text.startsWith('BOOL":', at)) {
    at += 6
    if (text.startsWith("true", at)) {
      at += 4
      result = { _tag: "BOOL", value: true }
    } else if (text.startsWith("false", at)) {
      at += 5
      result = { _tag: "BOOL", value: false }
    } else {
      return giveUp()
    }
  } else if (first === 78 && text.startsWith('NULL":true', at)) {
    at += 10
    result = { _tag: "NULL" }
  } else {
    return giveUp()
  }
  expect(125)
  return build ? result : CHECKED
}

/**
 * A map of attribute values. Names that could be array indices (a leading digit) are left to `JSON.parse`, which
 * puts them first in an object; a repeated name (the map's size does not grow) too.
 */
const map = (): Map<string, AttributeValue> => {
  expect(123)
  const out = new Map<string, AttributeValue>()
  if (text.charCodeAt(at) === 125) {
    at++
    return out
  }
  const names: Array<string> = []
  for (;;) {
    const first = text.charCodeAt(at + 1)
    if (first >= 48 && first <= 57) giveUp()
    read()
    const name = text.slice(start, end)
    expect(58)
    if (build) {
      const size = out.size
      out.set(name, value())
      if (out.size === size) giveUp()
    } else {
      for (let i = 0; i < names.length; i++) if (names[i] === name) giveUp()
      names.push(name)
      if (keyNames.includes(name) && depth === 0) {
        build = true
        try {
          out.set(name, value())
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
    if (code === 125) return out
    if (code !== 44) giveUp()
  }
}

// While checking only: the names of the attributes to make (the key's), and how deep in maps the check is.
let keyNames: ReadonlyArray<string> = []
let depth = 0

/**
 * The item of a full export's line (`{"Item":{…}}`) when the fast path can read it, else `undefined` (the line may
 * still be valid: decode it the general way).
 */
export const fullExportItem = (line: string): Item | undefined => {
  if (!line.startsWith('{"Item":')) return undefined
  text = line
  at = 8
  try {
    const item = map()
    return at === line.length - 1 && line.charCodeAt(at) === 125 ? item : undefined
  } catch {
    // Giving up, or anything else (a nesting deep enough to overflow the stack): the general path decides.
    return undefined
  } finally {
    text = ""
  }
}

/**
 * Checks a full export's line as {@link fullExportItem} reads it, without making its values: `undefined` when the fast
 * path cannot read it (the line may still be valid), else the attributes named in `names` (the key's) as a map. A line
 * this accepts is one {@link fullExportItem} reads, to the same item.
 */
export const checkFullExportItem = (line: string, names: ReadonlyArray<string>): Item | undefined => {
  if (!line.startsWith('{"Item":')) return undefined
  text = line
  at = 8
  build = false
  keyNames = names
  depth = 0
  try {
    const key = map()
    return at === line.length - 1 && line.charCodeAt(at) === 125 ? key : undefined
  } catch {
    return undefined
  } finally {
    text = ""
    build = true
    keyNames = []
  }
}
