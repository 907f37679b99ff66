/**
 * The two conversions at the AWS boundary, on their own: SDK exceptions to core errors (including those no server
 * here can be made to send: AccessDenied, credentials, network failures) and SDK stream records to the value model
 * (including values no server sends).
 */
import type { _Record } from "@aws-sdk/client-dynamodb-streams"
import {
  DynamoDBStreamsServiceException,
  ExpiredIteratorException,
  LimitExceededException,
  ResourceNotFoundException,
  TrimmedDataAccessException
} from "@aws-sdk/client-dynamodb-streams"
import { DynamoDBServiceException } from "@aws-sdk/client-dynamodb"
import { NoSuchBucket, NoSuchKey, S3ServiceException } from "@aws-sdk/client-s3"
import { assert, describe, it } from "@effect/vitest"
import { Either } from "effect"
import {
  type Call,
  toObjectStoreError,
  toPutError,
  toServiceError,
  toStreamSourceError
} from "../../adapters/aws/internal/errors.ts"
import * as FromSdk from "../../adapters/aws/internal/fromSdk.ts"
import * as A from "../../core/AttributeValue.ts"

const metadata = (httpStatusCode: number) => ({ httpStatusCode })
const streams = (name: string, status = 400) =>
  new DynamoDBStreamsServiceException({ name, $fault: "client", $metadata: metadata(status), message: `${name}!` })
const dynamodb = (name: string, status = 400) =>
  new DynamoDBServiceException({ name, $fault: "client", $metadata: metadata(status), message: `${name}!` })
const s3 = (name: string, status: number) =>
  new S3ServiceException({ name, $fault: status >= 500 ? "server" : "client", $metadata: metadata(status) })

const getRecords: Call = { action: "dynamodb:GetRecords", resource: "shard", name: "(the iterator's shard)" }
const getIterator: Call = {
  action: "dynamodb:GetShardIterator",
  resource: "stream",
  name: "arn:stream",
  shardId: "shardId-1"
}
const getObject: Call = { action: "s3:GetObject", resource: "object", name: "dir/key", bucket: "bucket" }

describe("SDK errors to core errors", () => {
  it("maps the Streams exceptions by name", () => {
    const expired = new ExpiredIteratorException({ $metadata: metadata(400), message: "Iterator expired" })
    assert.include(toStreamSourceError(getRecords, expired), { _tag: "ExpiredIterator", reason: "Iterator expired" })
    const trimmed = new TrimmedDataAccessException({ $metadata: metadata(400), message: "trimmed" })
    assert.include(toStreamSourceError(getIterator, trimmed), { _tag: "TrimmedData", shardId: "shardId-1" })
    const limit = new LimitExceededException({ $metadata: metadata(400), message: "Rate exceeded" })
    assert.include(toStreamSourceError(getRecords, limit), { _tag: "Throttled", action: "dynamodb:GetRecords" })
    const stream = new ResourceNotFoundException({ $metadata: metadata(400), message: "Stream: arn:stream not found" })
    assert.include(toStreamSourceError(getIterator, stream), {
      _tag: "NotFound",
      resource: "stream",
      name: "arn:stream"
    })
    const shard = new ResourceNotFoundException({ $metadata: metadata(400), message: "Shard does not exist" })
    assert.include(toStreamSourceError(getIterator, shard), { _tag: "NotFound", resource: "shard", name: "shardId-1" })
  })

  it("names the IAM action an AccessDenied refused", () => {
    const denied = toServiceError(getRecords, streams("AccessDeniedException"))
    assert.include(denied, { _tag: "AccessDenied", action: "dynamodb:GetRecords" })
    assert.include(denied.message, "add dynamodb:GetRecords to the policy")
    const listing: Call = { action: "s3:ListBucket", resource: "bucket", name: "bucket", bucket: "bucket" }
    assert.include(toObjectStoreError(listing, s3("AccessDenied", 403)), {
      _tag: "AccessDenied",
      action: "s3:ListBucket"
    })
    assert.include(toPutError({ ...getObject, action: "s3:PutObject" }, undefined, s3("AccessDenied", 403)), {
      _tag: "AccessDenied",
      action: "s3:PutObject"
    })
  })

  it("maps throttling, not-found and refusals of DynamoDB's control plane", () => {
    const call: Call = { action: "dynamodb:ListExports", resource: "table", name: "arn:table" }
    for (const name of ["ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded"]) {
      assert.include(toServiceError(call, dynamodb(name)), { _tag: "Throttled" }, name)
    }
    assert.include(toServiceError(call, dynamodb("TableNotFoundException")), { _tag: "NotFound", resource: "table" })
    assert.include(toServiceError(call, dynamodb("ExportNotFoundException")), { _tag: "NotFound", resource: "export" })
    for (
      const code of [
        "ValidationException",
        "PointInTimeRecoveryUnavailableException",
        "InvalidExportTimeException",
        "ExportConflictException"
      ]
    ) {
      assert.include(toServiceError(call, dynamodb(code)), { _tag: "InvalidRequest", code }, code)
    }
    assert.include(toServiceError(call, dynamodb("UnrecognizedClientException")), {
      _tag: "InvalidRequest",
      code: "UnrecognizedClientException"
    })
  })

  it("treats 5xx, network failures and the unexplained as Unavailable; a missing configuration as InvalidRequest", () => {
    assert.include(toServiceError(getRecords, streams("InternalServerError", 500)), { _tag: "Unavailable" })
    assert.include(toServiceError(getRecords, dynamodb("Unknown", 502)), { _tag: "Unavailable" })
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" })
    const unavailable = toServiceError(getRecords, refused)
    assert.include(unavailable, { _tag: "Unavailable" })
    assert.include(unavailable.message, "ECONNREFUSED")
    assert.include(toServiceError(getRecords, "a string"), { _tag: "Unavailable" })
    const noCredentials = Object.assign(new Error("Could not load credentials"), { name: "CredentialsProviderError" })
    assert.include(toServiceError(getRecords, noCredentials), { _tag: "InvalidRequest" })
    assert.include(toServiceError(getRecords, new Error("Region is missing")), {
      _tag: "InvalidRequest",
      code: "RegionMissing"
    })
  })

  it("maps S3's answers: NoSuchKey, NoSuchBucket, SlowDown, conditional writes", () => {
    const noKey = new NoSuchKey({ $metadata: metadata(404), message: "The specified key does not exist." })
    assert.deepStrictEqual(toObjectStoreError(getObject, noKey)._tag, "ObjectNotFound")
    const noBucket = new NoSuchBucket({ $metadata: metadata(404), message: "no bucket" })
    assert.include(toObjectStoreError(getObject, noBucket), { _tag: "NotFound", resource: "bucket", name: "bucket" })
    assert.include(toObjectStoreError(getObject, s3("SlowDown", 503)), { _tag: "Throttled" })
    assert.include(toObjectStoreError(getObject, s3("InternalError", 500)), { _tag: "Unavailable" })
    const put: Call = { ...getObject, action: "s3:PutObject" }
    assert.include(toPutError(put, "If-None-Match: *", s3("PreconditionFailed", 412)), {
      _tag: "PreconditionFailed",
      key: "dir/key"
    })
    assert.include(toPutError(put, "If-None-Match: *", s3("ConditionalRequestConflict", 409)), {
      _tag: "PreconditionFailed"
    })
    assert.include(toPutError(put, 'If-Match: "abc"', noKey), { _tag: "PreconditionFailed" })
    assert.include(toPutError(put, undefined, noKey), { _tag: "ObjectNotFound" })
  })
})

const record = (image: Record<string, unknown>, overrides: Partial<_Record> = {}): _Record => ({
  eventID: "1",
  eventName: "INSERT",
  dynamodb: {
    ApproximateCreationDateTime: new Date(1_700_000_000_000),
    SequenceNumber: "100000000000000000001",
    SizeBytes: 10,
    Keys: { pk: { S: "a" } },
    NewImage: image as never
  },
  ...overrides
})

const invalid = (image: Record<string, unknown>, overrides: Partial<_Record> = {}) => {
  const result = FromSdk.records([record({ pk: { S: "a" } }), record(image, overrides)])
  assert.isTrue(Either.isLeft(result), JSON.stringify(image))
  return Either.getLeft(result).pipe((o) => o._tag === "Some" ? o.value : assert.fail("no error"))
}

describe("SDK stream records to the value model", () => {
  it("converts every type, the record's fields and the TTL identity", () => {
    const bytes = Uint8Array.of(0, 255, 7)
    const result = FromSdk.records([
      record({
        pk: { S: "a" },
        n: { N: "-1.5E-130" },
        b: { B: bytes },
        t: { BOOL: true },
        z: { NULL: true },
        m: { M: { l: { L: [{ SS: ["x", "y"] }, { NS: ["1", "2"] }, { BS: [bytes, Uint8Array.of(1)] }] } } }
      }, { eventName: "REMOVE", userIdentity: { Type: "Service", PrincipalId: "dynamodb.amazonaws.com" } })
    ])
    assert.isTrue(Either.isRight(result))
    const [converted] = Either.getOrThrow(result)
    assert.strictEqual(converted!.eventName, "REMOVE")
    assert.strictEqual(converted!.approximateCreationTimeMs, 1_700_000_000_000)
    assert.strictEqual(converted!.sequenceNumber, "100000000000000000001")
    assert.deepStrictEqual(converted!.userIdentity, { type: "Service", principalId: "dynamodb.amazonaws.com" })
    assert.isTrue(A.itemEquals(converted!.keys, A.item({ pk: A.s("a") })))
    assert.isTrue(A.itemEquals(
      converted!.newImage!,
      A.item({
        pk: A.s("a"),
        n: A.n("-1.5E-130"),
        b: A.b(bytes),
        t: A.bool(true),
        z: A.nul,
        m: A.m(A.item({ l: A.l([A.ss(["x", "y"]), A.ns(["1", "2"]), A.bs([bytes, Uint8Array.of(1)])]) }))
      })
    ))
  })

  it("answers an invalid value with its path, never a crash", () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ n: { N: "1e400" } }, "$.Records[1].dynamodb.NewImage.n.N"],
      [{ n: { N: 12 } }, "$.Records[1].dynamodb.NewImage.n.N"],
      [{ s: { SS: [] } }, "$.Records[1].dynamodb.NewImage.s.SS"],
      [{ s: { NS: ["1", "1.0"] } }, "$.Records[1].dynamodb.NewImage.s.NS[1]"],
      [{ s: { BS: [Uint8Array.of(1), Uint8Array.of(1)] } }, "$.Records[1].dynamodb.NewImage.s.BS[1]"],
      [{ two: { S: "a", N: "1" } }, "$.Records[1].dynamodb.NewImage.two"],
      [{ none: {} }, "$.Records[1].dynamodb.NewImage.none"],
      [{ odd: { $unknown: ["X", 1] } }, "$.Records[1].dynamodb.NewImage.odd"],
      [{ b: { B: "not bytes" } }, "$.Records[1].dynamodb.NewImage.b.B"],
      [{ m: { M: { l: { L: [{ NULL: false }] } } } }, "$.Records[1].dynamodb.NewImage.m.M.l.L[0].NULL"],
      [{ "odd name": { BOOL: "yes" } }, '$.Records[1].dynamodb.NewImage["odd name"].BOOL']
    ]
    for (const [image, path] of cases) {
      const error = invalid(image)
      assert.strictEqual(error._tag, "InvalidAttributeValue")
      assert.strictEqual(error.path, path, JSON.stringify(image))
    }
    assert.strictEqual(invalid({}, { eventName: "UPSERT" as never }).path, "$.Records[1].eventName")
    const noSequence = invalid({}, {
      dynamodb: { Keys: { pk: { S: "a" } }, SequenceNumber: "12", ApproximateCreationDateTime: new Date(0) }
    })
    assert.strictEqual(noSequence.path, "$.Records[1].dynamodb.SequenceNumber")
  })
})
