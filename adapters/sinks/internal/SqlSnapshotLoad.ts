/**
 * A backfill's batch straight into the replica table by one `COPY`. When every event of a batch is a snapshot read
 * (version 0, below every other) and the replica holds no tombstone, a row can only be inserted: the version guard
 * and the tombstone check of {@link SqlBatch.plan} would never hold it back. If the table already holds one of the
 * items (an item twice in an export, a row an earlier run left), the key's unique index refuses the `COPY` and the
 * sink applies the batch the guarded way instead, which keeps the row held; so it does for any other refusal, which
 * the guarded way confirms or not (it keeps one event per item) and names. No staging table, no
 * `INSERT … SELECT … ON CONFLICT`: Postgres' work per row is about halved. A row is written in one pass over its
 * item, or over the export line's text when the reader kept it (`ExportLine.itemText`).
 */
import type { AttributeValue } from "../../../core/AttributeValue.ts"
import type { ChangeEvent } from "../../../core/ChangeEvent.ts"
import * as Base64 from "../../../core/Base64.ts"
import * as ExportLine from "../../../core/ExportLine.ts"
import type { KeySchema } from "../../../core/ItemKey.ts"
import * as Version from "../../../core/Version.ts"
import { attributeFields, BatchInvalid, checkKey, copyField, documentText, keyOf, timestamp } from "./SqlBatch.ts"
import * as SqlIdentifier from "./SqlIdentifier.ts"
import { type AttributeColumn, DELETED, ITEM, type Layout, OTHER, UPDATED_AT, VERSION } from "./SqlTable.ts"
import { type ColumnKind, hex, keyText, kindOf } from "./SqlValue.ts"

export interface Load {
  /** The layout once the batch is committed (with the new attributes' columns). */
  readonly layout: Layout
  readonly newColumns: ReadonlyArray<AttributeColumn>
  /** The table and its column list, for `COPY … FROM STDIN`. */
  readonly target: string
  /** The rows, in `COPY`'s text format. */
  readonly data: string
}

/** Whether every event is a snapshot read (an export's item, version 0). */
export const isSnapshot = (events: ReadonlyArray<ChangeEvent>): boolean => {
  for (const event of events) {
    if (event.op !== "r" || event.position._tag === "Stream") return false
  }
  return events.length > 0
}

const NULL = "\\N"
const q = SqlIdentifier.quote

/**
 * The rows of snapshot reads (see {@link isSnapshot}) for the table, with the columns to add first: one pass over the
 * items, new attributes' columns found on the way (rows written before one was found get `NULL` for it).
 */
export const plan = (layout: Layout, schema: KeySchema, events: ReadonlyArray<ChangeEvent>): Load => {
  const keys = layout.keys
  const keyNames = new Set(keys.map((k) => k.attribute))
  const names = keys.map((k) => q(k.column))
  names.push(q(VERSION), q(UPDATED_AT))
  if (layout.hasDeleted) names.push(q(DELETED))
  names.push(q(layout.mode === "document" ? ITEM : OTHER))
  // The attribute columns that hold values, in the order of the row's fields after the fixed ones.
  const kinds: Array<ColumnKind> = []
  const slotOfColumn = new Map<string, number>()
  for (const c of layout.columns) {
    if (c.kind === undefined) slotOfColumn.set(c.column, -1)
    else {
      slotOfColumn.set(c.column, kinds.length)
      kinds.push(c.kind)
      names.push(q(c.column))
    }
  }
  const newColumns: Array<AttributeColumn> = []
  const slotOfAttribute = new Map<string, number>()
  const slotOf = (name: string, kind: ColumnKind): number => {
    const column = SqlIdentifier.column(name)
    let slot = slotOfColumn.get(column)
    if (slot === undefined) {
      slot = kinds.length
      kinds.push(kind)
      names.push(q(column))
      slotOfColumn.set(column, slot)
      newColumns.push({ column, type: kind, kind })
    }
    slotOfAttribute.set(name, slot)
    return slot
  }

  // Each row's text, joined from its pieces (one join of the whole batch's pieces costs twice as much), and its number
  // of attribute fields.
  const rows: Array<string> = new Array(events.length)
  const widths: Array<number> = new Array(events.length)
  const parts: Array<string> = []
  const fields: Array<string> = []
  // The item path's fields (as SqlBatch writes them: `null` for none).
  const row: Array<string | null> = []
  const fieldOf = (name: string, value: AttributeValue) => slotOfAttribute.get(name) ?? slotOf(name, kindOf(value)!)
  const kindAt = (slot: number) => kinds[slot]!
  // The fields after the key's, the same for every row of a timestamp: the version, the time, `f` (not deleted).
  let fixedMs = NaN
  let fixed = ""
  for (let e = 0; e < events.length; e++) {
    const event = events[e]!
    if (event.key === undefined && event.newImage === undefined) {
      throw new BatchInvalid(`event ${e} (op ${event.op}) has no new image`)
    }
    const key = keyOf(schema, event, e)
    const text = ExportLine.itemText(event)
    // A line's strings hold no control character.
    if (text === undefined) checkKey(key)
    for (let k = 0; k < keys.length; k++) {
      if (k > 0) parts.push("\t")
      const field = keyText(key.get(keys[k]!.attribute)!)!
      parts.push(keys[k]!.type === "bytea" ? "\\" + field : text === undefined ? copyField(field) : field)
    }
    if (event.timestampMs !== fixedMs) {
      fixedMs = event.timestampMs
      fixed = `\t${Version.SNAPSHOT}\t${timestamp(fixedMs) ?? NULL}${layout.hasDeleted ? "\tf\t" : "\t"}`
    }
    parts.push(fixed)
    let width = 0
    if (text !== undefined) {
      if (layout.mode === "document") parts.push(text.slice(ITEM_START, -1))
      else {
        const mark = parts.length
        if (!fromText(text, keyNames, slotOfAttribute, slotOf, kinds, parts)) {
          // Attributes out of their columns' order: the fields in place, then written.
          parts.length = mark
          fields.length = kinds.length
          fields.fill(NULL)
          fromText(text, keyNames, slotOfAttribute, slotOf, kinds, parts, fields)
          for (let f = 0; f < fields.length; f++) parts.push("\t", fields[f]!)
        }
        width = kinds.length
      }
    } else if (layout.mode === "document") {
      parts.push(copyField(documentText(key, event.newImage!)))
    } else {
      row.length = 0
      const other = attributeFields(key, event.newImage!, keyNames, fieldOf, kindAt, row)
      parts.push(other === undefined ? NULL : copyField(other))
      while (row.length < kinds.length) row.push(null)
      for (const field of row) parts.push("\t", field === null ? NULL : copyField(field))
      width = row.length
    }
    rows[e] = parts.join("")
    parts.length = 0
    widths[e] = width
  }
  if (newColumns.length > 0) {
    // Rows written before a column was found lack its field.
    for (let e = 0; e < events.length; e++) {
      if (widths[e]! < kinds.length) rows[e] += "\t\\N".repeat(kinds.length - widths[e]!)
    }
  }
  return {
    layout: { ...layout, columns: [...layout.columns, ...newColumns] },
    newColumns,
    target: `${SqlIdentifier.qualified(layout.table)} (${names.join(", ")})`,
    data: rows.join("\n") + "\n"
  }
}

/** Where the item's map starts in a full export's line (`{"Item":{…}}`). */
const ITEM_START = 8

/** The kind of column for a tag, from its first letter and length (S, N, B, BOOL; M, L, SS, NS, BS are jsonb). */
const kindOfTag = (first: number, length: number): ColumnKind =>
  length === 1
    ? (first === 83 ? "text" : first === 78 ? "numeric" : first === 66 ? "bytea" : "jsonb")
    : length === 4
    ? "boolean"
    : "jsonb"

// The names of the attributes of the item `fromText` last read, in order.
const previousNames: Array<string> = []

/**
 * A row's fields from the line a snapshot read was decoded from (see {@link ExportLine.itemText}), without its item,
 * pushed to `parts`: `_backstream_other` (the values their column does not hold), then each attribute column's field,
 * its value's text taken straight from the line. The line is DynamoDB JSON the reader checked, with no escapes nor
 * control characters in its strings: they need no `COPY` escapes, and hold no U+0000. Without `fields`, the fields are
 * pushed in order (the attributes of an export's items mostly come in the order their columns were made), and false
 * is returned when an attribute comes before one of a column to its left; with `fields`, each is put in its place
 * there, for the caller to push.
 */
const fromText = (
  text: string,
  keyNames: ReadonlySet<string>,
  slotOfAttribute: Map<string, number>,
  slotOf: (name: string, kind: ColumnKind) => number,
  kinds: ReadonlyArray<ColumnKind>,
  parts: Array<string>,
  fields?: Array<string>
): boolean => {
  let rest: string | undefined
  const otherAt = parts.length
  parts.push(NULL)
  let width = 0
  let at = ITEM_START + 1
  if (text.charCodeAt(at) !== 125) {
    for (let index = 0;; index++) {
      // "name":{"TAG":payload}. Items of an export mostly have the names of the one before, in the same order: the
      // name there is compared in place (no new string, no lookup) before it is read.
      const nameStart = at
      const guess = previousNames[index]
      let name: string
      let nameEnd: number
      if (
        guess !== undefined && text.charCodeAt(at + 1 + guess.length) === 34 && text.startsWith(guess, at + 1)
      ) {
        name = guess
        nameEnd = at + 1 + guess.length
      } else {
        nameEnd = text.indexOf('"', at + 1)
        name = text.slice(at + 1, nameEnd)
        previousNames[index] = name
      }
      const valueStart = nameEnd + 2
      const tagEnd = text.indexOf('"', valueStart + 2)
      const payload = tagEnd + 2
      const opening = text.charCodeAt(payload)
      // A string (S, N, B), true or false (BOOL, NULL), else a map or a list whose end is looked for.
      const valueEnd = opening === 34
        ? text.indexOf('"', payload + 1) + 1
        : opening === 116
        ? payload + 4
        : opening === 102
        ? payload + 5
        : endOf(text, valueStart)
      at = valueEnd + 1
      const first = text.charCodeAt(valueStart + 2)
      // NULL is the only tag of four letters that starts with N.
      const isNull = first === 78 && tagEnd - valueStart === 6
      if (!isNull && !keyNames.has(name)) {
        const kind = kindOfTag(first, tagEnd - valueStart - 2)
        const slot = slotOfAttribute.get(name) ?? slotOf(name, kind)
        let field: string | undefined
        if (slot >= 0 && kinds[slot] === kind) {
          field = kind === "jsonb"
            ? text.slice(valueStart, valueEnd + 1)
            : kind === "boolean"
            ? (text.charCodeAt(payload) === 116 ? "t" : "f")
            : kind === "bytea"
            ? "\\" + hex(Base64.decode(text, payload + 1, valueEnd - 1)!)
            : text.slice(payload + 1, valueEnd - 1)
        }
        if (field === undefined) rest = (rest === undefined ? "{" : `${rest},`) + text.slice(nameStart, valueEnd + 1)
        else if (fields !== undefined) {
          while (slot >= fields.length) fields.push(NULL)
          fields[slot] = field
        } else if (slot < width) return false
        else {
          for (; width < slot; width++) parts.push("\t\\N")
          parts.push("\t", field)
          width++
        }
      }
      if (text.charCodeAt(at) === 125) break
      at++
    }
  }
  if (fields !== undefined) { while (fields.length < kinds.length) fields.push(NULL) }
  else for (; width < kinds.length; width++) parts.push("\t\\N")
  if (rest !== undefined) parts[otherAt] = `${rest}}`
  return true
}

/** The index of the `}` that closes the value whose `{` is at `start` (strings hold no quotes nor brackets to skip). */
const endOf = (text: string, start: number): number => {
  let depth = 0
  for (let i = start;; i++) {
    const code = text.charCodeAt(i)
    if (code === 34) i = text.indexOf('"', i + 1)
    else if (code === 123 || code === 91) depth++
    else if ((code === 125 || code === 93) && --depth === 0) return i
  }
}
