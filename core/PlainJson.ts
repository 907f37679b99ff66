/**
 * The `plain` value format: DynamoDB values as natural JSON, for consumers that do not want type tags. Strings,
 * booleans, null, maps and lists map to their JSON kinds; a number is a JSON number only when a reader of that JSON
 * number gets exactly the same decimal back (see {@link DynamoNumber.toExactNumber}), else the decimal string;
 * binary is base64 text; sets are arrays. The format is lossy by nature (a set and a list look alike): use the
 * `dynamodb` format where exactness matters.
 *
 * @module
 */
import type { AttributeValue, Item } from "./AttributeValue.ts"
import * as Base64 from "./Base64.ts"
import * as DynamoNumber from "./DynamoNumber.ts"

/** JSON as `JSON.stringify` takes it. */
export type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json }

const number = (text: string): number | string => DynamoNumber.toExactNumber(text) ?? text

/** One value as natural JSON. */
export const fromValue = (value: AttributeValue): Json => {
  switch (value._tag) {
    case "S":
      return value.value
    case "N":
      return number(value.value)
    case "B":
      return Base64.encode(value.value)
    case "BOOL":
      return value.value
    case "NULL":
      return null
    case "M":
      return fromItem(value.value)
    case "L":
      return value.value.map(fromValue)
    case "SS":
      return value.value
    case "NS":
      return value.value.map(number)
    case "BS":
      return value.value.map(Base64.encode)
  }
}

/** An item as a natural JSON object (with no prototype, so every attribute name is safe). */
export const fromItem = (item: Item): { readonly [key: string]: Json } => {
  const out: Record<string, Json> = Object.create(null)
  for (const [name, value] of item) out[name] = fromValue(value)
  return out
}
