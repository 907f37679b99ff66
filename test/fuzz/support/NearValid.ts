/**
 * DynamoDB JSON that is almost valid: a valid item (as `JSON.parse` gives it) with a few of its values replaced by
 * ones that break one rule, stand at an edge, or are random JSON. For differential tests of the decoders.
 */
import { FastCheck as fc } from "effect"
import { itemArbitrary } from "../../../core/AttributeValueSchema.ts"
import * as DynamoJson from "../../../core/DynamoJson.ts"
import { BAD_NUMBERS, EDGE_NUMBERS, EDGE_STRINGS, nested, WRONG_VALUES } from "./Values.ts"

type Json = unknown

/** What replaces a value: a fixed one, or a change of the value that is there. */
type Replacement = (value: Json) => Json

const isObject = (json: Json): json is Record<string, Json> =>
  typeof json === "object" && json !== null && !Array.isArray(json)

const replacement: fc.Arbitrary<Replacement> = fc.oneof(
  fc.constantFrom(...WRONG_VALUES).map((raw): Replacement => () => JSON.parse(raw)),
  fc.constantFrom(...BAD_NUMBERS, ...EDGE_NUMBERS).map((n): Replacement => () => ({ N: n })),
  fc.constantFrom(...BAD_NUMBERS, ...EDGE_NUMBERS).map((n): Replacement => () => ({ NS: ["7", n] })),
  fc.constantFrom(...EDGE_STRINGS).map((s): Replacement => () => ({ S: s })),
  fc.constantFrom(...EDGE_STRINGS).map((s): Replacement => () => ({ SS: [s, "x"] })),
  fc.constantFrom(
    { SS: [] },
    { NS: [] },
    { BS: [] },
    { SS: ["a", "a"] },
    { NS: ["1", "1.00"] },
    { NS: ["-0", "0"] },
    { BS: ["AA==", "AA=="] },
    { BS: ["AA==", "AQ=="] },
    { B: "" },
    { B: "AB==" },
    { B: "AA" },
    { L: [] },
    { M: {} },
    { NULL: true },
    { BOOL: false }
  ).map((json): Replacement => () => structuredClone(json)),
  fc.jsonValue({ maxDepth: 3 }).map((json): Replacement => () => json),
  fc.tuple(
    fc.constantFrom("S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS", "x"),
    fc.jsonValue({ maxDepth: 2 })
  )
    .map(([tag, payload]): Replacement => (value) => (isObject(value) ? { ...value, [tag]: payload } : value)),
  fc.jsonValue({ maxDepth: 2 }).map((payload): Replacement => (value) => {
    if (!isObject(value)) return value
    const [tag] = Object.keys(value)
    return tag === undefined ? value : { [tag]: payload }
  }),
  fc.constantFrom<Replacement>(
    (
      value
    ) => (isObject(value) ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k.toLowerCase(), v])) : value),
    () => ({}),
    (value) => ({ L: [value, value] }),
    (value) => ({ M: { inner: value } }),
    (
      value
    ) => (isObject(value) && Array.isArray(Object.values(value)[0])
      ? {
        [Object.keys(value)[0]!]: [
          ...(Object.values(value)[0] as Array<Json>),
          ...(Object.values(value)[0] as Array<Json>)
        ]
      }
      : value),
    () => JSON.parse(nested(40, "M").raw),
    () => JSON.parse(nested(40, "L").raw)
  )
)

type Slot = readonly [Record<string, Json> | Array<Json>, string | number]

/** Where a value can be replaced: an item's attributes, a map's, a list's elements, a set's elements. */
const itemSlots = (json: Json, out: Array<Slot>): Array<Slot> => {
  if (!isObject(json)) return out
  for (const name of Object.keys(json)) {
    out.push([json, name])
    valueSlots(json[name], out)
  }
  return out
}

const valueSlots = (value: Json, out: Array<Slot>): void => {
  if (!isObject(value)) return
  for (const [tag, payload] of Object.entries(value)) {
    if (tag === "M") itemSlots(payload, out)
    else if (Array.isArray(payload)) {
      payload.forEach((element, i) => {
        out.push([payload, i])
        if (tag === "L") valueSlots(element, out)
      })
    }
  }
}

const set = (parent: Record<string, Json> | Array<Json>, key: string | number, value: Json) => {
  if (Array.isArray(parent)) parent[key as number] = value
  else Object.defineProperty(parent, key, { value, writable: true, enumerable: true, configurable: true })
}

/** A valid item as `JSON.parse` gives it, with up to three values replaced. */
export const nearValidItem: fc.Arbitrary<Json> = fc.tuple(
  itemArbitrary(3),
  fc.array(fc.tuple(fc.nat(), replacement), { maxLength: 3 }),
  fc.option(fc.constantFrom("__proto__", "constructor", "0"), { nil: undefined })
).map(([item, replacements, extra]) => {
  const json = JSON.parse(JSON.stringify(DynamoJson.encodeItem(item))) as Record<string, Json>
  if (extra !== undefined) set(json, extra, { S: extra })
  for (const [at, replace] of replacements) {
    const all = itemSlots(json, [])
    if (all.length === 0) continue
    const [parent, key] = all[at % all.length]!
    set(parent, key, replace((parent as Record<string | number, Json>)[key]))
  }
  return json
})
