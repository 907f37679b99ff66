/**
 * The errors of `core/`. Each says what went wrong, where, and what to do about it.
 *
 * @module
 */
import { Data } from "effect"

/** A DynamoDB JSON value that is not a valid attribute value. `path` is a JSON path into the document. */
export class InvalidAttributeValue extends Data.TaggedError("InvalidAttributeValue")<{
  readonly path: string
  readonly reason: string
}> {
  override get message() {
    return `${this.path}: ${this.reason}`
  }
}

/** An item whose key attributes do not fit the table's key schema. */
export class InvalidKey extends Data.TaggedError("InvalidKey")<{
  readonly reason: string
}> {
  override get message() {
    return `invalid item key: ${this.reason}`
  }
}

/** An object the store does not have. */
export class ObjectNotFound extends Data.TaggedError("ObjectNotFound")<{
  readonly key: string
}> {
  override get message() {
    return `object not found: ${this.key}`
  }
}

/** A store that failed to answer (I/O error, permissions, network). */
export class ObjectStoreFailure extends Data.TaggedError("ObjectStoreFailure")<{
  readonly key: string
  readonly reason: string
  readonly cause?: unknown
}> {
  override get message() {
    return `cannot read ${this.key}: ${this.reason}`
  }
}

/** Errors of the {@link ObjectStore} port. */
export type ObjectStoreError = ObjectNotFound | ObjectStoreFailure | ServiceError

/** `manifest-summary.json` or `manifest-files.json` is missing, unreadable or not what AWS writes. */
export class ExportManifestInvalid extends Data.TaggedError("ExportManifestInvalid")<{
  readonly file: string
  readonly reason: string
}> {
  override get message() {
    return `export manifest ${this.file}: ${this.reason}`
  }
}

/** A data file named in the manifest is not in the store. */
export class ExportFileMissing extends Data.TaggedError("ExportFileMissing")<{
  readonly file: string
}> {
  override get message() {
    return `data file ${this.file} is named in the export manifest but missing: copy the whole export (every file `
      + `under the manifest's keys) or export the table again`
  }
}

/** A data file that cannot be read: not gzip, truncated, or failing in the store. */
export class ExportFileUnreadable extends Data.TaggedError("ExportFileUnreadable")<{
  readonly file: string
  readonly reason: string
}> {
  override get message() {
    return `data file ${this.file} cannot be read: ${this.reason}`
  }
}

/** A line of a data file that is not a valid export line. `line` counts from 1; `path` is a JSON path in the line. */
export class ExportLineInvalid extends Data.TaggedError("ExportLineInvalid")<{
  readonly file: string
  readonly line: number
  readonly path: string
  readonly reason: string
}> {
  override get message() {
    return `data file ${this.file}, line ${this.line}, at ${this.path}: ${this.reason}`
  }
}

/** A data file whose bytes or item count differ from what the manifest says: the export is damaged or incomplete. */
export class ExportFileMismatch extends Data.TaggedError("ExportFileMismatch")<{
  readonly file: string
  readonly what: "md5Checksum" | "itemCount"
  readonly expected: string
  readonly actual: string
}> {
  override get message() {
    return `data file ${this.file}: the manifest says ${this.what} ${this.expected} but the file has ${this.actual}; `
      + `the export is damaged or incomplete: copy it again from S3 or export the table again`
  }
}

/**
 * Every error of an export itself. Reading one can also fail with the store's {@link ServiceError}, as it is (access
 * denied, throttled once the retries are spent, the bucket missing).
 */
export type ExportError =
  | ExportManifestInvalid
  | ExportFileMissing
  | ExportFileUnreadable
  | ExportLineInvalid
  | ExportFileMismatch

/** A JSON line that is not a change event envelope in the `dynamodb` format. */
export class EnvelopeInvalid extends Data.TaggedError("EnvelopeInvalid")<{
  readonly reason: string
}> {
  override get message() {
    return `not a change event envelope: ${this.reason}`
  }
}

/**
 * The errors of the AWS-facing ports ({@link StreamSource}, {@link TableControl}, {@link ObjectStore}), each named
 * after what the service said, with the action that failed so that a report can tell the user what to fix.
 */

/** A shard iterator older than 15 minutes: get a new one from the last position read. */
export class ExpiredIterator extends Data.TaggedError("ExpiredIterator")<{
  readonly shardId?: string
  readonly reason: string
}> {
  override get message() {
    return `the shard iterator${this.shardId === undefined ? "" : ` of ${this.shardId}`} has expired: ${this.reason}`
  }
}

/** The stream no longer holds the records asked for: they are older than its 24-hour retention. */
export class TrimmedData extends Data.TaggedError("TrimmedData")<{
  readonly shardId?: string
  readonly reason: string
}> {
  override get message() {
    return `records${this.shardId === undefined ? "" : ` of ${this.shardId}`} were trimmed from the stream: `
      + this.reason
  }
}

/** The kinds of resource that {@link NotFound} names. */
export type ResourceKind = "table" | "stream" | "shard" | "export" | "bucket" | "object"

/** A resource that does not exist (or that the caller may not see). */
export class NotFound extends Data.TaggedError("NotFound")<{
  readonly resource: ResourceKind
  readonly name: string
  readonly action: string
  readonly reason?: string
}> {
  override get message() {
    return `${this.action}: ${this.resource} ${this.name} not found${
      this.reason === undefined ? "" : ` (${this.reason})`
    }`
  }
}

/** The service asks the caller to slow down (throttling, request limits). Retried with back-off. */
export class Throttled extends Data.TaggedError("Throttled")<{
  readonly action: string
  readonly reason: string
}> {
  override get message() {
    return `${this.action} was throttled: ${this.reason}`
  }
}

/** The caller's credentials may not perform `action` (an IAM action such as `dynamodb:ListExports`). */
export class AccessDenied extends Data.TaggedError("AccessDenied")<{
  readonly action: string
  readonly resource?: string
  readonly reason: string
}> {
  override get message() {
    return `access denied to ${this.action}${this.resource === undefined ? "" : ` on ${this.resource}`}: `
      + `${this.reason}; add ${this.action} to the policy of the credentials in use`
  }
}

/** A request the service refused as invalid; `code` is the service's error name (e.g. `ExportConflictException`). */
export class InvalidRequest extends Data.TaggedError("InvalidRequest")<{
  readonly action: string
  readonly code: string
  readonly reason: string
}> {
  override get message() {
    return `${this.action} was refused (${this.code}): ${this.reason}`
  }
}

/** The service failed or could not be reached (HTTP 5xx, network error, timeout). Retried with back-off. */
export class Unavailable extends Data.TaggedError("Unavailable")<{
  readonly action: string
  readonly reason: string
  readonly cause?: unknown
}> {
  override get message() {
    return `${this.action} failed: ${this.reason}`
  }
}

/** A conditional write whose condition did not hold (S3 `412 Precondition Failed`, or `409` on a concurrent write). */
export class PreconditionFailed extends Data.TaggedError("PreconditionFailed")<{
  readonly key: string
  readonly condition: string
}> {
  override get message() {
    return `the write of ${this.key} was refused: ${this.condition} no longer holds (another writer changed it)`
  }
}

/** Errors any AWS-facing call may give. */
export type ServiceError = NotFound | Throttled | AccessDenied | InvalidRequest | Unavailable

/**
 * Errors of the {@link StreamSource} port; `InvalidAttributeValue` is a record whose value is not valid DynamoDB JSON
 * (its path names it), which no retry would fix.
 */
export type StreamSourceError = ServiceError | ExpiredIterator | TrimmedData | InvalidAttributeValue

/** Errors of the {@link TableControl} port. */
export type TableControlError = ServiceError

/** How change capture lost records: trimmed before it read them, or a shard it had not finished left the stream. */
export type StreamGapCause = "trimmed" | "shardGone"

const isoTime = (ms: number): string => new Date(ms).toISOString()

/**
 * Change capture cannot go on without losing changes: records of `shardId` that it had not read yet are no longer in
 * the stream (older than its 24-hour retention, or the whole shard is gone). `lostFromMs` is the time of the last
 * record read from the shard and `lostToMs` that of the earliest record the shard still holds, when known. Nothing
 * read after the gap would be complete, so capture stops: start again from a new backfill (a new export).
 */
export class StreamGap extends Data.TaggedError("StreamGap")<{
  readonly streamArn: string
  readonly shardId: string
  readonly cause: StreamGapCause
  readonly lostFromMs?: number
  readonly lostToMs?: number
  readonly reason: string
}> {
  override get message() {
    const from = this.lostFromMs === undefined ? "the last record read (unknown time)" : isoTime(this.lostFromMs)
    const to = this.lostToMs === undefined
      ? this.cause === "shardGone" ? "the end of the shard" : "the earliest record still kept (unknown time)"
      : isoTime(this.lostToMs)
    return `changes were lost from shard ${this.shardId} of stream ${this.streamArn}, from ${from} to ${to}, as far `
      + `as known: ${this.reason}; the stream keeps records for 24 hours and capture fell further behind; start `
      + `again with a new backfill (a new export of the table) and discard this checkpoint`
  }
}

/** A saved checkpoint that cannot be used: damaged, of another version, or of another table or stream. */
export class CheckpointInvalid extends Data.TaggedError("CheckpointInvalid")<{
  readonly store: string
  readonly reason: string
}> {
  override get message() {
    return `checkpoint ${this.store}: ${this.reason}`
  }
}

/** A checkpoint store that failed (I/O, network, permissions). */
export class CheckpointStoreFailure extends Data.TaggedError("CheckpointStoreFailure")<{
  readonly store: string
  readonly reason: string
  readonly cause?: unknown
}> {
  override get message() {
    return `checkpoint ${this.store}: ${this.reason}`
  }
}

/** Another writer saved the checkpoint since this engine last did: two engines are replicating the same stream. */
export class CheckpointConflict extends Data.TaggedError("CheckpointConflict")<{
  readonly store: string
}> {
  override get message() {
    return `checkpoint ${this.store} was changed by another writer: another backstream engine is replicating this `
      + `stream into the same checkpoint; stop one of them (each would skip the other's changes)`
  }
}

/** A sink that could not apply a batch, or could not be prepared. `retryable`: worth trying again (connection lost). */
export class SinkFailure extends Data.TaggedError("SinkFailure")<{
  readonly sink: string
  readonly reason: string
  readonly retryable: boolean
  readonly cause?: unknown
}> {
  override get message() {
    return `sink ${this.sink}: ${this.reason}`
  }
}

/** The spool could not store or read back captured records. */
export class SpoolFailure extends Data.TaggedError("SpoolFailure")<{
  readonly spool: string
  readonly reason: string
  readonly cause?: unknown
}> {
  override get message() {
    return `spool ${this.spool}: ${this.reason}`
  }
}

/** The source is not set up as replication needs: `requirement` names what is missing, `fix` says what to do. */
export class SetupInvalid extends Data.TaggedError("SetupInvalid")<{
  readonly requirement: string
  readonly reason: string
  readonly fix: string
}> {
  override get message() {
    return `${this.requirement}: ${this.reason}; ${this.fix}`
  }
}

/** The export the backfill waited for failed (AWS's `FailureCode` and `FailureMessage`). */
export class ExportFailed extends Data.TaggedError("ExportFailed")<{
  readonly exportArn: string
  readonly code: string
  readonly reason: string
}> {
  override get message() {
    const hint = this.code === "S3NoSuchBucket"
      ? "; create the bucket or pass another with --export-bucket"
      : this.code.startsWith("S3AccessDenied") || this.code === "AccessDenied"
      ? "; allow the table's export to write to the bucket (s3:PutObject, s3:AbortMultipartUpload)"
      : ""
    return `export ${this.exportArn} failed (${this.code}): ${this.reason}${hint}`
  }
}
