/**
 * Change events: one change of one item, from an export (a snapshot read or an incremental export's change) or from
 * a DynamoDB stream, with the position it came from.
 *
 * @module
 */
import type { Item } from "./AttributeValue.ts"
import type { ItemKey } from "./ItemKey.ts"
import type { SequenceNumber } from "./SequenceNumber.ts"

/**
 * The operation, as Debezium spells it: `r` a snapshot read (a full export's item), `c` an insert, `u` a modification
 * (or, from a source that does not say whether the item existed, an upsert), `d` a removal.
 */
export type Op = "r" | "c" | "u" | "d"

/** Where an event was read in an export: the export, the data file's S3 key and the line (from 1). */
export interface ExportPosition {
  readonly _tag: "Export"
  readonly exportArn: string
  readonly file: string
  readonly line: number
  /** An incremental export's `Metadata.WriteTimestampMicros`: when the change was written, in µs since the epoch. */
  readonly writeTimestampMicros?: string
}

/** Where an event was read in a stream: the stream, the shard and the record's sequence number. */
export interface StreamPosition {
  readonly _tag: "Stream"
  readonly streamArn: string
  readonly shardId: string
  readonly sequenceNumber: SequenceNumber
  /** The record's `ApproximateCreationDateTime`, in milliseconds since the epoch. */
  readonly approximateCreationTimeMs: number
  /** True when the record is a delete done by the DynamoDB service itself: a TTL expiry. */
  readonly ttl: boolean
}

/** Where an event was read. */
export type Position = ExportPosition | StreamPosition

/** One change of one item. */
export interface ChangeEvent {
  readonly op: Op
  /** The item's key attributes; absent only when reading a full export without knowing the table's key schema. */
  readonly key?: ItemKey
  /** The item before the change (`u` and `d`, when the source has it). */
  readonly oldImage?: Item
  /** The item after the change (`r`, `c` and `u`). */
  readonly newImage?: Item
  /** When the change happened as far as the source says, in ms since the epoch (the export time for `r`). */
  readonly timestampMs: number
  readonly position: Position
}

/**
 * True when a stream record's `userIdentity` marks a delete done by DynamoDB's TTL sweeper. The Streams API spells it
 * `{"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}`; Lambda events spell it in lower camel case. Both
 * are accepted.
 */
export const isTtlIdentity = (userIdentity: unknown): boolean => {
  if (typeof userIdentity !== "object" || userIdentity === null) return false
  const identity = userIdentity as Record<string, unknown>
  return (identity.Type ?? identity.type) === "Service"
    && (identity.PrincipalId ?? identity.principalId) === "dynamodb.amazonaws.com"
}
