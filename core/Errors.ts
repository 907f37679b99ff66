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
export type ObjectStoreError = ObjectNotFound | ObjectStoreFailure

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

/** Every error reading an export can give. */
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
