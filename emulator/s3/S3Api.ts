/**
 * The S3 REST API, path-style (`/bucket/key`), over the in-memory `S3Store`: CreateBucket, HeadBucket,
 * GetBucketLocation, ListObjectsV2, GetObject (ranges), HeadObject, PutObject (conditional), DeleteObject and
 * DeleteBucket. Signatures are not checked; `aws-chunked` bodies are decoded. Every request goes to the request log
 * with the IAM action it needs.
 */
import { Effect } from "effect"
import * as Base64 from "../../core/Base64.ts"
import * as Md5 from "../../core/Md5.ts"
import { AwsError, toXml } from "../AwsError.ts"
import type { RequestLog, RestService } from "../Emulator.ts"
import type { EmulatorConfig } from "../EmulatorConfig.ts"
import { Faults } from "../Faults.ts"
import { empty, type EmulatorRequest, type EmulatorResponse, xml } from "../Http.ts"
import {
  DEFAULT_CONTENT_TYPE,
  type NoSuchBucket,
  type NoSuchKey,
  type PreconditionFailed,
  type S3Object,
  type S3Store
} from "./S3Store.ts"

const NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"
const LEGACY_REGION = "us-east-1"
const MAX_KEYS = 1000

/** Sub-resources of S3 that this emulator does not serve: a request naming one is answered 405. */
const UNSUPPORTED = new Set(
  ("accelerate acl analytics attributes cors delete encryption intelligent-tiering inventory legal-hold lifecycle "
    + "logging metrics notification object-lock ownershipControls partNumber policy policyStatus publicAccessBlock "
    + "replication requestPayment restore retention select session tagging torrent uploadId uploads versioning "
    + "versions website").split(" ")
)

interface Route {
  readonly action: string
  readonly resource?: string
  readonly run: Effect.Effect<EmulatorResponse, AwsError>
}

const error = (code: string, status: number, message: string, details?: Record<string, string>) =>
  new AwsError(details === undefined ? { code, status, message } : { code, status, message, details })

const noSuchBucket = (bucket: string) =>
  error("NoSuchBucket", 404, "The specified bucket does not exist", { BucketName: bucket })

const fromStore = (e: NoSuchBucket | NoSuchKey | PreconditionFailed): AwsError =>
  e._tag === "NoSuchBucket"
    ? noSuchBucket(e.bucket)
    : e._tag === "NoSuchKey"
    ? error("NoSuchKey", 404, "The specified key does not exist.", { Key: e.key })
    : error("PreconditionFailed", 412, "At least one of the pre-conditions you specified did not hold", {
      Condition: e.condition
    })

const invalidArgument = (message: string, name: string, value: string) =>
  error("InvalidArgument", 400, message, { ArgumentName: name, ArgumentValue: value })

const escapeXml = (text: string) =>
  text.replace(/[<>&'"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", "'": "&apos;", '"': "&quot;" })[c]!)

const element = (name: string, value: string | number | boolean | undefined): string =>
  value === undefined ? "" : `<${name}>${typeof value === "string" ? escapeXml(value) : String(value)}</${name}>`

const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'

/** RFC 1123, as HTTP dates go; S3 keeps whole seconds. */
const httpDate = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toUTCString()
const isoDate = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString()

/** S3's bucket naming rules for general purpose buckets. */
const validBucketName = (name: string) =>
  /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) && !name.includes("..") && !/^\d+\.\d+\.\d+\.\d+$/.test(name)
  && !name.startsWith("xn--") && !name.startsWith("sthree-") && !name.endsWith("-s3alias") && !name.endsWith("--ol-s3")

/** Continuation tokens are opaque to clients: the marker, as URL-safe base64 of its UTF-8 bytes. */
const encodeToken = (marker: string) =>
  Base64.encode(new TextEncoder().encode(marker)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")

const decodeToken = (token: string): string | undefined => {
  const standard = token.replace(/-/g, "+").replace(/_/g, "/")
  const bytes = Base64.decode(standard.padEnd(Math.ceil(standard.length / 4) * 4, "="))
  if (bytes === undefined || bytes.length === 0) return undefined
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes)
  } catch {
    return undefined
  }
}

const percentEscape = (c: string) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`

/** `encoding-type=url`: percent-encoded UTF-8, `/` kept, as S3 writes listed names. */
const urlEncode = (text: string) => encodeURIComponent(text).replace(/%2F/g, "/").replace(/[!'()*]/g, percentEscape)

/**
 * Decodes an `aws-chunked` body (`<hex size>[;chunk-signature=…]\r\n<bytes>\r\n` … `0…\r\n`, then trailers such as
 * `x-amz-checksum-crc32:…`), as the SDKs send streamed uploads. `undefined` when the framing is broken.
 */
const decodeAwsChunked = (body: Uint8Array): Uint8Array | undefined => {
  const parts: Array<Uint8Array> = []
  let position = 0, total = 0
  for (;;) {
    let end = position
    while (end + 1 < body.length && !(body[end] === 13 && body[end + 1] === 10)) end++
    if (end + 1 >= body.length) return undefined
    const header = new TextDecoder().decode(body.subarray(position, end))
    const sizeText = header.split(";")[0]!.trim()
    if (!/^[0-9a-fA-F]+$/.test(sizeText)) return undefined
    const size = parseInt(sizeText, 16)
    position = end + 2
    if (size === 0) break
    if (position + size + 2 > body.length || body[position + size] !== 13 || body[position + size + 1] !== 10) {
      return undefined
    }
    parts.push(body.subarray(position, position + size))
    total += size
    position += size + 2
  }
  const out = new Uint8Array(total)
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}

/** A `Range` header against an object's size: a span, `"unsatisfiable"`, or `undefined` to send the whole object. */
const parseRange = (
  header: string | undefined,
  size: number
): { readonly start: number; readonly end: number } | "unsatisfiable" | undefined => {
  const match = header === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(header.trim())
  if (match === null) return undefined
  const [, first, last] = match
  if (first === "" && last === "") return undefined
  if (first === "") {
    const suffix = Number(last)
    return suffix === 0 || size === 0 ? "unsatisfiable" : { start: Math.max(0, size - suffix), end: size - 1 }
  }
  const start = Number(first)
  if (last !== "" && Number(last) < start) return undefined
  if (start >= size) return "unsatisfiable"
  return { start, end: last === "" ? size - 1 : Math.min(Number(last), size - 1) }
}

const objectHeaders = (object: S3Object): Record<string, string> => ({
  "etag": object.etag,
  "last-modified": httpDate(object.lastModifiedMs),
  "content-type": object.contentType,
  "accept-ranges": "bytes"
})

export const make = (store: S3Store, log: RequestLog, config: EmulatorConfig, faults = new Faults()): RestService => {
  let requests = 0

  const createBucket = (request: EmulatorRequest, bucket: string) =>
    Effect.gen(function* () {
      if (!validBucketName(bucket)) {
        return yield* error("InvalidBucketName", 400, "The specified bucket is not valid.", { BucketName: bucket })
      }
      const body = new TextDecoder().decode(request.body)
      const constraint = /<LocationConstraint>([^<]*)<\/LocationConstraint>/.exec(body)?.[1]?.trim() || undefined
      if (constraint === LEGACY_REGION) {
        return yield* error("InvalidLocationConstraint", 400, "The specified location-constraint is not valid", {
          LocationConstraint: constraint
        })
      }
      if (!(yield* store.createBucket(bucket, constraint ?? config.region))) {
        // AWS: re-creating a bucket you own answers 200 in us-east-1 (legacy), 409 everywhere else.
        const existing = yield* Effect.mapError(store.getBucket(bucket), fromStore)
        if (existing.region !== LEGACY_REGION) {
          return yield* error(
            "BucketAlreadyOwnedByYou",
            409,
            "Your previous request to create the named bucket succeeded and you already own it.",
            { BucketName: bucket }
          )
        }
      }
      return empty(200, { location: `/${bucket}` })
    })

  const headBucket = (bucket: string) =>
    Effect.map(
      Effect.mapError(store.getBucket(bucket), fromStore),
      (info) => empty(200, { "x-amz-bucket-region": info.region })
    )

  const getBucketLocation = (bucket: string) =>
    Effect.map(Effect.mapError(store.getBucket(bucket), fromStore), (info) =>
      xml(
        `${XML_DECLARATION}${
          info.region === LEGACY_REGION
            ? `<LocationConstraint xmlns="${NAMESPACE}"/>`
            : `<LocationConstraint xmlns="${NAMESPACE}">${escapeXml(info.region)}</LocationConstraint>`
        }`
      ))

  const listObjectsV2 = (query: URLSearchParams, bucket: string) =>
    Effect.gen(function* () {
      const maxKeysText = query.get("max-keys")
      const requested = maxKeysText === null ? MAX_KEYS : Number(maxKeysText)
      if (maxKeysText !== null && (!/^\d+$/.test(maxKeysText) || requested > 2147483647)) {
        const message = "Provided max-keys not an integer or within integer range"
        return yield* invalidArgument(message, "max-keys", maxKeysText)
      }
      // S3 echoes the max-keys asked for but never sends more than 1000 keys.
      const maxKeys = Math.min(requested, MAX_KEYS)
      const token = query.get("continuation-token")
      const marker = token === null ? undefined : decodeToken(token)
      if (token !== null && marker === undefined) {
        return yield* invalidArgument("The continuation token provided is incorrect", "continuation-token", token)
      }
      const encodingType = query.get("encoding-type") ?? undefined
      if (encodingType !== undefined && encodingType !== "url") {
        return yield* invalidArgument("Invalid Encoding Method specified in Request", "encoding-type", encodingType)
      }
      const prefix = query.get("prefix") ?? ""
      const delimiter = query.get("delimiter") || undefined
      const startAfter = query.get("start-after") || undefined
      const after = marker ?? startAfter
      const page = yield* Effect.mapError(
        store.listObjects(bucket, {
          prefix,
          maxKeys,
          ...(delimiter === undefined ? {} : { delimiter }),
          ...(after === undefined ? {} : { after })
        }),
        fromStore
      )
      const name = (text: string) => encodingType === "url" ? urlEncode(text) : text
      const contents = page.contents.map((o) =>
        `<Contents>${element("Key", name(o.key))}${element("LastModified", isoDate(o.lastModifiedMs))}${
          element("ETag", o.etag)
        }${element("Size", o.size)}${element("StorageClass", "STANDARD")}</Contents>`
      )
      const commonPrefixes = page.commonPrefixes.map((p) =>
        `<CommonPrefixes>${element("Prefix", name(p))}</CommonPrefixes>`
      )
      return xml(
        `${XML_DECLARATION}<ListBucketResult xmlns="${NAMESPACE}">${element("Name", bucket)}${
          element("Prefix", name(prefix))
        }${element("Delimiter", delimiter === undefined ? undefined : name(delimiter))}${
          element("StartAfter", startAfter === undefined ? undefined : name(startAfter))
        }${element("ContinuationToken", token ?? undefined)}${
          element("NextContinuationToken", page.nextMarker === undefined ? undefined : encodeToken(page.nextMarker))
        }${element("KeyCount", page.contents.length + page.commonPrefixes.length)}${element("MaxKeys", requested)}${
          element("EncodingType", encodingType)
        }${element("IsTruncated", page.isTruncated)}${contents.join("")}${commonPrefixes.join("")}</ListBucketResult>`
      )
    })

  const getObject = (request: EmulatorRequest, bucket: string, key: string) =>
    Effect.flatMap(Effect.mapError(store.getObject(bucket, key), fromStore), (object) => {
      const range = parseRange(request.headers["range"], object.size)
      if (range === "unsatisfiable") {
        return Effect.fail(
          error("InvalidRange", 416, "The requested range is not satisfiable", {
            RangeRequested: request.headers["range"]!,
            ActualObjectSize: String(object.size)
          })
        )
      }
      if (range === undefined) {
        return Effect.succeed<EmulatorResponse>({
          status: 200,
          headers: { ...objectHeaders(object), "content-length": String(object.size) },
          body: object.bytes
        })
      }
      return Effect.succeed<EmulatorResponse>({
        status: 206,
        headers: {
          ...objectHeaders(object),
          "content-length": String(range.end - range.start + 1),
          "content-range": `bytes ${range.start}-${range.end}/${object.size}`
        },
        body: object.bytes.subarray(range.start, range.end + 1)
      })
    })

  const putObject = (request: EmulatorRequest, bucket: string, key: string) =>
    Effect.gen(function* () {
      const headers = request.headers
      const chunked = (headers["content-encoding"] ?? "").split(",").some((e) => e.trim() === "aws-chunked")
        || (headers["x-amz-content-sha256"] ?? "").startsWith("STREAMING-")
      const bytes = chunked ? decodeAwsChunked(request.body) : request.body
      const declared = headers["x-amz-decoded-content-length"]
      if (bytes === undefined || (chunked && declared !== undefined && Number(declared) !== bytes.length)) {
        return yield* error("IncompleteBody", 400, "The request body terminated unexpectedly")
      }
      const contentMd5 = headers["content-md5"]
      if (contentMd5 !== undefined) {
        const expected = Base64.decode(contentMd5.trim())
        if (expected === undefined || expected.length !== 16) {
          return yield* error("InvalidDigest", 400, "The Content-MD5 you specified was not valid.", {
            "Content-MD5": contentMd5
          })
        }
        if (Md5.toHex(expected) !== Md5.toHex(Md5.digest(bytes))) {
          return yield* error("BadDigest", 400, "The Content-MD5 you specified did not match what we received.")
        }
      }
      const ifNoneMatch = headers["if-none-match"]
      if (ifNoneMatch !== undefined && ifNoneMatch.trim() !== "*") {
        const message = "A header you provided implies functionality that is not implemented"
        return yield* error("NotImplemented", 501, message, { Header: "If-None-Match" })
      }
      const ifMatch = headers["if-match"]
      const etag = yield* Effect.mapError(
        store.putObject(bucket, key, bytes, headers["content-type"] || DEFAULT_CONTENT_TYPE, {
          ...(ifMatch === undefined ? {} : { ifMatch }),
          ...(ifNoneMatch === undefined ? {} : { ifNoneMatch: "*" as const })
        }),
        fromStore
      )
      return empty(200, { etag })
    })

  const deleteObject = (bucket: string, key: string) =>
    Effect.as(Effect.mapError(store.deleteObject(bucket, key), fromStore), empty(204))

  const deleteBucket = (bucket: string) =>
    Effect.as(
      Effect.mapError(store.deleteBucket(bucket), (e) =>
        e._tag === "NoSuchBucket"
          ? noSuchBucket(bucket)
          : error("BucketNotEmpty", 409, "The bucket you tried to delete is not empty", { BucketName: bucket })),
      empty(204)
    )

  const route = (request: EmulatorRequest): Route => {
    const slash = request.path.indexOf("/", 1)
    const bucket = slash < 0 ? request.path.slice(1) : request.path.slice(1, slash)
    const key = slash < 0 ? "" : request.path.slice(slash + 1)
    const method = request.method
    const unsupported = [...request.query.keys()].some((name) => UNSUPPORTED.has(name))
    const notAllowed = (resource: string | undefined, type: string): Route => ({
      action: "s3:UnsupportedOperation",
      ...(resource === undefined ? {} : { resource }),
      run: Effect.fail(
        error("MethodNotAllowed", 405, "The specified method is not allowed against this resource.", {
          Method: method,
          ResourceType: type
        })
      )
    })
    if (bucket === "") return notAllowed(undefined, "SERVICE")
    if (key === "") {
      const resource = `arn:aws:s3:::${bucket}`
      if (unsupported || request.headers["x-amz-copy-source"] !== undefined) return notAllowed(resource, "BUCKET")
      if (method === "PUT") return { action: "s3:CreateBucket", resource, run: createBucket(request, bucket) }
      if (method === "HEAD") return { action: "s3:ListBucket", resource, run: headBucket(bucket) }
      if (method === "DELETE") return { action: "s3:DeleteBucket", resource, run: deleteBucket(bucket) }
      if (method === "GET" && request.query.has("location")) {
        return { action: "s3:GetBucketLocation", resource, run: getBucketLocation(bucket) }
      }
      if (method === "GET" && request.query.get("list-type") === "2") {
        return { action: "s3:ListBucket", resource, run: listObjectsV2(request.query, bucket) }
      }
      return notAllowed(resource, "BUCKET")
    }
    const resource = `arn:aws:s3:::${bucket}/${key}`
    if (unsupported || request.headers["x-amz-copy-source"] !== undefined) return notAllowed(resource, "OBJECT")
    if (method === "GET" || method === "HEAD") {
      return { action: "s3:GetObject", resource, run: getObject(request, bucket, key) }
    }
    if (method === "PUT") return { action: "s3:PutObject", resource, run: putObject(request, bucket, key) }
    if (method === "DELETE") return { action: "s3:DeleteObject", resource, run: deleteObject(bucket, key) }
    return notAllowed(resource, "OBJECT")
  }

  return (request) =>
    Effect.suspend(() => {
      const requestId = (++requests).toString(16).toUpperCase().padStart(16, "0")
      const { action, resource, run } = route(request)
      const entry = resource === undefined ? { action } : { action, resource }
      const ids = { "x-amz-request-id": requestId, "x-amz-id-2": requestId, "x-amzn-requestid": requestId }
      return Effect.zipRight(faults.check(action, "s3"), run).pipe(
        Effect.catchAllDefect((defect) =>
          Effect.fail(error("InternalError", 500, `internal error: ${String(defect)}`))
        ),
        Effect.map((response) => {
          log.add({ ...entry, status: response.status })
          return { ...response, headers: { ...response.headers, ...ids } }
        }),
        Effect.catchAll((e) => {
          log.add({ ...entry, status: e.status, errorCode: e.code })
          // HEAD answers carry no body; S3 leaves the error code out of them too.
          return Effect.succeed(
            request.method === "HEAD" ? empty(e.status, ids) : xml(
              toXml(e, requestId),
              e.status,
              e.code === "InvalidRange"
                ? { ...ids, "content-range": `bytes */${e.details?.["ActualObjectSize"] ?? "*"}` }
                : ids
            )
          )
        })
      )
    })
}
