/**
 * The JSON-lines envelope of a change event, shaped like Debezium's:
 *
 * ```json
 * {"op":"u","key":{…},"before":{…},"after":{…},"ts_ms":1768387673917,
 *  "source":{"connector":"backstream","kind":"stream","stream_arn":"…","shard_id":"…","sequence_number":"…",
 *            "approximate_creation_ms":1768387673000,"ttl":false}}
 * ```
 *
 * An export event's source is `{"connector":"backstream","kind":"export","export_arn":"…","file":"…","line":3}`
 * (plus `"write_timestamp_us":"…"` from an incremental export). `key`, `before` and `after` are `null` when absent.
 * Values are in one of two formats: `dynamodb` (DynamoDB JSON, lossless, the default; {@link decode} reads it back
 * exactly) or `plain` (natural JSON, see {@link PlainJson}).
 *
 * @module
 */
import { Either, Schema } from "effect"
import type { Item } from "./AttributeValue.ts"
import { ItemFromDynamoJson } from "./AttributeValueSchema.ts"
import type { ChangeEvent, Position } from "./ChangeEvent.ts"
import * as DynamoJson from "./DynamoJson.ts"
import { EnvelopeInvalid } from "./Errors.ts"
import * as ExportLine from "./ExportLine.ts"
import * as PlainJson from "./PlainJson.ts"
import { isSequenceNumber } from "./SequenceNumber.ts"
import { firstIssue } from "./internal/firstIssue.ts"

/** How values are written: `dynamodb` (lossless DynamoDB JSON) or `plain` (natural JSON). */
export type Format = "dynamodb" | "plain"

/** The formats, for command-line choices. */
export const formats: ReadonlyArray<Format> = ["dynamodb", "plain"]

const source = (position: Position): Record<string, unknown> =>
  position._tag === "Export"
    ? {
      connector: "backstream",
      kind: "export",
      export_arn: position.exportArn,
      file: position.file,
      line: position.line,
      ...(position.writeTimestampMicros === undefined ? {} : { write_timestamp_us: position.writeTimestampMicros })
    }
    : {
      connector: "backstream",
      kind: "stream",
      stream_arn: position.streamArn,
      shard_id: position.shardId,
      sequence_number: position.sequenceNumber,
      approximate_creation_ms: position.approximateCreationTimeMs,
      ttl: position.ttl
    }

// Where the item's map starts in a full export's line (`{"Item":{…}}`).
const ITEM_START = 8

/** The envelope of an event as one line of JSON (without the newline). */
export const encode = (event: ChangeEvent, format: Format = "dynamodb"): string => {
  const line = format === "dynamodb" ? ExportLine.itemText(event) : undefined
  if (line !== undefined) {
    // The line's item is the item's DynamoDB JSON as `JSON.stringify` writes it (compact, without escapes): as is.
    return `{"op":${JSON.stringify(event.op)},"key":${
      event.key === undefined ? "null" : JSON.stringify(DynamoJson.encodeItem(event.key))
    },"before":null,"after":${line.slice(ITEM_START, -1)},"ts_ms":${JSON.stringify(event.timestampMs)},"source":${
      JSON.stringify(source(event.position))
    }}`
  }
  const item: (item: Item) => unknown = format === "dynamodb" ? DynamoJson.encodeItem : PlainJson.fromItem
  return JSON.stringify({
    op: event.op,
    key: event.key === undefined ? null : item(event.key),
    before: event.oldImage === undefined ? null : item(event.oldImage),
    after: event.newImage === undefined ? null : item(event.newImage),
    ts_ms: event.timestampMs,
    source: source(event.position)
  })
}

const ExportSource = Schema.Struct({
  connector: Schema.Literal("backstream"),
  kind: Schema.Literal("export"),
  export_arn: Schema.String,
  file: Schema.String,
  line: Schema.Int.pipe(Schema.positive()),
  write_timestamp_us: Schema.optional(Schema.String)
})

const StreamSource = Schema.Struct({
  connector: Schema.Literal("backstream"),
  kind: Schema.Literal("stream"),
  stream_arn: Schema.String,
  shard_id: Schema.String,
  sequence_number: Schema.String.pipe(Schema.filter(isSequenceNumber, { message: () => "not a sequence number" })),
  approximate_creation_ms: Schema.Number.pipe(Schema.finite()),
  ttl: Schema.Boolean
})

/** The envelope in the `dynamodb` format, as a `Schema` of its JSON. */
export const EnvelopeJson = Schema.Struct({
  op: Schema.Literal("r", "c", "u", "d"),
  key: Schema.NullOr(ItemFromDynamoJson),
  before: Schema.NullOr(ItemFromDynamoJson),
  after: Schema.NullOr(ItemFromDynamoJson),
  ts_ms: Schema.Number.pipe(Schema.finite()),
  source: Schema.Union(ExportSource, StreamSource)
})

// The items are decoded by the hand-written `DynamoJson` decoder, which accepts exactly what `ItemFromDynamoJson`
// does (a differential test holds them to it) in time linear in the item's size: the Schema's time grows with the
// square of the nesting depth (seconds for a few hundred levels), and its stack runs out near a thousand.
const decodeFields = Schema.decodeUnknownEither(
  Schema.Struct({
    ...EnvelopeJson.fields,
    key: Schema.NullOr(Schema.Unknown),
    before: Schema.NullOr(Schema.Unknown),
    after: Schema.NullOr(Schema.Unknown)
  })
)

type Fields = typeof EnvelopeJson.Encoded

const ENVELOPE_KEYS = new Set(["op", "key", "before", "after", "ts_ms", "source"])
const EXPORT_KEYS = new Set(["connector", "kind", "export_arn", "file", "line", "write_timestamp_us"])
const STREAM_KEYS = new Set([
  "connector",
  "kind",
  "stream_arn",
  "shard_id",
  "sequence_number",
  "approximate_creation_ms",
  "ttl"
])

const onlyKeys = (object: Record<string, unknown>, allowed: ReadonlySet<string>): boolean => {
  for (const key in object) if (!allowed.has(key)) return false
  return true
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const isItemOrNull = (value: unknown) => value === null || isObject(value)

/**
 * The envelope's fields checked by hand, the hot path (spool replay reads every line): true only for what the
 * Schema accepts; anything else goes to the Schema, which accepts it or says what is wrong.
 */
const fieldsValid = (json: unknown): json is Fields => {
  if (!isObject(json) || !onlyKeys(json, ENVELOPE_KEYS)) return false
  const { op, ts_ms, source: s } = json
  if (op !== "r" && op !== "c" && op !== "u" && op !== "d") return false
  if (!isItemOrNull(json.key) || !isItemOrNull(json.before) || !isItemOrNull(json.after)) return false
  if (!("key" in json && "before" in json && "after" in json)) return false
  if (typeof ts_ms !== "number" || !Number.isFinite(ts_ms)) return false
  if (!isObject(s) || s.connector !== "backstream") return false
  if (s.kind === "export") {
    return onlyKeys(s, EXPORT_KEYS) && typeof s.export_arn === "string" && typeof s.file === "string"
      && Number.isSafeInteger(s.line) && (s.line as number) > 0
      && (s.write_timestamp_us === undefined || typeof s.write_timestamp_us === "string")
  }
  return s.kind === "stream" && onlyKeys(s, STREAM_KEYS) && typeof s.stream_arn === "string"
    && typeof s.shard_id === "string" && typeof s.sequence_number === "string"
    && isSequenceNumber(s.sequence_number) && typeof s.approximate_creation_ms === "number"
    && Number.isFinite(s.approximate_creation_ms) && typeof s.ttl === "boolean"
}

const decodeItem = (json: unknown, field: string): Either.Either<Item | null, EnvelopeInvalid> =>
  json === null ? Either.right(null) : Either.mapLeft(
    DynamoJson.decodeItemEither(json),
    (invalid) => new EnvelopeInvalid({ reason: `$.${field}${invalid.path.slice(1)}: ${invalid.reason}` })
  )

/** Reads back one envelope line in the `dynamodb` format. */
export const decode = (line: string): Either.Either<ChangeEvent, EnvelopeInvalid> => {
  let json: unknown
  try {
    json = JSON.parse(line)
  } catch (error) {
    return Either.left(new EnvelopeInvalid({ reason: `not JSON (${(error as Error).message})` }))
  }
  let fields: Fields
  if (fieldsValid(json)) fields = json
  else {
    const decoded = decodeFields(json, { onExcessProperty: "error" })
    if (Either.isLeft(decoded)) return Either.left(new EnvelopeInvalid({ reason: firstIssue(decoded.left) }))
    fields = decoded.right as Fields
  }
  const { op, source: s, ts_ms } = fields
  const items = Either.all({
    key: decodeItem(fields.key, "key"),
    before: decodeItem(fields.before, "before"),
    after: decodeItem(fields.after, "after")
  })
  if (Either.isLeft(items)) return Either.left(items.left)
  const { after, before, key } = items.right
  if ((op === "d") !== (after === null)) {
    return Either.left(new EnvelopeInvalid({ reason: `op ${op} ${op === "d" ? "cannot have" : "needs"} "after"` }))
  }
  const position: Position = s.kind === "export"
    ? {
      _tag: "Export",
      exportArn: s.export_arn,
      file: s.file,
      line: s.line,
      ...(s.write_timestamp_us === undefined ? {} : { writeTimestampMicros: s.write_timestamp_us })
    }
    : {
      _tag: "Stream",
      streamArn: s.stream_arn,
      shardId: s.shard_id,
      sequenceNumber: s.sequence_number,
      approximateCreationTimeMs: s.approximate_creation_ms,
      ttl: s.ttl
    }
  return Either.right({
    op,
    ...(key === null ? {} : { key }),
    ...(before === null ? {} : { oldImage: before }),
    ...(after === null ? {} : { newImage: after }),
    timestampMs: ts_ms,
    position
  })
}
