/**
 * Errors as AWS sends them: a code, a message and an HTTP status. The DynamoDB and Streams protocol (AWS JSON 1.0)
 * writes `{"__type": "com.amazonaws.dynamodb.v20120810#<Code>", "message": …}`; S3 writes an XML `<Error>`.
 */
import { Data } from "effect"

export class AwsError extends Data.TaggedError("AwsError")<{
  readonly code: string
  readonly message: string
  readonly status: number
  /** The `__type` namespace; AWS uses another one for some errors (validation, serialization). */
  readonly namespace?: string
  /** Extra XML elements of an S3 error (`Key`, `BucketName`, …). */
  readonly details?: Readonly<Record<string, string>>
  /** Extra fields of a JSON error body (`CancellationReasons` of TransactionCanceledException). */
  readonly fields?: Readonly<Record<string, unknown>>
}> {}

const DYNAMODB = "com.amazonaws.dynamodb.v20120810"
const CORAL_VALIDATE = "com.amazon.coral.validate"
const CORAL_SERVICE = "com.amazon.coral.service"

export const validation = (message: string) =>
  new AwsError({ code: "ValidationException", message, status: 400, namespace: CORAL_VALIDATE })

export const resourceNotFound = (message: string) =>
  new AwsError({ code: "ResourceNotFoundException", message, status: 400 })

export const resourceInUse = (message: string) => new AwsError({ code: "ResourceInUseException", message, status: 400 })

export const serialization = (message: string) =>
  new AwsError({ code: "SerializationException", message, status: 400, namespace: CORAL_SERVICE })

export const unknownOperation = (message: string) =>
  new AwsError({ code: "UnknownOperationException", message, status: 400, namespace: CORAL_SERVICE })

export const internal = (message: string) => new AwsError({ code: "InternalServerError", message, status: 500 })

/** The JSON 1.0 body of an error. */
export const toJson = (error: AwsError): string =>
  JSON.stringify({ __type: `${error.namespace ?? DYNAMODB}#${error.code}`, message: error.message, ...error.fields })

const escapeXml = (text: string) =>
  text.replace(/[<>&'"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", "'": "&apos;", '"': "&quot;" })[c]!)

/** The XML body of an S3 error. */
export const toXml = (error: AwsError, requestId: string): string =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${escapeXml(error.code)}</Code><Message>${
    escapeXml(error.message)
  }</Message>${
    Object.entries(error.details ?? {}).map(([k, v]) => `<${k}>${escapeXml(v)}</${k}>`).join("")
  }<RequestId>${requestId}</RequestId></Error>`
