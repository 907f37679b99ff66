/**
 * The errors of the DynamoDB Streams API, with the codes and messages AWS sends.
 */
import * as AwsError from "../AwsError.ts"

export const streamNotFound = (streamArn: string) =>
  AwsError.resourceNotFound(`Requested resource not found: Stream: ${streamArn} not found`)

export const shardNotFound = () => AwsError.resourceNotFound("Requested resource not found: Shard does not exist")

export const invalidIterator = () => AwsError.validation("Invalid ShardIterator")

export const trimmed = () =>
  new AwsError.AwsError({
    code: "TrimmedDataAccessException",
    message: "The operation attempted to read past the oldest stream record in a shard.",
    status: 400
  })

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
const two = (n: number) => String(n).padStart(2, "0")

/** `Sun Oct 10 05:17:11 UTC 2021`, as the expiry message writes times. */
const javaDate = (ms: number): string => {
  const d = new Date(ms)
  return `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${two(d.getUTCDate())} ${two(d.getUTCHours())}:${
    two(d.getUTCMinutes())
  }:${two(d.getUTCSeconds())} UTC ${d.getUTCFullYear()}`
}

export const expired = (issuedMs: number, nowMs: number, ttlMs: number) =>
  new AwsError.AwsError({
    code: "ExpiredIteratorException",
    message: `Iterator expired. The iterator was created at time ${javaDate(issuedMs)} while right now it is ${
      javaDate(nowMs)
    } which is further in the future than the tolerated delay of ${ttlMs} milliseconds.`,
    status: 400
  })

/** AWS's message for a parameter that breaks a constraint. */
export const constraint = (field: string, value: unknown, rule: string) =>
  AwsError.validation(
    `1 validation error detected: Value ${
      value === undefined || value === null ? "null" : `'${String(value)}'`
    } at '${field}' failed to satisfy constraint: Member must ${rule}`
  )
