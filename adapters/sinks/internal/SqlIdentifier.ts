/**
 * Postgres identifiers for DynamoDB names. Attribute names are any UTF-8 of 1 to 255 bytes (top-level names at least
 * 1); Postgres identifiers hold at most 63 bytes, no NUL, and the sink reserves the `_backstream_` prefix for its own
 * columns. The mapping, deterministic and collision-free:
 *
 * - a name of at most 63 UTF-8 bytes, without NUL, not starting with `_backstream_` and not ending like a mapped name
 *   (`#` and 16 hex digits) is its own column name (quoted, so case and every character are kept);
 * - any other name becomes its longest prefix of at most 46 bytes (whole characters, NUL removed), `#`, and the first
 *   16 hex digits of the SHA-256 of its UTF-8 bytes: 63 bytes at most. Names kept as they are never end in that
 *   pattern, so the two kinds cannot meet; two mapped names meet only if their 64-bit hashes do.
 */
import { createHash } from "node:crypto"

export const MAX_BYTES = 63
export const RESERVED_PREFIX = "_backstream_"
const PREFIX_BYTES = 46
const MAPPED = /#[0-9a-f]{16}$/

const encoder = new TextEncoder()

/** Double-quotes an identifier (every character kept; `"` doubled). */
export const quote = (name: string): string => `"${name.replaceAll('"', '""')}"`

/** The column that holds an attribute (see the module's rules). */
export const column = (attribute: string): string => {
  const bytes = encoder.encode(attribute).length
  if (
    bytes > 0 && bytes <= MAX_BYTES && !attribute.includes("\0") && !attribute.startsWith(RESERVED_PREFIX)
    && !MAPPED.test(attribute)
  ) return attribute
  return mapped(attribute)
}

const mapped = (name: string): string => {
  const digest = createHash("sha256").update(name, "utf8").digest("hex").slice(0, 16)
  let prefix = ""
  let size = 0
  for (const char of name) {
    if (char === "\0") continue
    const length = encoder.encode(char).length
    if (size + length > PREFIX_BYTES) break
    prefix += char
    size += length
  }
  return `${prefix}#${digest}`
}

/** A schema-qualified table name. */
export interface TableName {
  readonly schema: string
  readonly name: string
}

export const DEFAULT_SCHEMA = "public"

/** `"schema"."name"`, for SQL. */
export const qualified = (table: TableName): string => `${quote(table.schema)}.${quote(table.name)}`

/** `schema.name`, for messages and the checkpoint's key. */
export const display = (table: TableName): string => `${displayPart(table.schema)}.${displayPart(table.name)}`

const displayPart = (name: string) => /^[A-Za-z0-9_\-$]+$/.test(name) ? name : quote(name)

/** The default table of a source table: its name, mapped like an attribute name when it is longer than 63 bytes. */
export const defaultTable = (sourceTable: string): TableName => ({ schema: DEFAULT_SCHEMA, name: column(sourceTable) })

/**
 * Parses a `table` option: `name` or `schema.name`, either part double-quoted (`"my.schema"."Orders"`, `""` for a
 * quote inside). Unquoted parts are taken as written (case kept), up to the first dot. Returns the reason when the
 * text is not such a name.
 */
export const parseTable = (text: string): TableName | string => {
  const parts: Array<string> = []
  let i = 0
  while (i <= text.length) {
    let part = ""
    if (text[i] === '"') {
      i++
      for (;;) {
        if (i >= text.length) return `${JSON.stringify(text)} has an unclosed double quote`
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            part += '"'
            i += 2
            continue
          }
          i++
          break
        }
        part += text[i++]
      }
    } else {
      while (i < text.length && text[i] !== "." && text[i] !== '"') part += text[i++]
    }
    if (part === "") return `${JSON.stringify(text)} has an empty name part`
    if (part.includes("\0")) return `${JSON.stringify(text)} contains a NUL character`
    if (encoder.encode(part).length > MAX_BYTES) {
      return `${JSON.stringify(part)} is longer than Postgres's 63-byte limit for names`
    }
    parts.push(part)
    if (i >= text.length) break
    if (text[i] !== ".") return `${JSON.stringify(text)}: expected a dot after ${JSON.stringify(part)}`
    i++
    if (i === text.length) return `${JSON.stringify(text)} ends with a dot`
  }
  if (parts.length === 1) return { schema: DEFAULT_SCHEMA, name: parts[0]! }
  if (parts.length === 2) return { schema: parts[0]!, name: parts[1]! }
  return `${JSON.stringify(text)} has ${parts.length} parts; expected name or schema.name`
}
