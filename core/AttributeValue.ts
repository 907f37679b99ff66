/**
 * The DynamoDB value model: all ten attribute types, lossless. Numbers stay decimal strings exactly as DynamoDB wrote
 * them, binary values are bytes, maps and items are `ReadonlyMap`s (so any attribute name, `__proto__` included, is
 * safe), sets keep their order.
 *
 * @module
 */
import * as Base64 from "./Base64.ts"
import * as DynamoNumber from "./DynamoNumber.ts"

/** A string. */
export interface S {
  readonly _tag: "S"
  readonly value: string
}
/** A number, as DynamoDB's decimal text (see {@link DynamoNumber}). */
export interface N {
  readonly _tag: "N"
  readonly value: string
}
/** Binary: raw bytes (base64 on the wire). */
export interface B {
  readonly _tag: "B"
  readonly value: Uint8Array
}
/** A boolean. */
export interface BOOL {
  readonly _tag: "BOOL"
  readonly value: boolean
}
/** The null value (`{"NULL": true}` on the wire). */
export interface NULL {
  readonly _tag: "NULL"
}
/** A map of attribute names to values. */
export interface M {
  readonly _tag: "M"
  readonly value: Item
}
/** A list of values. */
export interface L {
  readonly _tag: "L"
  readonly value: ReadonlyArray<AttributeValue>
}
/** A non-empty set of distinct strings. */
export interface SS {
  readonly _tag: "SS"
  readonly value: ReadonlyArray<string>
}
/** A non-empty set of distinct numbers (distinct by value: `"1"` and `"1.0"` are the same number). */
export interface NS {
  readonly _tag: "NS"
  readonly value: ReadonlyArray<string>
}
/** A non-empty set of distinct byte strings. */
export interface BS {
  readonly _tag: "BS"
  readonly value: ReadonlyArray<Uint8Array>
}

/** Any DynamoDB attribute value. */
export type AttributeValue = S | N | B | BOOL | NULL | M | L | SS | NS | BS

/** The ten type tags, as DynamoDB JSON spells them. */
export type Tag = AttributeValue["_tag"]

/**
 * An item (or a map value): attribute names to values. DynamoDB maps are unordered; decoded maps keep the order of
 * the parsed JSON object (where, as in every JavaScript object, integer-like names come first).
 */
export type Item = ReadonlyMap<string, AttributeValue>

/** The type tags in DynamoDB's documentation order. */
export const tags: ReadonlyArray<Tag> = ["S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"]

/** Constructors. They do not validate: use {@link DynamoJson} or the `Schema` to check untrusted input. */
export const s = (value: string): S => ({ _tag: "S", value })
export const n = (value: string): N => ({ _tag: "N", value })
export const b = (value: Uint8Array): B => ({ _tag: "B", value })
export const bool = (value: boolean): BOOL => ({ _tag: "BOOL", value })
export const nul: NULL = { _tag: "NULL" }
export const m = (value: Item): M => ({ _tag: "M", value })
export const l = (value: ReadonlyArray<AttributeValue>): L => ({ _tag: "L", value })
export const ss = (value: ReadonlyArray<string>): SS => ({ _tag: "SS", value })
export const ns = (value: ReadonlyArray<string>): NS => ({ _tag: "NS", value })
export const bs = (value: ReadonlyArray<Uint8Array>): BS => ({ _tag: "BS", value })

/** Builds an item from `[name, value]` pairs or a plain object of values. */
export const item = (entries: Iterable<readonly [string, AttributeValue]> | Record<string, AttributeValue>): Item =>
  new Map(Symbol.iterator in entries ? entries : Object.entries(entries))

/** Byte-wise equality. */
export const bytesEqual = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/**
 * Value equality as DynamoDB sees it: numbers by value, sets as sets (order ignored), lists in order, maps by name.
 */
export const equals = (x: AttributeValue, y: AttributeValue): boolean => {
  switch (x._tag) {
    case "S":
      return y._tag === "S" && x.value === y.value
    case "N":
      return y._tag === "N" && DynamoNumber.equals(x.value, y.value)
    case "B":
      return y._tag === "B" && bytesEqual(x.value, y.value)
    case "BOOL":
      return y._tag === "BOOL" && x.value === y.value
    case "NULL":
      return y._tag === "NULL"
    case "M":
      return y._tag === "M" && itemEquals(x.value, y.value)
    case "L":
      return y._tag === "L" && x.value.length === y.value.length && x.value.every((v, i) => equals(v, y.value[i]!))
    case "SS":
      return y._tag === "SS" && sameSet(x.value, y.value, (v) => v)
    case "NS":
      return y._tag === "NS" && sameSet(x.value, y.value, DynamoNumber.canonical)
    case "BS":
      return y._tag === "BS" && sameSet(x.value, y.value, Base64.encode)
  }
}

const sameSet = <A>(x: ReadonlyArray<A>, y: ReadonlyArray<A>, key: (a: A) => string): boolean => {
  if (x.length !== y.length) return false
  const keys = new Set(x.map(key))
  return y.every((v) => keys.has(key(v)))
}

/** Item equality: the same names with {@link equals} values, in any order. */
export const itemEquals = (x: Item, y: Item): boolean => {
  if (x.size !== y.size) return false
  for (const [name, value] of x) {
    const other = y.get(name)
    if (other === undefined || !equals(value, other)) return false
  }
  return true
}
