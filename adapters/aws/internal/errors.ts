/**
 * The one place where AWS SDK errors become core errors, by the exception's `name` (its AWS error code), then by HTTP
 * status: a 4xx the service explained is the caller's mistake, a 5xx, a network failure or anything unexplained is
 * the service being unavailable.
 */
import {
  AccessDenied,
  ExpiredIterator,
  InvalidRequest,
  NotFound,
  ObjectNotFound,
  type ObjectStoreError,
  PreconditionFailed,
  type ResourceKind,
  type ServiceError,
  type StreamSourceError,
  Throttled,
  TrimmedData,
  Unavailable
} from "../../../core/Errors.ts"

/** What was being done when the error came. */
export interface Call {
  /** The IAM action: `dynamodb:GetRecords`, `s3:ListBucket`. */
  readonly action: string
  /** What a "not found" names, and its name. */
  readonly resource: ResourceKind
  readonly name: string
  /** The shard asked for, when there is one: a "Shard does not exist" names it. */
  readonly shardId?: string
  /** The bucket, for S3 calls: NoSuchBucket names it. */
  readonly bucket?: string
}

interface Described {
  readonly name: string
  readonly message: string
  readonly status: number | undefined
}

const describe = (error: unknown): Described => {
  if (typeof error !== "object" || error === null) return { name: "Error", message: String(error), status: undefined }
  const e = error as { name?: unknown; message?: unknown; code?: unknown; $metadata?: { httpStatusCode?: unknown } }
  const status = e.$metadata?.httpStatusCode
  const code = typeof e.code === "string" ? ` (${e.code})` : ""
  return {
    name: typeof e.name === "string" ? e.name : "Error",
    message: `${typeof e.message === "string" && e.message !== "" ? e.message : "no message"}${code}`,
    status: typeof status === "number" ? status : undefined
  }
}

const THROTTLING = new Set([
  "LimitExceededException",
  "ProvisionedThroughputExceededException",
  "ThrottlingException",
  "Throttling",
  "ThrottledException",
  "RequestLimitExceeded",
  "RequestThrottled",
  "RequestThrottledException",
  "TooManyRequestsException",
  "SlowDown"
])

const NOT_FOUND: Readonly<Record<string, ResourceKind | undefined>> = {
  ResourceNotFoundException: undefined,
  TableNotFoundException: "table",
  ExportNotFoundException: "export",
  NoSuchBucket: "bucket"
}

/** Credentials the service does not accept: no retry helps, the user must fix them. */
const CREDENTIALS = new Set([
  "CredentialsProviderError",
  "UnrecognizedClientException",
  "InvalidSignatureException",
  "SignatureDoesNotMatch",
  "InvalidAccessKeyId",
  "InvalidClientTokenId",
  "MissingAuthenticationToken",
  "ExpiredToken",
  "ExpiredTokenException"
])

const notFound = (call: Call, name: string, message: string): NotFound => {
  const kind = NOT_FOUND[name]
  if (kind === "bucket") {
    return new NotFound({ resource: "bucket", name: call.bucket ?? call.name, action: call.action, reason: message })
  }
  if (kind === undefined && call.shardId !== undefined && /\bshard\b/i.test(message)) {
    return new NotFound({ resource: "shard", name: call.shardId, action: call.action, reason: message })
  }
  return new NotFound({ resource: kind ?? call.resource, name: call.name, action: call.action, reason: message })
}

/** Any service's error, as a {@link ServiceError}. */
export const toServiceError = (call: Call, error: unknown): ServiceError => {
  const { name, message, status } = describe(error)
  if (name in NOT_FOUND) return notFound(call, name, message)
  if (THROTTLING.has(name) || status === 429) return new Throttled({ action: call.action, reason: message })
  if (name === "AccessDeniedException" || name === "AccessDenied") {
    return new AccessDenied({ action: call.action, resource: call.name, reason: message })
  }
  if (message.startsWith("Region is missing")) {
    return new InvalidRequest({
      action: call.action,
      code: "RegionMissing",
      reason: "no AWS region is configured: set AWS_REGION, a region in the AWS profile, or the region option"
    })
  }
  if (CREDENTIALS.has(name)) {
    return new InvalidRequest({
      action: call.action,
      code: name,
      reason: `${message}; check the AWS credentials in use (environment, profile or role)`
    })
  }
  if (status !== undefined && status >= 400 && status < 500) {
    return new InvalidRequest({ action: call.action, code: name, reason: message })
  }
  return new Unavailable({
    action: call.action,
    reason: status === undefined ? `${name}: ${message}` : `HTTP ${status} ${name}: ${message}`,
    cause: error
  })
}

/** An error of DynamoDB Streams. */
export const toStreamSourceError = (call: Call, error: unknown): StreamSourceError => {
  const { name, message } = describe(error)
  const shard = call.shardId === undefined ? {} : { shardId: call.shardId }
  if (name === "ExpiredIteratorException") return new ExpiredIterator({ ...shard, reason: message })
  if (name === "TrimmedDataAccessException") return new TrimmedData({ ...shard, reason: message })
  return toServiceError(call, error)
}

/** An error of an S3 read or listing: NoSuchKey is the store's {@link ObjectNotFound}. */
export const toObjectStoreError = (call: Call, error: unknown): ObjectStoreError =>
  describe(error).name === "NoSuchKey" ? new ObjectNotFound({ key: call.name }) : toServiceError(call, error)

/**
 * An error of a conditional PutObject: 412 (the condition does not hold), 409 (a concurrent conditional write won)
 * and, for `If-Match`, 404 NoSuchKey (there is no object to match) are {@link PreconditionFailed}.
 */
export const toPutError = (
  call: Call,
  condition: string | undefined,
  error: unknown
): ObjectStoreError | PreconditionFailed => {
  const { name, status } = describe(error)
  if (
    condition !== undefined
    && (name === "PreconditionFailed" || name === "ConditionalRequestConflict" || status === 412 || status === 409
      || (name === "NoSuchKey" && condition.startsWith("If-Match")))
  ) {
    return new PreconditionFailed({ key: call.name, condition })
  }
  return toObjectStoreError(call, error)
}
