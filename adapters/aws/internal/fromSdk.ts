/**
 * Stream records from the SDK's shapes to the core's value model. A hot path: a hand-written walk, no Schema. The
 * SDK has already turned base64 into bytes (B, BS) and left numbers as text (N, NS); what it does not check, this
 * does (one type tag, valid numbers, non-empty sets without duplicates), and an answer that breaks a rule is an
 * `InvalidAttributeValue` naming the JSON path of the first violation, never a crash.
 */
import type { _Record, AttributeValue as SdkValue } from "@aws-sdk/client-dynamodb-streams"
import { Either } from "effect"
import type { AttributeValue, Item } from "../../../core/AttributeValue.ts"
import * as Base64 from "../../../core/Base64.ts"
import * as DynamoNumber from "../../../core/DynamoNumber.ts"
import { formatPath } from "../../../core/DynamoJson.ts"
import { InvalidAttributeValue } from "../../../core/Errors.ts"
import * as SequenceNumber from "../../../core/SequenceNumber.ts"
import type { KeySchema, KeyType } from "../../../core/ItemKey.ts"
import type { StreamRecord } from "../../../core/StreamSource.ts"

class Failure {
  readonly segments: Array<string | number> = []
  constructor(readonly reason: string) {}
}

const fail = (reason: string): never => {
  throw new Failure(reason)
}

/** Rethrows a failure from inside `segment`, adding it to the failure's path. */
const at = (error: unknown, segment: string | number): never => {
  if (error instanceof Failure) error.segments.push(segment)
  throw error
}

const within = <A>(segment: string | number, run: () => A): A => {
  try {
    return run()
  } catch (error) {
    return at(error, segment)
  }
}

const kind = (value: unknown): string =>
  value === null ? "null" : Array.isArray(value) ? "an array" : value instanceof Uint8Array ? "bytes" : typeof value

const string = (value: unknown): string =>
  typeof value === "string" ? value : fail(`expected a string, got ${kind(value)}`)

const number = (value: unknown): string => {
  if (typeof value !== "string") return fail(`expected a number as a string, got ${kind(value)}`)
  const problem = DynamoNumber.check(value)
  return problem === undefined ? value : fail(`the number ${problem}`)
}

const bytes = (value: unknown): Uint8Array =>
  value instanceof Uint8Array ? value : fail(`expected bytes, got ${kind(value)}`)

const SMALL_SET = 16

/** The elements of a set, each checked by `element` and distinct by `key`. */
const set = <A>(value: unknown, element: (value: unknown) => A, key: (a: A) => string): ReadonlyArray<A> => {
  if (!Array.isArray(value)) return fail(`expected an array, got ${kind(value)}`)
  if (value.length === 0) return fail("a set cannot be empty")
  const out = new Array<A>(value.length)
  const keys = new Array<string>(value.length)
  const seen = value.length > SMALL_SET ? new Set<string>() : undefined
  for (let i = 0; i < value.length; i++) {
    try {
      const a = element(value[i])
      const k = key(a)
      if (seen === undefined ? keys.includes(k) : seen.has(k)) {
        fail(`a set cannot hold duplicates: ${JSON.stringify(k)} is there twice`)
      }
      seen?.add(k)
      out[i] = a
      keys[i] = k
    } catch (error) {
      at(error, i)
    }
  }
  return out
}

const identity = (text: string) => text

const value = (input: unknown): AttributeValue => {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return fail(`expected an attribute value, got ${kind(input)}`)
  }
  let tag: string | undefined
  for (const key in input) {
    if ((input as Record<string, unknown>)[key] === undefined) continue
    if (tag !== undefined) return fail(`an attribute value has exactly one type tag, found ${tag} and ${key}`)
    tag = key
  }
  if (tag === undefined) return fail("an attribute value has exactly one type tag, found none")
  if (tag === "$unknown") {
    const unknown = (input as { readonly $unknown: unknown }).$unknown
    const name = Array.isArray(unknown) ? unknown[0] : tag
    return fail(`unknown type tag ${JSON.stringify(name)}: expected one of S, N, B, BOOL, NULL, M, L, SS, NS, BS`)
  }
  try {
    return decodePayload(tag, (input as Record<string, unknown>)[tag])
  } catch (error) {
    return at(error, tag)
  }
}

const decodePayload = (tag: string, inner: unknown): AttributeValue => {
  switch (tag) {
    case "S":
      return { _tag: "S", value: string(inner) }
    case "N":
      return { _tag: "N", value: number(inner) }
    case "B":
      return { _tag: "B", value: bytes(inner) }
    case "BOOL":
      return typeof inner === "boolean"
        ? { _tag: "BOOL", value: inner }
        : fail(`expected true or false, got ${kind(inner)}`)
    case "NULL":
      return inner === true ? { _tag: "NULL" } : fail(`NULL must be true, got ${kind(inner)}`)
    case "M":
      return { _tag: "M", value: item(inner) }
    case "L": {
      if (!Array.isArray(inner)) return fail(`expected an array, got ${kind(inner)}`)
      const out = new Array<AttributeValue>(inner.length)
      for (let i = 0; i < inner.length; i++) {
        try {
          out[i] = value(inner[i])
        } catch (error) {
          at(error, i)
        }
      }
      return { _tag: "L", value: out }
    }
    case "SS":
      return { _tag: "SS", value: set(inner, string, identity) }
    case "NS":
      return { _tag: "NS", value: set(inner, number, DynamoNumber.canonical) }
    case "BS":
      return { _tag: "BS", value: set(inner, bytes, Base64.encode) }
    default:
      return fail(`unknown type tag ${JSON.stringify(tag)}: expected one of S, N, B, BOOL, NULL, M, L, SS, NS, BS`)
  }
}

const item = (input: unknown): Item => {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return fail(`expected a map of attribute values, got ${kind(input)}`)
  }
  const out = new Map<string, AttributeValue>()
  for (const name of Object.keys(input)) {
    try {
      out.set(name, value((input as Record<string, SdkValue>)[name]))
    } catch (error) {
      at(error, name)
    }
  }
  return out
}

const EVENT_NAMES = new Set(["INSERT", "MODIFY", "REMOVE"])

const record = (input: _Record): StreamRecord => {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return fail(`expected a record, got ${kind(input)}`)
  }
  const data = input.dynamodb ?? fail("the record has no dynamodb field")
  const eventName = within("eventName", () => {
    const name = string(input.eventName)
    return EVENT_NAMES.has(name) ? name as StreamRecord["eventName"] : fail(`unknown event ${JSON.stringify(name)}`)
  })
  return within("dynamodb", () => {
    const sequenceNumber = within("SequenceNumber", () => {
      const text = string(data.SequenceNumber)
      return SequenceNumber.isSequenceNumber(text) ? text : fail(`${JSON.stringify(text)} is not a sequence number`)
    })
    const created = data.ApproximateCreationDateTime
    const approximateCreationTimeMs = within(
      "ApproximateCreationDateTime",
      () =>
        created instanceof Date && !Number.isNaN(created.getTime())
          ? created.getTime()
          : fail(`expected a time, got ${kind(created)}`)
    )
    const keys = within("Keys", () => item(data.Keys))
    const newImage = data.NewImage === undefined ? undefined : within("NewImage", () => item(data.NewImage))
    const oldImage = data.OldImage === undefined ? undefined : within("OldImage", () => item(data.OldImage))
    const identity = input.userIdentity
    return {
      eventId: within("eventID", () => string(input.eventID)),
      eventName,
      approximateCreationTimeMs,
      sequenceNumber,
      sizeBytes: typeof data.SizeBytes === "number" ? data.SizeBytes : 0,
      keys,
      ...(newImage === undefined ? {} : { newImage }),
      ...(oldImage === undefined ? {} : { oldImage }),
      ...(typeof identity?.Type !== "string" || typeof identity.PrincipalId !== "string"
        ? {}
        : { userIdentity: { type: identity.Type, principalId: identity.PrincipalId } })
    }
  })
}

/** The records of a GetRecords answer, or the first invalid value (its path from `$.Records`). */
export const records = (
  input: ReadonlyArray<_Record>
): Either.Either<ReadonlyArray<StreamRecord>, InvalidAttributeValue> => {
  const out = new Array<StreamRecord>(input.length)
  let i = 0
  try {
    for (; i < input.length; i++) out[i] = within("Records", () => within(i, () => record(input[i]!)))
  } catch (error) {
    // The walk recurses once per level of nesting: thousands of levels (DynamoDB allows 32) overflow the stack.
    if (error instanceof RangeError && /call stack/i.test(error.message)) {
      return Either.left(
        new InvalidAttributeValue({
          path: formatPath(["Records", i]),
          reason: "nested too deeply to decode; DynamoDB allows at most 32 levels of nesting"
        })
      )
    }
    if (!(error instanceof Failure)) throw error
    return Either.left(
      new InvalidAttributeValue({ path: formatPath([...error.segments].reverse()), reason: error.reason })
    )
  }
  return Either.right(out)
}

/**
 * A key schema from `KeySchema` (names and roles), with the types of `AttributeDefinitions` when given (DescribeStream
 * does not give them).
 */
export const keySchema = (
  elements:
    | ReadonlyArray<{ readonly AttributeName?: string | undefined; readonly KeyType?: string | undefined }>
    | undefined,
  types: ReadonlyMap<string, string> = new Map()
): KeySchema | undefined => {
  const attribute = (role: string) => {
    const name = elements?.find((element) => element.KeyType === role)?.AttributeName
    if (name === undefined) return undefined
    const type = types.get(name)
    return type === "S" || type === "N" || type === "B" ? { name, type: type as KeyType } : { name }
  }
  const hash = attribute("HASH"), range = attribute("RANGE")
  return hash === undefined ? undefined : range === undefined ? { hash } : { hash, range }
}
