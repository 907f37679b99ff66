/**
 * DynamoDB JSON (`{"S": "text"}`, `{"N": "12"}`, `{"B": "base64"}`, …) to and from the value model. This is the hot
 * path of export and stream decoding: a hand-written decoder over `JSON.parse` output that checks every rule
 * DynamoDB enforces (one type tag, valid numbers, canonical base64, non-empty sets without duplicates) and reports
 * the JSON path of the first violation. `AttributeValueSchema` describes the same format declaratively; a
 * differential test holds the two to the same answers.
 *
 * @module
 */
import { Either } from "effect"
import type { AttributeValue, Item } from "./AttributeValue.ts"
import * as Base64 from "./Base64.ts"
import * as DynamoNumber from "./DynamoNumber.ts"
import { InvalidAttributeValue } from "./Errors.ts"

/** DynamoDB JSON of one attribute value, as AWS writes it. */
export type Wire =
  | { readonly S: string }
  | { readonly N: string }
  | { readonly B: string }
  | { readonly BOOL: boolean }
  | { readonly NULL: true }
  | { readonly M: { readonly [name: string]: Wire } }
  | { readonly L: ReadonlyArray<Wire> }
  | { readonly SS: ReadonlyArray<string> }
  | { readonly NS: ReadonlyArray<string> }
  | { readonly BS: ReadonlyArray<string> }

/** DynamoDB JSON of an item: attribute names to {@link Wire} values. */
export type WireItem = { readonly [name: string]: Wire }

class Failure {
  readonly segments: Array<string | number> = []
  constructor(readonly reason: string) {}
}

const fail = (reason: string): never => {
  throw new Failure(reason)
}

const describe = (value: unknown): string =>
  value === null ? "null" : Array.isArray(value) ? "an array" : typeof value === "object" ? "an object" : typeof value

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/

/** Renders path segments as a JSON path: `$.Item.tags.L[2].S`, `$.Item["odd name"]`. */
export const formatPath = (segments: ReadonlyArray<string | number>): string => {
  let out = "$"
  for (const segment of segments) {
    out += typeof segment === "number"
      ? `[${segment}]`
      : IDENTIFIER.test(segment)
      ? `.${segment}`
      : `[${JSON.stringify(segment)}]`
  }
  return out
}

const within = (error: unknown, segment: string | number): never => {
  if (error instanceof Failure) error.segments.push(segment)
  throw error
}

const decodeValue = (json: unknown): AttributeValue => {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return fail(`expected an attribute value such as {"S": "text"}, got ${describe(json)}`)
  }
  let tag: string | undefined
  for (const key in json) {
    if (tag !== undefined) return fail(`an attribute value has exactly one type tag, found ${tag} and ${key}`)
    tag = key
  }
  if (tag === undefined) return fail("an attribute value has exactly one type tag, found none")
  let value: AttributeValue | undefined
  try {
    value = decodePayload(tag, json as Record<string, unknown>)
  } catch (error) {
    return within(error, tag)
  }
  return value
    ?? fail(`unknown type tag ${JSON.stringify(tag)}: expected one of S, N, B, BOOL, NULL, M, L, SS, NS, BS`)
}

/** The value under `tag`, or `undefined` when `tag` is not a type tag. */
const decodePayload = (tag: string, json: Record<string, unknown>): AttributeValue | undefined => {
  switch (tag) {
    case "S":
      return { _tag: "S", value: decodeString(json.S) }
    case "N":
      return { _tag: "N", value: decodeNumber(json.N) }
    case "B":
      return { _tag: "B", value: decodeBytes(json.B) }
    case "BOOL": {
      const inner = json.BOOL
      return typeof inner === "boolean"
        ? { _tag: "BOOL", value: inner }
        : fail(`expected true or false, got ${describe(inner)}`)
    }
    case "NULL": {
      const inner = json.NULL
      return inner === true ? { _tag: "NULL" } : fail(`NULL must be true, got ${JSON.stringify(inner) ?? "nothing"}`)
    }
    case "M":
      return { _tag: "M", value: decodeMap(json.M) }
    case "L":
      return { _tag: "L", value: decodeList(json.L) }
    case "SS":
      return { _tag: "SS", value: decodeStringSet(json.SS) }
    case "NS":
      return { _tag: "NS", value: decodeNumberSet(json.NS) }
    case "BS":
      return { _tag: "BS", value: decodeBinarySet(json.BS) }
    default:
      return undefined
  }
}

const decodeString = (json: unknown): string =>
  typeof json === "string" ? json : fail(`expected a string, got ${describe(json)}`)

const decodeNumber = (json: unknown): string => {
  if (typeof json !== "string") return fail(`expected a number as a string, got ${describe(json)}`)
  const problem = DynamoNumber.check(json)
  return problem === undefined ? json : fail(`the number ${problem}`)
}

const notBase64 = (text: string): never =>
  fail(`${JSON.stringify(text.length > 40 ? text.slice(0, 40) + "…" : text)} is not valid base64`)

const decodeBytes = (json: unknown): Uint8Array => {
  if (typeof json !== "string") return fail(`expected base64 text, got ${describe(json)}`)
  return Base64.decode(json) ?? notBase64(json)
}

const decodeList = (json: unknown): ReadonlyArray<AttributeValue> => {
  if (!Array.isArray(json)) return fail(`expected an array, got ${describe(json)}`)
  const out = new Array<AttributeValue>(json.length)
  for (let i = 0; i < json.length; i++) {
    try {
      out[i] = decodeValue(json[i])
    } catch (error) {
      within(error, i)
    }
  }
  return out
}

const setElements = (json: unknown): ReadonlyArray<unknown> => {
  if (!Array.isArray(json)) return fail(`expected an array, got ${describe(json)}`)
  if (json.length === 0) return fail("a set cannot be empty")
  return json
}

// Sets are small: up to this size, looking for a duplicate among the earlier keys costs less than building a `Set`.
const SMALL_SET = 16

/**
 * Checks that the key of element `i` differs from those before it (`keys[0..i)`), with `seen` holding them all for
 * large sets. Keys are canonical: equal exactly when DynamoDB sees the same element.
 */
const checkDistinct = (keys: Array<string>, i: number, seen: Set<string> | undefined, element: unknown): void => {
  const key = keys[i]!
  let duplicate: boolean
  if (seen === undefined) {
    duplicate = false
    for (let j = 0; j < i; j++) {
      if (keys[j] === key) {
        duplicate = true
        break
      }
    }
  } else {
    duplicate = seen.has(key)
    seen.add(key)
  }
  if (duplicate) fail(`a set cannot hold duplicates: ${JSON.stringify(element)} is there twice`)
}

const decodeStringSet = (json: unknown): ReadonlyArray<string> => {
  const elements = setElements(json)
  const out = new Array<string>(elements.length)
  const seen = elements.length > SMALL_SET ? new Set<string>() : undefined
  for (let i = 0; i < elements.length; i++) {
    try {
      out[i] = decodeString(elements[i])
      checkDistinct(out, i, seen, elements[i])
    } catch (error) {
      within(error, i)
    }
  }
  return out
}

const decodeNumberSet = (json: unknown): ReadonlyArray<string> => {
  const elements = setElements(json)
  const out = new Array<string>(elements.length)
  const keys = new Array<string>(elements.length)
  const seen = elements.length > SMALL_SET ? new Set<string>() : undefined
  for (let i = 0; i < elements.length; i++) {
    try {
      const text = decodeNumber(elements[i])
      out[i] = text
      keys[i] = DynamoNumber.canonical(text)
      checkDistinct(keys, i, seen, elements[i])
    } catch (error) {
      within(error, i)
    }
  }
  return out
}

// Canonical base64 spells each byte string one way: the texts serve as keys.
const decodeBinarySet = (json: unknown): ReadonlyArray<Uint8Array> => {
  const elements = setElements(json)
  const out = new Array<Uint8Array>(elements.length)
  const keys = new Array<string>(elements.length)
  const seen = elements.length > SMALL_SET ? new Set<string>() : undefined
  for (let i = 0; i < elements.length; i++) {
    try {
      out[i] = decodeBytes(elements[i])
      keys[i] = elements[i] as string
      checkDistinct(keys, i, seen, elements[i])
    } catch (error) {
      within(error, i)
    }
  }
  return out
}

const decodeMap = (json: unknown): Item => {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return fail(`expected an object of attribute values, got ${describe(json)}`)
  }
  const out = new Map<string, AttributeValue>()
  for (const name in json) {
    try {
      out.set(name, decodeValue((json as Record<string, unknown>)[name]))
    } catch (error) {
      within(error, name)
    }
  }
  return out
}

const toError = (error: unknown, root: ReadonlyArray<string | number>): InvalidAttributeValue => {
  // The decoder recurses once per level of nesting: a value nested thousands of levels deep (DynamoDB allows 32)
  // overflows the stack, and is refused like any other invalid value.
  if (error instanceof RangeError && /call stack/i.test(error.message)) {
    return new InvalidAttributeValue({
      path: formatPath(root),
      reason: "nested too deeply to decode; DynamoDB allows at most 32 levels of nesting"
    })
  }
  if (!(error instanceof Failure)) throw error
  return new InvalidAttributeValue({ path: formatPath([...root, ...error.segments.reverse()]), reason: error.reason })
}

/**
 * Decodes one attribute value from parsed DynamoDB JSON; throws {@link InvalidAttributeValue} (whose path starts at
 * `root`) when it is invalid. For hot loops; prefer {@link decodeValueEither} elsewhere.
 */
export const decodeValueUnsafe = (json: unknown, root: ReadonlyArray<string | number> = []): AttributeValue => {
  try {
    return decodeValue(json)
  } catch (error) {
    throw toError(error, root)
  }
}

/**
 * Decodes an item (an object of attribute values) from parsed DynamoDB JSON; throws {@link InvalidAttributeValue}
 * (whose path starts at `root`) when it is invalid. For hot loops; prefer {@link decodeItemEither} elsewhere.
 */
export const decodeItemUnsafe = (json: unknown, root: ReadonlyArray<string | number> = []): Item => {
  try {
    return decodeMap(json)
  } catch (error) {
    throw toError(error, root)
  }
}

/** Decodes one attribute value from parsed DynamoDB JSON. */
export const decodeValueEither = (json: unknown): Either.Either<AttributeValue, InvalidAttributeValue> => {
  try {
    return Either.right(decodeValue(json))
  } catch (error) {
    return Either.left(toError(error, []))
  }
}

/** Decodes an item from parsed DynamoDB JSON. */
export const decodeItemEither = (json: unknown): Either.Either<Item, InvalidAttributeValue> => {
  try {
    return Either.right(decodeMap(json))
  } catch (error) {
    return Either.left(toError(error, []))
  }
}

/** Encodes a value as DynamoDB JSON. Objects it builds have no prototype, so every attribute name is safe. */
export const encodeValue = (value: AttributeValue): Wire => {
  switch (value._tag) {
    case "S":
      return { S: value.value }
    case "N":
      return { N: value.value }
    case "B":
      return { B: Base64.encode(value.value) }
    case "BOOL":
      return { BOOL: value.value }
    case "NULL":
      return { NULL: true }
    case "M":
      return { M: encodeItem(value.value) }
    case "L":
      return { L: value.value.map(encodeValue) }
    case "SS":
      return { SS: value.value }
    case "NS":
      return { NS: value.value }
    case "BS":
      return { BS: value.value.map(Base64.encode) }
  }
}

/** Encodes an item as DynamoDB JSON. */
export const encodeItem = (item: Item): WireItem => {
  const out: Record<string, Wire> = Object.create(null)
  for (const [name, value] of item) out[name] = encodeValue(value)
  return out
}
