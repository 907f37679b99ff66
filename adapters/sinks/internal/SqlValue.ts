/**
 * How DynamoDB values go into Postgres columns. A column's type decides what it holds:
 *
 * | column type | holds | sent as |
 * |---|---|---|
 * | `text` (or `character varying`) | S | the string |
 * | `numeric` (no precision or scale) | N | the decimal text, never a JS number |
 * | `bytea` | B | `\x` and hex |
 * | `boolean` | BOOL | `t` / `f` |
 * | `jsonb` | M, L, SS, NS, BS | the attribute's DynamoDB JSON (`{"M":{…}}`, `{"SS":[…]}`), lossless |
 *
 * NULL is SQL NULL in any column. A value that its column does not hold (an attribute that changed type, a column of
 * another type made by someone else) goes, in DynamoDB JSON, to the row's `_backstream_other` object under its
 * attribute name, and its column is NULL: nothing is lost. Postgres cannot store U+0000 in `text` or `jsonb`: a string
 * with it fails the batch with a message that says where (use the JSON-lines sink for such data).
 */
import type { AttributeValue, Item } from "../../../core/AttributeValue.ts"

/** The kind of value a column holds, or `undefined` for a column of any other type (it holds only NULL). */
export type ColumnKind = "text" | "numeric" | "bytea" | "boolean" | "jsonb"

/** The column type created for the first value of an attribute; none for NULL. */
export const kindOf = (value: AttributeValue): ColumnKind | undefined => {
  switch (value._tag) {
    case "S":
      return "text"
    case "N":
      return "numeric"
    case "B":
      return "bytea"
    case "BOOL":
      return "boolean"
    case "NULL":
      return undefined
    default:
      return "jsonb"
  }
}

/** The kind of an existing column, from `format_type`: only types that hold their values exactly. */
export const kindOfType = (type: string): ColumnKind | undefined => {
  switch (type) {
    case "text":
    case "character varying":
      return "text"
    case "numeric":
      return "numeric"
    case "bytea":
      return "bytea"
    case "boolean":
      return "boolean"
    case "jsonb":
      return "jsonb"
    default:
      return undefined
  }
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"))

/** Bytes as `bytea`'s text input: `\x` and hex. */
export const hex = (bytes: Uint8Array): string => {
  let out = "\\x"
  for (let i = 0; i < bytes.length; i++) out += HEX[bytes[i]!]
  return out
}

/** A key attribute's text (S, N or B). */
export const keyText = (value: AttributeValue): string | null =>
  value._tag === "B" ? hex(value.value) : value._tag === "S" || value._tag === "N" ? value.value : null

/** The path to the first string holding U+0000 in a value (names of maps included), if any. */
export const nulPath = (value: AttributeValue): string | undefined => {
  switch (value._tag) {
    case "S":
      return value.value.includes("\0") ? "" : undefined
    case "SS":
      return value.value.some((s) => s.includes("\0")) ? "" : undefined
    case "M":
      return nulPathInItem(value.value)
    case "L":
      for (let i = 0; i < value.value.length; i++) {
        const inner = nulPath(value.value[i]!)
        if (inner !== undefined) return `[${i}]${inner}`
      }
      return undefined
    default:
      return undefined
  }
}

/** Like {@link nulPath}, over an item's names and values. */
export const nulPathInItem = (item: Item): string | undefined => {
  for (const [name, value] of item) {
    if (name.includes("\0")) return `.${JSON.stringify(name)}`
    const inner = nulPath(value)
    if (inner !== undefined) return `.${JSON.stringify(name)}${inner}`
  }
  return undefined
}
