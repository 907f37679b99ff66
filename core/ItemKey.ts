/**
 * Item keys. A table's key schema names a partition (HASH) attribute and an optional sort (RANGE) attribute, each of
 * type S, N or B. The key of an item is those attributes; its canonical encoding is a string that is equal for two
 * keys exactly when DynamoDB sees the same item (numbers compare by value), usable as a `Map` key, and its hash is
 * stable across runs and runtimes, for partitioning work by item.
 *
 * @module
 */
import { Either } from "effect"
import type { AttributeValue, Item } from "./AttributeValue.ts"
import * as Base64 from "./Base64.ts"
import * as DynamoNumber from "./DynamoNumber.ts"
import { InvalidKey } from "./Errors.ts"

/** The type of a key attribute. */
export type KeyType = "S" | "N" | "B"

/** One key attribute of a key schema. */
export interface KeyAttribute {
  readonly name: string
  /** When known (from DescribeTable's AttributeDefinitions); checked by {@link fromItem}. */
  readonly type?: KeyType
}

/** A table's key schema: the partition key and, for a composite key, the sort key. */
export interface KeySchema {
  readonly hash: KeyAttribute
  readonly range?: KeyAttribute
}

/** The key of an item: its key attributes only, partition key first. */
export type ItemKey = Item

/** Builds a key schema from attribute names (`make("pk", "sk")`). */
export const make = (hash: string, range?: string): KeySchema =>
  range === undefined ? { hash: { name: hash } } : { hash: { name: hash }, range: { name: range } }

/** The key attribute names, partition key first. */
export const names = (schema: KeySchema): ReadonlyArray<string> =>
  schema.range === undefined ? [schema.hash.name] : [schema.hash.name, schema.range.name]

const checkAttribute = (attribute: KeyAttribute, value: AttributeValue | undefined): string | undefined => {
  if (value === undefined) return `the key attribute ${JSON.stringify(attribute.name)} is missing`
  if (value._tag !== "S" && value._tag !== "N" && value._tag !== "B") {
    return `the key attribute ${JSON.stringify(attribute.name)} is of type ${value._tag}; keys are S, N or B`
  }
  if (attribute.type !== undefined && value._tag !== attribute.type) {
    return `the key attribute ${
      JSON.stringify(attribute.name)
    } is of type ${value._tag}; the key schema says ${attribute.type}`
  }
  if ((value._tag === "S" || value._tag === "B") && value.value.length === 0) {
    return `the key attribute ${JSON.stringify(attribute.name)} is empty; key values cannot be empty`
  }
  return undefined
}

/** Why an item has no valid key under a key schema (an attribute missing, of a wrong type, empty), or `undefined`. */
export const problem = (schema: KeySchema, item: Item): string | undefined =>
  checkAttribute(schema.hash, item.get(schema.hash.name))
    ?? (schema.range === undefined ? undefined : checkAttribute(schema.range, item.get(schema.range.name)))

/** The key of an item under a key schema, or why the item has no valid key. */
export const fromItem = (schema: KeySchema, item: Item): Either.Either<ItemKey, InvalidKey> => {
  const reason = problem(schema, item)
  if (reason !== undefined) return Either.left(new InvalidKey({ reason }))
  const hash: [string, AttributeValue] = [schema.hash.name, item.get(schema.hash.name)!]
  return Either.right(
    schema.range === undefined ? new Map([hash]) : new Map([hash, [schema.range.name, item.get(schema.range.name)!]])
  )
}

const encodePart = (value: AttributeValue | undefined): string => {
  switch (value?._tag) {
    case "S":
      return `S${value.value.length}:${value.value}`
    case "N":
      return `N${DynamoNumber.canonical(value.value)};`
    case "B":
      return `B${Base64.encode(value.value)};`
    default:
      return "-"
  }
}

/**
 * The canonical encoding of a key under a key schema: injective (different keys give different strings) and equal
 * for equal keys (`{"N":"1.0"}` and `{"N":"1"}` encode alike). Only the schema's attributes count, so an item can be
 * passed as well as its key.
 *
 * @example
 * encode(make("pk", "sk"), key) // "S5:alice|N42;"
 */
export const encode = (schema: KeySchema, key: Item): string => {
  const hash = encodePart(key.get(schema.hash.name))
  return schema.range === undefined ? hash : `${hash}|${encodePart(key.get(schema.range.name))}`
}

/**
 * A stable 32-bit hash (FNV-1a over UTF-16 code units) of a canonical key encoding, the same on every runtime and
 * run. Partition work by item with `hash(encode(schema, key)) % partitions`.
 */
export const hash = (encoded: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < encoded.length; i++) {
    h ^= encoded.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}
