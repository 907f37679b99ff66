/**
 * Decoding one line of an export data file into a change event: the hot path of the backfill, hand-written.
 *
 * - full export: `{"Item": {…}}` → `r`
 * - incremental export: `{"Metadata":{"WriteTimestampMicros":{"N":"…"}},"Keys":{…},"NewImage":{…},"OldImage":{…}}`
 *   → `c` (no OldImage), `u` (both images), `d` (no NewImage). In a `NEW_IMAGE` export no line has an OldImage, so
 *   a line with a NewImage is an upsert, `u` without `before`.
 *
 * @module
 */
import { Either } from "effect"
import { equals, type Item } from "./AttributeValue.ts"
import type { ChangeEvent, Op } from "./ChangeEvent.ts"
import * as DynamoJson from "./DynamoJson.ts"
import { ExportLineInvalid, InvalidAttributeValue } from "./Errors.ts"
import * as ItemKey from "./ItemKey.ts"

/** What a line's decoding needs to know about its export and file. */
export interface LineContext {
  readonly exportArn: string
  readonly file: string
  readonly type: "FULL_EXPORT" | "INCREMENTAL_EXPORT"
  /** The full export's time (the `ts_ms` of its `r` events). */
  readonly exportTimeMs: number
  /** The table's key schema, when known: a full export's lines do not say which attributes are the key. */
  readonly keySchema?: ItemKey.KeySchema
  /** True for an incremental export in the `NEW_IMAGE` view. */
  readonly newImageOnly: boolean
}

const isObject = (json: unknown): json is Record<string, unknown> =>
  typeof json === "object" && json !== null && !Array.isArray(json)

const FULL_FIELDS = new Set(["Item"])
const INCREMENTAL_FIELDS = new Set(["Metadata", "Keys", "NewImage", "OldImage"])
const DIGITS = /^[0-9]{1,19}$/

/** Decodes a parsed line. Throws {@link ExportLineInvalid} naming the file, the line and the JSON path. */
export const decodeUnsafe = (json: unknown, line: number, context: LineContext): ChangeEvent => {
  const invalid = (path: string, reason: string) =>
    new ExportLineInvalid({ file: context.file, line, path, reason })
  const full = context.type === "FULL_EXPORT"
  if (!isObject(json)) {
    throw invalid("$", full ? `expected {"Item": {…}}, got ${JSON.stringify(json)}` : "expected an object")
  }
  const allowed = full ? FULL_FIELDS : INCREMENTAL_FIELDS
  for (const field in json) {
    if (!allowed.has(field)) {
      throw invalid(
        DynamoJson.formatPath([field]),
        `unexpected field in a ${full ? "full" : "incremental"} export line; expected ${[...allowed].join(", ")}`
      )
    }
  }
  const item = (field: string): Item => {
    const value = json[field]
    if (!isObject(value)) throw invalid(`$.${field}`, `expected an object of attribute values`)
    try {
      return DynamoJson.decodeItemUnsafe(value, [field])
    } catch (error) {
      if (error instanceof InvalidAttributeValue) throw invalid(error.path, error.reason)
      throw error
    }
  }
  const position = { _tag: "Export" as const, exportArn: context.exportArn, file: context.file, line }
  if (full) {
    if (json.Item === undefined) throw invalid("$", `expected {"Item": {…}}: the line has no Item`)
    const newImage = item("Item")
    if (context.keySchema === undefined) {
      return { op: "r", newImage, timestampMs: context.exportTimeMs, position }
    }
    const key = ItemKey.fromItem(context.keySchema, newImage)
    if (Either.isLeft(key)) throw invalid("$.Item", key.left.reason)
    return { op: "r", key: key.right, newImage, timestampMs: context.exportTimeMs, position }
  }
  const metadata = json.Metadata
  const micros = isObject(metadata) && isObject(metadata.WriteTimestampMicros)
    ? metadata.WriteTimestampMicros.N
    : undefined
  if (typeof micros !== "string" || !DIGITS.test(micros)) {
    throw invalid("$.Metadata.WriteTimestampMicros", `expected {"N": "<microseconds since the epoch>"}`)
  }
  if (json.Keys === undefined) throw invalid("$", "the line has no Keys")
  const key = item("Keys")
  if (key.size === 0) throw invalid("$.Keys", "the key has no attributes")
  const newImage = json.NewImage === undefined ? undefined : item("NewImage")
  const oldImage = json.OldImage === undefined ? undefined : item("OldImage")
  for (const [name, value] of key) {
    for (const [field, image] of [["NewImage", newImage], ["OldImage", oldImage]] as const) {
      const other = image?.get(name)
      if (image !== undefined && (other === undefined || !equals(value, other))) {
        throw invalid(DynamoJson.formatPath([field, name]), `does not match the line's Keys`)
      }
    }
  }
  const op: Op = newImage === undefined ? "d" : oldImage !== undefined || context.newImageOnly ? "u" : "c"
  return {
    op,
    key,
    ...(oldImage === undefined ? {} : { oldImage }),
    ...(newImage === undefined ? {} : { newImage }),
    timestampMs: Math.floor(Number(micros) / 1000),
    position: { ...position, writeTimestampMicros: micros }
  }
}
