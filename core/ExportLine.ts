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
import type { ChangeEvent, ExportPosition, Op } from "./ChangeEvent.ts"
import * as DynamoJson from "./DynamoJson.ts"
import { ExportLineInvalid, InvalidAttributeValue } from "./Errors.ts"
import { checkFullExportItem, fullExportItem } from "./internal/itemText.ts"
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
  /** With a key schema: a full export's item made only when first asked for (see {@link itemText}). */
  readonly itemsWhenAsked?: boolean
}

const isObject = (json: unknown): json is Record<string, unknown> =>
  typeof json === "object" && json !== null && !Array.isArray(json)

const INCREMENTAL_FIELDS = new Set(["Metadata", "Keys", "NewImage", "OldImage"])
const DIGITS = /^[0-9]{1,19}$/

const invalid = (context: LineContext, line: number, path: string, reason: string): ExportLineInvalid =>
  new ExportLineInvalid({ file: context.file, line, path, reason })

const decodeImage = (json: Record<string, unknown>, field: string, line: number, context: LineContext): Item => {
  const value = json[field]
  if (!isObject(value)) throw invalid(context, line, `$.${field}`, `expected an object of attribute values`)
  try {
    return DynamoJson.decodeItemUnsafe(value, [field])
  } catch (error) {
    if (error instanceof InvalidAttributeValue) throw invalid(context, line, error.path, error.reason)
    throw error
  }
}

const unexpectedField = (context: LineContext, line: number, field: string, full: boolean): ExportLineInvalid =>
  invalid(
    context,
    line,
    DynamoJson.formatPath([field]),
    `unexpected field in ${full ? "a full" : "an incremental"} export line; expected ${
      full ? "Item" : [...INCREMENTAL_FIELDS].join(", ")
    }`
  )

/** A full export's event for its item. */
const snapshotRead = (newImage: Item, line: number, context: LineContext): ChangeEvent => {
  const position = { _tag: "Export" as const, exportArn: context.exportArn, file: context.file, line }
  if (context.keySchema === undefined) {
    return { op: "r", newImage, timestampMs: context.exportTimeMs, position }
  }
  const key = ItemKey.fromItem(context.keySchema, newImage)
  if (Either.isLeft(key)) throw invalid(context, line, "$.Item", key.left.reason)
  return { op: "r", key: key.right, newImage, timestampMs: context.exportTimeMs, position }
}

let lastSchema: ItemKey.KeySchema | undefined
let lastNames: ReadonlyArray<string> = []
const keyNamesOf = (schema: ItemKey.KeySchema): ReadonlyArray<string> => {
  if (schema !== lastSchema) {
    lastSchema = schema
    lastNames = ItemKey.names(schema)
  }
  return lastNames
}

/**
 * A full export's event whose line the fast path checked: its key is made, its item only when first read (most sinks
 * of a backfill never read it: see {@link itemText}). `newImage` is an enumerable getter of the class, so comparing
 * and `for … in` see it; a copy made by spreading does not: copy one as `{ ...event, newImage: event.newImage }`.
 * Its line is a private field, which no copy has.
 */
class LazySnapshotRead implements ChangeEvent {
  readonly op = "r" as const
  readonly key: Item
  readonly timestampMs: number
  readonly position: ExportPosition
  readonly #text: string
  #item: Item | undefined

  constructor(key: Item, text: string, timestampMs: number, position: ExportPosition) {
    this.key = key
    this.timestampMs = timestampMs
    this.position = position
    this.#text = text
  }

  get newImage(): Item {
    return this.#item ??= fullExportItem(this.#text)!
  }

  static text(event: ChangeEvent): string | undefined {
    return #text in event ? event.#text : undefined
  }
}
Object.defineProperty(LazySnapshotRead.prototype, "newImage", { enumerable: true })

const lazySnapshotRead = (
  text: string,
  keyAttributes: Item,
  line: number,
  context: LineContext & { readonly keySchema: ItemKey.KeySchema }
): ChangeEvent => {
  const schema = context.keySchema
  const reason = ItemKey.problem(schema, keyAttributes)
  if (reason !== undefined) throw invalid(context, line, "$.Item", reason)
  // The check made the key's attributes only, in the line's order: the key itself when that is the schema's.
  const key = keyAttributes.keys().next().value === schema.hash.name
    ? keyAttributes
    : Either.getOrThrow(ItemKey.fromItem(schema, keyAttributes))
  return new LazySnapshotRead(key, text, context.exportTimeMs, {
    _tag: "Export",
    exportArn: context.exportArn,
    file: context.file,
    line
  })
}

/**
 * The text of a full export's line that an event was read from, when the reader's fast path took it: DynamoDB JSON
 * as AWS writes it (`{"Item":{…}}`), compact, without escapes or control characters in its strings, every value
 * checked. A sink that writes text can take the values' text from it rather than from the item. `undefined` for any
 * other event (a copy of one included).
 */
export const itemText = (event: ChangeEvent): string | undefined => LazySnapshotRead.text(event)

/**
 * Decodes a line's text. A full export's line as AWS writes it takes a fast path straight from the text to the
 * values (with `itemsWhenAsked` and the key schema, the line is only checked, its item made when first asked for); any other
 * line, valid or not, is parsed with `JSON.parse` and decoded by {@link decodeUnsafe}: all give the same event. Throws
 * {@link ExportLineInvalid} naming the file, the line and the JSON path.
 */
export const decodeTextUnsafe = (text: string, line: number, context: LineContext): ChangeEvent => {
  if (context.type === "FULL_EXPORT") {
    if (context.keySchema !== undefined && context.itemsWhenAsked === true) {
      const keyAttributes = checkFullExportItem(text, keyNamesOf(context.keySchema))
      if (keyAttributes !== undefined) {
        return lazySnapshotRead(text, keyAttributes, line, context as LineContext & { keySchema: ItemKey.KeySchema })
      }
    }
    const item = fullExportItem(text)
    if (item !== undefined) return snapshotRead(item, line, context)
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    throw invalid(context, line, "$", `not JSON (${(error as Error).message})`)
  }
  return decodeUnsafe(json, line, context)
}

/** Decodes a parsed line. Throws {@link ExportLineInvalid} naming the file, the line and the JSON path. */
export const decodeUnsafe = (json: unknown, line: number, context: LineContext): ChangeEvent => {
  const full = context.type === "FULL_EXPORT"
  if (!isObject(json)) {
    throw invalid(
      context,
      line,
      "$",
      full ? `expected {"Item": {…}}, got ${JSON.stringify(json)}` : "expected an object"
    )
  }
  if (full) {
    for (const field in json) if (field !== "Item") throw unexpectedField(context, line, field, full)
  } else {
    for (const field in json) if (!INCREMENTAL_FIELDS.has(field)) throw unexpectedField(context, line, field, full)
  }
  if (full) {
    if (json.Item === undefined) throw invalid(context, line, "$", `expected {"Item": {…}}: the line has no Item`)
    return snapshotRead(decodeImage(json, "Item", line, context), line, context)
  }
  const position = { _tag: "Export" as const, exportArn: context.exportArn, file: context.file, line }
  const metadata = json.Metadata
  const micros = isObject(metadata) && isObject(metadata.WriteTimestampMicros)
    ? metadata.WriteTimestampMicros.N
    : undefined
  if (typeof micros !== "string" || !DIGITS.test(micros)) {
    throw invalid(context, line, "$.Metadata.WriteTimestampMicros", `expected {"N": "<microseconds since the epoch>"}`)
  }
  if (json.Keys === undefined) throw invalid(context, line, "$", "the line has no Keys")
  const key = decodeImage(json, "Keys", line, context)
  if (key.size === 0) throw invalid(context, line, "$.Keys", "the key has no attributes")
  const newImage = json.NewImage === undefined ? undefined : decodeImage(json, "NewImage", line, context)
  const oldImage = json.OldImage === undefined ? undefined : decodeImage(json, "OldImage", line, context)
  for (const [name, value] of key) {
    for (const [field, image] of [["NewImage", newImage], ["OldImage", oldImage]] as const) {
      const other = image?.get(name)
      if (image !== undefined && (other === undefined || !equals(value, other))) {
        throw invalid(context, line, DynamoJson.formatPath([field, name]), `does not match the line's Keys`)
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
