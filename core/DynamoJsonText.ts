/**
 * DynamoDB JSON written straight to text: what `JSON.stringify` makes of {@link DynamoJson.encodeValue}'s result,
 * without the intermediate objects. For hot paths that turn many values into text (a bulk load's rows).
 *
 * The text parses to the same JSON value as `JSON.stringify(DynamoJson.encodeValue(value))`; only the order of a map's
 * names may differ (`JSON.stringify` puts names that are array indices first), which JSON does not give a meaning to.
 *
 * @module
 */
import type { AttributeValue, Item } from "./AttributeValue.ts"
import * as Base64 from "./Base64.ts"

// JSON.stringify writes an array of strings as it is written here, natively.
const strings = (values: ReadonlyArray<string>): string => JSON.stringify(values)

/** A value as DynamoDB JSON text: `{"S":"…"}`, `{"M":{…}}`… */
export const ofValue = (value: AttributeValue): string => {
  switch (value._tag) {
    case "S":
      return `{"S":${JSON.stringify(value.value)}}`
    case "N":
      return `{"N":${JSON.stringify(value.value)}}`
    case "B":
      return `{"B":"${Base64.encode(value.value)}"}`
    case "BOOL":
      return value.value ? `{"BOOL":true}` : `{"BOOL":false}`
    case "NULL":
      return `{"NULL":true}`
    case "M":
      return `{"M":${ofItem(value.value)}}`
    case "L": {
      let out = `{"L":[`
      for (let i = 0; i < value.value.length; i++) out += (i === 0 ? "" : ",") + ofValue(value.value[i]!)
      return out + "]}"
    }
    case "SS":
      return `{"SS":${strings(value.value)}}`
    case "NS":
      return `{"NS":${strings(value.value)}}`
    case "BS": {
      let out = `{"BS":[`
      for (let i = 0; i < value.value.length; i++) out += `${i === 0 ? "" : ","}"${Base64.encode(value.value[i]!)}"`
      return out + "]}"
    }
  }
}

/** An item (or a map's content) as DynamoDB JSON text: `{"name":{"S":"…"},…}`. */
export const ofItem = (item: Item): string => {
  let out = ""
  item.forEach((value, name) => {
    out += (out === "" ? "{" : ",") + JSON.stringify(name) + ":" + ofValue(value)
  })
  return out === "" ? "{}" : out + "}"
}
