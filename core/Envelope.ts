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

/** The envelope of an event as one line of JSON (without the newline). */
export const encode = (event: ChangeEvent, format: Format = "dynamodb"): string => {
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
  approximate_creation_ms: Schema.Number,
  ttl: Schema.Boolean
})

/** The envelope in the `dynamodb` format, as a `Schema` of its JSON. */
export const EnvelopeJson = Schema.Struct({
  op: Schema.Literal("r", "c", "u", "d"),
  key: Schema.NullOr(ItemFromDynamoJson),
  before: Schema.NullOr(ItemFromDynamoJson),
  after: Schema.NullOr(ItemFromDynamoJson),
  ts_ms: Schema.Number,
  source: Schema.Union(ExportSource, StreamSource)
})

const decodeJson = Schema.decodeUnknownEither(EnvelopeJson)

/** Reads back one envelope line in the `dynamodb` format. */
export const decode = (line: string): Either.Either<ChangeEvent, EnvelopeInvalid> => {
  let json: unknown
  try {
    json = JSON.parse(line)
  } catch (error) {
    return Either.left(new EnvelopeInvalid({ reason: `not JSON (${(error as Error).message})` }))
  }
  const decoded = decodeJson(json, { onExcessProperty: "error" })
  if (Either.isLeft(decoded)) return Either.left(new EnvelopeInvalid({ reason: firstIssue(decoded.left) }))
  const { after, before, key, op, source: s, ts_ms } = decoded.right
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
