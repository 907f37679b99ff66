/**
 * The `StreamSource` port: the DynamoDB Streams API that change capture reads — ListStreams, DescribeStream,
 * GetShardIterator and GetRecords. Adapters: the AWS SDK (`adapters/aws`), which also reaches the emulator.
 *
 * @module
 */
import { Context, type Effect } from "effect"
import type { Item } from "./AttributeValue.ts"
import type { StreamSourceError } from "./Errors.ts"
import type { KeySchema } from "./ItemKey.ts"
import type { SequenceNumber } from "./SequenceNumber.ts"

/** What a stream record holds (`StreamViewType`). */
export type ViewType = "KEYS_ONLY" | "NEW_IMAGE" | "OLD_IMAGE" | "NEW_AND_OLD_IMAGES"

/** A stream of a table, as ListStreams gives it. */
export interface StreamSummary {
  readonly streamArn: string
  readonly tableName: string
  readonly streamLabel: string
}

/** One shard: `endingSequenceNumber` is present once it is closed. */
export interface Shard {
  readonly shardId: string
  readonly parentShardId?: string
  readonly startingSequenceNumber: SequenceNumber
  readonly endingSequenceNumber?: SequenceNumber
}

/** One page of DescribeStream. */
export interface StreamDescription {
  readonly streamArn: string
  readonly streamLabel: string
  readonly status: "ENABLING" | "ENABLED" | "DISABLING" | "DISABLED"
  readonly viewType: ViewType
  readonly tableName: string
  readonly keySchema: KeySchema
  readonly creationTimeMs: number
  readonly shards: ReadonlyArray<Shard>
  /** Present when there are more shards: pass it as `exclusiveStartShardId`. */
  readonly lastEvaluatedShardId?: string
}

/** Where a new iterator starts. */
export type IteratorStart =
  | { readonly type: "TRIM_HORIZON" }
  | { readonly type: "LATEST" }
  | { readonly type: "AT_SEQUENCE_NUMBER"; readonly sequenceNumber: SequenceNumber }
  | { readonly type: "AFTER_SEQUENCE_NUMBER"; readonly sequenceNumber: SequenceNumber }

/** One stream record, with its images decoded into the value model. */
export interface StreamRecord {
  readonly eventId: string
  readonly eventName: "INSERT" | "MODIFY" | "REMOVE"
  /** `ApproximateCreationDateTime`, in ms since the epoch (AWS gives whole seconds). */
  readonly approximateCreationTimeMs: number
  readonly sequenceNumber: SequenceNumber
  readonly sizeBytes: number
  readonly keys: Item
  readonly newImage?: Item
  readonly oldImage?: Item
  /** `userIdentity`, present on deletes by the TTL service (`{ type: "Service", principalId: "dynamodb.amazonaws.com" }`). */
  readonly userIdentity?: { readonly type: string; readonly principalId: string }
}

/** One GetRecords answer: no `nextIterator` means the shard is closed and read to its end. */
export interface RecordsPage {
  readonly records: ReadonlyArray<StreamRecord>
  readonly nextIterator?: string
}

/** The DynamoDB Streams API. */
export class StreamSource extends Context.Tag("backstream/StreamSource")<StreamSource, {
  /** The streams of a table (or of every table), a page at a time. */
  readonly listStreams: (request: {
    readonly tableName?: string
    readonly exclusiveStartStreamArn?: string
    readonly limit?: number
  }) => Effect.Effect<
    { readonly streams: ReadonlyArray<StreamSummary>; readonly lastEvaluatedStreamArn?: string },
    StreamSourceError
  >
  /** One page of a stream's description and shards. */
  readonly describeStream: (request: {
    readonly streamArn: string
    readonly exclusiveStartShardId?: string
    readonly limit?: number
  }) => Effect.Effect<StreamDescription, StreamSourceError>
  /** A new iterator into a shard, valid for 15 minutes. */
  readonly getShardIterator: (request: {
    readonly streamArn: string
    readonly shardId: string
    readonly start: IteratorStart
  }) => Effect.Effect<string, StreamSourceError>
  /** The next records of a shard (at most `limit`, 1 to 1000, and 1 MB). */
  readonly getRecords: (request: {
    readonly iterator: string
    readonly limit?: number
  }) => Effect.Effect<RecordsPage, StreamSourceError>
}>() {}
