/**
 * A reference decoder of export data lines, written apart from the reader: `TextDecoder`, `JSON.parse`, the `Schema`
 * of DynamoDB JSON (core/AttributeValueSchema.ts) and the rules of export lines, to judge lines that random edits made.
 */
import { Either, Schema } from "effect"
import * as AV from "../../../core/AttributeValue.ts"
import { ItemFromDynamoJson } from "../../../core/AttributeValueSchema.ts"
import type { ChangeEvent } from "../../../core/ChangeEvent.ts"
import * as ItemKey from "../../../core/ItemKey.ts"
import { keySchema, type Source } from "./ExportSources.ts"

/** What the reader needs to know to judge a line on its own. */
export interface LineContext {
  readonly source: Source
  readonly file: string
}

/**
 * A reference decoding of one line, written apart from the reader: `TextDecoder`, `JSON.parse`, the `Schema` of
 * DynamoDB JSON and the rules of export lines. The position's line is left at 0.
 */
export const referenceDecode = (bytes: Uint8Array, { file, source }: LineContext): ChangeEvent | undefined => {
  let json: unknown
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes))
  } catch {
    return undefined
  }
  const isObject = (value: unknown): value is Record<string, unknown> =>
    typeof value === "object" && value !== null && !Array.isArray(value)
  if (!isObject(json)) return undefined
  const item = (value: unknown) => {
    if (!isObject(value)) return undefined
    const decoded = Schema.decodeUnknownEither(ItemFromDynamoJson)(value)
    return Either.isRight(decoded) ? decoded.right : undefined
  }
  const position = { _tag: "Export" as const, exportArn: source.fixture.exportArn, file, line: 0 }
  const names = Object.keys(json)
  if (source.type === "FULL_EXPORT") {
    if (names.length !== 1 || names[0] !== "Item") return undefined
    const image = item(json.Item)
    if (image === undefined) return undefined
    const key = ItemKey.fromItem(keySchema, image)
    if (Either.isLeft(key)) return undefined
    return { op: "r", key: key.right, newImage: image, timestampMs: source.exportTimeMs, position }
  }
  if (!names.every((name) => ["Metadata", "Keys", "NewImage", "OldImage"].includes(name))) return undefined
  const metadata = json.Metadata
  const stamp = isObject(metadata) ? metadata.WriteTimestampMicros : undefined
  const micros = isObject(stamp) ? stamp.N : undefined
  if (typeof micros !== "string" || !/^[0-9]{1,19}$/.test(micros)) return undefined
  if (!("Keys" in json)) return undefined
  const key = item(json.Keys)
  if (key === undefined || key.size === 0) return undefined
  const newImage = "NewImage" in json ? item(json.NewImage) : undefined
  const oldImage = "OldImage" in json ? item(json.OldImage) : undefined
  if (("NewImage" in json && newImage === undefined) || ("OldImage" in json && oldImage === undefined)) return undefined
  for (const [name, value] of key) {
    for (const image of [newImage, oldImage]) {
      if (image === undefined) continue
      const other = image.get(name)
      if (other === undefined || !AV.equals(value, other)) return undefined
    }
  }
  return {
    op: newImage === undefined ? "d" : oldImage !== undefined || source.newImageOnly ? "u" : "c",
    key,
    ...(oldImage === undefined ? {} : { oldImage }),
    ...(newImage === undefined ? {} : { newImage }),
    timestampMs: Math.floor(Number(micros) / 1000),
    position: { ...position, writeTimestampMicros: micros }
  }
}
