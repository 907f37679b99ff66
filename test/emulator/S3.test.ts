import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetBucketLocationCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
  PutObjectTaggingCommand,
  S3Client,
  type S3ServiceException
} from "@aws-sdk/client-s3"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Scope, TestClock } from "effect"
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Readable } from "node:stream"
import { afterAll, beforeAll } from "vitest"
import * as Md5 from "../../core/Md5.ts"
import { Emulator, RequestLog } from "../../emulator/Emulator.ts"
import { EmulatorClock } from "../../emulator/EmulatorClock.ts"
import * as EmulatorConfig from "../../emulator/EmulatorConfig.ts"
import * as NodeServer from "../../emulator/NodeServer.ts"
import * as S3Api from "../../emulator/s3/S3Api.ts"
import { compareUtf8, S3Store } from "../../emulator/s3/S3Store.ts"

let scope: Scope.CloseableScope
let store: S3Store
let log: RequestLog
let endpoint: string
let s3: S3Client

beforeAll(async () => {
  scope = await Effect.runPromise(Scope.make())
  const clock = await Effect.runPromise(EmulatorClock.make("real"))
  const config = EmulatorConfig.make()
  log = new RequestLog(clock)
  store = new S3Store()
  const emulator = new Emulator(config, clock, log, {
    dynamodb: {},
    streams: {},
    s3: S3Api.make(store, log, config),
    admin: {}
  })
  endpoint = (await Effect.runPromise(Scope.extend(NodeServer.serve(emulator), scope))).url
  s3 = new S3Client({
    endpoint,
    forcePathStyle: true,
    region: "us-east-1",
    credentials: { accessKeyId: "x", secretAccessKey: "x" },
    maxAttempts: 1
  })
})

afterAll(async () => {
  s3?.destroy()
  if (scope !== undefined) await Effect.runPromise(Scope.close(scope, Exit.void))
})

const text = new TextEncoder()
const etagOf = (bytes: Uint8Array | string) =>
  `"${Md5.toHex(Md5.digest(typeof bytes === "string" ? text.encode(bytes) : bytes))}"`

/** The SDK error a call fails with: its code (`name`), HTTP status and the rest of S3's error body. */
const failure = async (call: Promise<unknown>) => {
  try {
    await call
  } catch (e) {
    const error = e as S3ServiceException & Record<string, unknown>
    return { name: error.name, status: error.$metadata?.httpStatusCode, error }
  }
  throw new Error("expected the call to fail")
}

const bucket = async (name: string, location?: string) => {
  await s3.send(
    new CreateBucketCommand({
      Bucket: name,
      ...(location === undefined ? {} : { CreateBucketConfiguration: { LocationConstraint: location as "eu-west-1" } })
    })
  )
  return name
}

const body = async (bucketName: string, key: string, range?: string) => {
  const output = await s3.send(
    new GetObjectCommand({ Bucket: bucketName, Key: key, ...(range === undefined ? {} : { Range: range }) })
  )
  return { output, text: new TextDecoder().decode(await output.Body!.transformToByteArray()) }
}

/** Every page of a listing, following NextContinuationToken. */
const pages = async (input: ConstructorParameters<typeof ListObjectsV2Command>[0]) => {
  const all: Array<ListObjectsV2CommandOutput> = []
  let token: string | undefined
  do {
    const page = await s3.send(new ListObjectsV2Command({ ...input, ...(token ? { ContinuationToken: token } : {}) }))
    all.push(page)
    token = page.NextContinuationToken
  } while (token !== undefined)
  return all
}

describe("S3 buckets", () => {
  it("creates, heads and locates buckets; re-creating one is 200 in us-east-1 (legacy), 409 elsewhere", async () => {
    await bucket("alpha")
    await s3.send(new CreateBucketCommand({ Bucket: "alpha" }))
    const head = await s3.send(new HeadBucketCommand({ Bucket: "alpha" }))
    assert.strictEqual(head.$metadata.httpStatusCode, 200)
    assert.strictEqual(head.BucketRegion, "us-east-1")
    assert.strictEqual((await s3.send(new GetBucketLocationCommand({ Bucket: "alpha" }))).LocationConstraint, undefined)

    await bucket("europe", "eu-west-1")
    assert.strictEqual(
      (await s3.send(new GetBucketLocationCommand({ Bucket: "europe" }))).LocationConstraint,
      "eu-west-1"
    )
    const again = await failure(bucket("europe", "eu-west-1"))
    assert.deepStrictEqual([again.name, again.status], ["BucketAlreadyOwnedByYou", 409])
    assert.strictEqual(again.error["BucketName"], "europe")
    assert.isTrue(await Effect.runPromise(store.hasBucket("europe")))
  })

  it("rejects invalid names and answers for missing buckets", async () => {
    for (const name of ["ab", "Upper-case", "has_underscore", "-leading", "two..dots", "192.168.1.1"]) {
      const invalid = await failure(s3.send(new CreateBucketCommand({ Bucket: name })))
      assert.deepStrictEqual([invalid.name, invalid.status], ["InvalidBucketName", 400], name)
    }
    const head = await failure(s3.send(new HeadBucketCommand({ Bucket: "missing" })))
    assert.deepStrictEqual([head.name, head.status], ["NotFound", 404])
    for (
      const call of [
        () => s3.send(new GetBucketLocationCommand({ Bucket: "missing" })),
        () => s3.send(new ListObjectsV2Command({ Bucket: "missing" })),
        () => s3.send(new GetObjectCommand({ Bucket: "missing", Key: "k" })),
        () => s3.send(new PutObjectCommand({ Bucket: "missing", Key: "k", Body: "x" })),
        () => s3.send(new DeleteObjectCommand({ Bucket: "missing", Key: "k" })),
        () => s3.send(new DeleteBucketCommand({ Bucket: "missing" }))
      ]
    ) {
      const missing = await failure(call())
      assert.deepStrictEqual([missing.name, missing.status, missing.error["BucketName"]], [
        "NoSuchBucket",
        404,
        "missing"
      ])
    }
  })

  it("deletes only empty buckets", async () => {
    await bucket("doomed")
    await s3.send(new PutObjectCommand({ Bucket: "doomed", Key: "k", Body: "x" }))
    const full = await failure(s3.send(new DeleteBucketCommand({ Bucket: "doomed" })))
    assert.deepStrictEqual([full.name, full.status], ["BucketNotEmpty", 409])
    const deleted = await s3.send(new DeleteObjectCommand({ Bucket: "doomed", Key: "k" }))
    assert.strictEqual(deleted.$metadata.httpStatusCode, 204)
    assert.strictEqual((await s3.send(new DeleteBucketCommand({ Bucket: "doomed" }))).$metadata.httpStatusCode, 204)
    assert.strictEqual((await failure(s3.send(new HeadBucketCommand({ Bucket: "doomed" })))).status, 404)
  })
})

describe("S3 objects", () => {
  it("puts bytes, strings and aws-chunked streams, and gets them back with S3's headers", async () => {
    await bucket("objects")
    const bytes = Uint8Array.from({ length: 300 }, (_, i) => i % 256)
    const put = await s3.send(new PutObjectCommand({ Bucket: "objects", Key: "bytes.bin", Body: bytes }))
    assert.strictEqual(put.ETag, etagOf(bytes))
    await s3.send(
      new PutObjectCommand({ Bucket: "objects", Key: "text.json", Body: '{"a": "é"}', ContentType: "application/json" })
    )
    // A stream body with a known length goes out as aws-chunked with a checksum trailer.
    const chunks = ["first chunk,", " second chunk,", " third"]
    const streamed = await s3.send(
      new PutObjectCommand({
        Bucket: "objects",
        Key: "streamed.txt",
        Body: Readable.from(chunks.map((c) => Buffer.from(c))),
        ContentLength: chunks.join("").length
      })
    )
    assert.strictEqual(streamed.ETag, etagOf(chunks.join("")))
    assert.strictEqual((await body("objects", "streamed.txt")).text, chunks.join(""))

    const got = await s3.send(new GetObjectCommand({ Bucket: "objects", Key: "bytes.bin" }))
    assert.deepStrictEqual(await got.Body!.transformToByteArray(), bytes)
    assert.strictEqual(got.ETag, etagOf(bytes))
    assert.strictEqual(got.ContentLength, 300)
    assert.strictEqual(got.ContentType, "application/octet-stream")
    assert.strictEqual(got.AcceptRanges, "bytes")
    assert.instanceOf(got.LastModified, Date)
    assert.isBelow(Math.abs(got.LastModified!.getTime() - Date.now()), 5_000)

    const json = await body("objects", "text.json")
    assert.strictEqual(json.text, '{"a": "é"}')
    assert.strictEqual(json.output.ContentType, "application/json")
    const head = await s3.send(new HeadObjectCommand({ Bucket: "objects", Key: "text.json" }))
    assert.deepStrictEqual(
      [head.ContentLength, head.ETag, head.ContentType],
      [text.encode('{"a": "é"}').length, etagOf('{"a": "é"}'), "application/json"]
    )
    const stored = await Effect.runPromise(store.getObject("objects", "text.json"))
    assert.strictEqual(stored.etag, head.ETag)
  })

  it("answers NoSuchKey for GET and a bodiless 404 for HEAD on a missing key; DELETE is 204 either way", async () => {
    await bucket("missing-keys")
    const get = await failure(s3.send(new GetObjectCommand({ Bucket: "missing-keys", Key: "nope/key" })))
    assert.deepStrictEqual([get.name, get.status, get.error["Key"]], ["NoSuchKey", 404, "nope/key"])
    const head = await failure(s3.send(new HeadObjectCommand({ Bucket: "missing-keys", Key: "nope" })))
    assert.deepStrictEqual([head.name, head.status], ["NotFound", 404])
    const deleted = await s3.send(new DeleteObjectCommand({ Bucket: "missing-keys", Key: "nope" }))
    assert.strictEqual(deleted.$metadata.httpStatusCode, 204)
  })

  it("serves byte ranges: 206 with Content-Range, clamped ends, suffixes; 416 when unsatisfiable", async () => {
    await bucket("ranges")
    await s3.send(new PutObjectCommand({ Bucket: "ranges", Key: "digits", Body: "0123456789" }))
    await s3.send(new PutObjectCommand({ Bucket: "ranges", Key: "empty", Body: new Uint8Array(0) }))
    const cases: Array<[string, string, string]> = [
      ["bytes=2-5", "2345", "bytes 2-5/10"],
      ["bytes=7-", "789", "bytes 7-9/10"],
      ["bytes=-3", "789", "bytes 7-9/10"],
      ["bytes=-20", "0123456789", "bytes 0-9/10"],
      ["bytes=5-100", "56789", "bytes 5-9/10"],
      ["bytes=9-9", "9", "bytes 9-9/10"]
    ]
    for (const [range, expected, contentRange] of cases) {
      const { output, text: got } = await body("ranges", "digits", range)
      assert.deepStrictEqual(
        [output.$metadata.httpStatusCode, got, output.ContentRange, output.ContentLength],
        [206, expected, contentRange, expected.length],
        range
      )
    }
    const ignored = await body("ranges", "digits", "bytes=5-2")
    assert.deepStrictEqual([ignored.output.$metadata.httpStatusCode, ignored.text], [200, "0123456789"])
    for (
      const [key, range] of [["digits", "bytes=10-"], ["digits", "bytes=10-20"], ["digits", "bytes=-0"], [
        "empty",
        "bytes=0-"
      ]]
    ) {
      const unsatisfiable = await failure(body("ranges", key!, range))
      assert.deepStrictEqual([unsatisfiable.name, unsatisfiable.status], ["InvalidRange", 416], range)
    }
    const head = await s3.send(new HeadObjectCommand({ Bucket: "ranges", Key: "digits", Range: "bytes=0-3" }))
    assert.deepStrictEqual([head.$metadata.httpStatusCode, head.ContentLength, head.ContentRange], [
      206,
      4,
      "bytes 0-3/10"
    ])
  })

  it("writes conditionally (If-None-Match *, If-Match), leaving the object alone when a condition fails", async () => {
    await bucket("conditional")
    const put = (Body: string, condition: { IfMatch?: string; IfNoneMatch?: string }) =>
      s3.send(new PutObjectCommand({ Bucket: "conditional", Key: "lock", Body, ...condition }))
    const first = await put("v1", { IfNoneMatch: "*" })
    assert.strictEqual(first.ETag, etagOf("v1"))
    const exists = await failure(put("v2", { IfNoneMatch: "*" }))
    assert.deepStrictEqual([exists.name, exists.status, exists.error["Condition"]], [
      "PreconditionFailed",
      412,
      "If-None-Match"
    ])
    const second = await put("v2", { IfMatch: first.ETag! })
    assert.strictEqual(second.ETag, etagOf("v2"))
    const stale = await failure(put("v3", { IfMatch: first.ETag! }))
    assert.deepStrictEqual([stale.name, stale.status, stale.error["Condition"]], [
      "PreconditionFailed",
      412,
      "If-Match"
    ])
    assert.strictEqual((await body("conditional", "lock")).text, "v2")
    // AWS answers If-Match on a missing key with 404 NoSuchKey (S3 user guide, "Conditional write behavior").
    const missing = await failure(
      s3.send(new PutObjectCommand({ Bucket: "conditional", Key: "absent", Body: "x", IfMatch: first.ETag! }))
    )
    assert.deepStrictEqual([missing.name, missing.status], ["NoSuchKey", 404])
    assert.isFalse((await Effect.runPromise(store.listKeys("conditional"))).includes("absent"))
    const racers = await Promise.allSettled(
      Array.from(
        { length: 10 },
        (_, i) =>
          s3.send(new PutObjectCommand({ Bucket: "conditional", Key: "race", Body: `racer ${i}`, IfNoneMatch: "*" }))
      )
    )
    assert.strictEqual(racers.filter((r) => r.status === "fulfilled").length, 1)
  })

  it("keeps keys with spaces, +, %, unicode and XML characters intact, listed in UTF-8 byte order", async () => {
    await bucket("unicode")
    const keys = [
      "plain",
      "with space",
      "plus+sign",
      "per%cent",
      "per%2Fcent",
      "é",
      "日本語/キー",
      "emoji 😀",
      "\uFFFD replacement",
      "\uE000 private use",
      "xml <&> \"quoted\" 'apos'",
      "what?#hash",
      "double//slash",
      "/leading",
      "~tilde"
    ]
    for (const key of keys) await s3.send(new PutObjectCommand({ Bucket: "unicode", Key: key, Body: key }))
    for (const key of keys) assert.strictEqual((await body("unicode", key)).text, key)
    const sorted = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    assert.deepStrictEqual([...keys].sort(compareUtf8), sorted)
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: "unicode" }))
    assert.deepStrictEqual(listed.Contents!.map((c) => c.Key), sorted)
    assert.deepStrictEqual(listed.Contents!.map((c) => c.ETag), sorted.map(etagOf))
    const percent = await s3.send(new ListObjectsV2Command({ Bucket: "unicode", Prefix: "per%" }))
    assert.deepStrictEqual(percent.Contents!.map((c) => c.Key), ["per%2Fcent", "per%cent"])
    const encoded = await s3.send(new ListObjectsV2Command({ Bucket: "unicode", EncodingType: "url", Prefix: "p" }))
    assert.strictEqual(encoded.EncodingType, "url")
    assert.deepStrictEqual(encoded.Contents!.map((c) => c.Key), ["per%252Fcent", "per%25cent", "plain", "plus%2Bsign"])
    const delimited = await s3.send(
      new ListObjectsV2Command({ Bucket: "unicode", Delimiter: "/", EncodingType: "url" })
    )
    assert.deepStrictEqual(delimited.CommonPrefixes!.map((p) => decodeURIComponent(p.Prefix!)), [
      "/",
      "double/",
      "日本語/"
    ])
  })
})

describe("S3 listing", () => {
  const pad = (n: number, width: number) => String(n).padStart(width, "0")
  const keys = Array.from(
    { length: 2600 },
    (_, i) => i < 2000 ? `dir${pad(i % 50, 2)}/file${pad(i, 4)}` : `file${pad(i, 4)}`
  )
  const sorted = [...keys].sort(compareUtf8)

  // Seeded in-process, as the export writer fills buckets: 2600 signed SDK puts would cost seconds, not the listing.
  beforeAll(async () => {
    await bucket("listing")
    await Effect.runPromise(Effect.forEach(keys, (key) => store.putObject("listing", key, text.encode(key))))
  })

  it("pages 2600 keys by 1000 (default and cap, whatever max-keys asks) and by any smaller max-keys", async () => {
    const byDefault = await pages({ Bucket: "listing" })
    assert.deepStrictEqual(byDefault.map((p) => [p.KeyCount, p.MaxKeys, p.IsTruncated]), [
      [1000, 1000, true],
      [1000, 1000, true],
      [600, 1000, false]
    ])
    assert.deepStrictEqual(byDefault.flatMap((p) => p.Contents!.map((c) => c.Key)), sorted)
    const capped = await s3.send(new ListObjectsV2Command({ Bucket: "listing", MaxKeys: 5000 }))
    assert.deepStrictEqual([capped.KeyCount, capped.MaxKeys, capped.IsTruncated], [1000, 5000, true])
    const small = await pages({ Bucket: "listing", MaxKeys: 250 })
    assert.strictEqual(small.length, 11)
    assert.deepStrictEqual(small.flatMap((p) => p.Contents!.map((c) => c.Key)), sorted)
    const last = small[small.length - 1]!
    assert.deepStrictEqual([last.KeyCount, last.IsTruncated, last.NextContinuationToken], [100, false, undefined])
    const first = small[0]!.Contents![0]!
    assert.deepStrictEqual([first.Size, first.ETag, first.StorageClass], [
      first.Key!.length,
      etagOf(first.Key!),
      "STANDARD"
    ])
  })

  it("rolls keys up into CommonPrefixes with a delimiter, across pages, without repeating one", async () => {
    const delimited = await pages({ Bucket: "listing", Delimiter: "/", MaxKeys: 70 })
    const prefixes = delimited.flatMap((p) => (p.CommonPrefixes ?? []).map((c) => c.Prefix))
    const contents = delimited.flatMap((p) => (p.Contents ?? []).map((c) => c.Key))
    assert.deepStrictEqual(prefixes, Array.from({ length: 50 }, (_, i) => `dir${pad(i, 2)}/`))
    assert.deepStrictEqual(contents, sorted.filter((k) => !k.includes("/")))
    assert.strictEqual(delimited.length, Math.ceil(650 / 70))
    for (const page of delimited.slice(0, -1)) assert.strictEqual(page.KeyCount, 70)
    const inside = await pages({ Bucket: "listing", Delimiter: "/", Prefix: "dir07/", MaxKeys: 15 })
    assert.deepStrictEqual(
      inside.flatMap((p) => p.Contents!.map((c) => c.Key)),
      sorted.filter((k) => k.startsWith("dir07/"))
    )
    assert.isTrue(inside.every((p) => p.CommonPrefixes === undefined && p.Prefix === "dir07/" && p.Delimiter === "/"))
    const nested = await s3.send(new ListObjectsV2Command({ Bucket: "listing", Delimiter: "file", Prefix: "dir0" }))
    assert.deepStrictEqual(
      nested.CommonPrefixes!.map((p) => p.Prefix),
      Array.from({ length: 10 }, (_, i) => `dir0${i}/file`)
    )
  })

  it("starts after a key, honours max-keys 0 and rejects a forged continuation token", async () => {
    const after = await pages({ Bucket: "listing", StartAfter: sorted[1234]! })
    assert.deepStrictEqual(after.flatMap((p) => p.Contents!.map((c) => c.Key)), sorted.slice(1235))
    assert.strictEqual(after[0]!.StartAfter, sorted[1234])
    const none = await s3.send(new ListObjectsV2Command({ Bucket: "listing", MaxKeys: 0 }))
    assert.deepStrictEqual([none.KeyCount, none.IsTruncated, none.Contents], [0, false, undefined])
    const forged = await failure(s3.send(new ListObjectsV2Command({ Bucket: "listing", ContinuationToken: "%%%" })))
    assert.deepStrictEqual([forged.name, forged.status], ["InvalidArgument", 400])
  })
})

describe("S3 wire format", () => {
  it("writes S3's XML errors, 405 for operations it does not serve, and escapes listed names", async () => {
    await bucket("wire")
    const notServed = await failure(
      s3.send(new PutObjectTaggingCommand({ Bucket: "wire", Key: "k", Tagging: { TagSet: [] } }))
    )
    assert.deepStrictEqual([notServed.name, notServed.status], ["MethodNotAllowed", 405])
    const post = await fetch(`${endpoint}/wire?uploads`, { method: "POST" })
    assert.strictEqual(post.status, 405)
    const error = await post.text()
    assert.match(error, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<Error><Code>MethodNotAllowed<\/Code>/)
    assert.match(error, /<Method>POST<\/Method><ResourceType>BUCKET<\/ResourceType><RequestId>[0-9A-F]+<\/RequestId>/)
    assert.isNotNull(post.headers.get("x-amz-request-id"))

    await s3.send(new PutObjectCommand({ Bucket: "wire", Key: "a&b<c>", Body: "x" }))
    const list = await (await fetch(`${endpoint}/wire?list-type=2`)).text()
    assert.include(list, "<Key>a&amp;b&lt;c&gt;</Key>")
    assert.include(list, `<ETag>&quot;${etagOf("x").slice(1, -1)}&quot;</ETag>`)
    assert.match(list, /<LastModified>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z<\/LastModified>/)
    const location = await (await fetch(`${endpoint}/wire?location`)).text()
    assert.include(location, '<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/"/>')
    const get = await fetch(`${endpoint}/wire/a%26b%3Cc%3E`)
    assert.match(get.headers.get("last-modified")!, /^\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT$/)
    const range = await fetch(`${endpoint}/wire/a%26b%3Cc%3E`, { headers: { range: "bytes=5-" } })
    assert.deepStrictEqual([range.status, range.headers.get("content-range")], [416, "bytes */1"])
    assert.include(
      await range.text(),
      "<RangeRequested>bytes=5-</RangeRequested><ActualObjectSize>1</ActualObjectSize>"
    )
  })

  it("checks Content-MD5 and the framing of aws-chunked bodies", async () => {
    await bucket("digests")
    const md5 = Buffer.from(Md5.digest(text.encode("payload"))).toString("base64")
    const ok = await fetch(`${endpoint}/digests/k`, { method: "PUT", body: "payload", headers: { "content-md5": md5 } })
    assert.strictEqual(ok.status, 200)
    const bad = await fetch(`${endpoint}/digests/k`, {
      method: "PUT",
      body: "tampered",
      headers: { "content-md5": md5 }
    })
    assert.strictEqual(bad.status, 400)
    assert.include(await bad.text(), "<Code>BadDigest</Code>")
    const signed = "5;chunk-signature=abc\r\nhello\r\n0;chunk-signature=def\r\n\r\n"
    const chunked = await fetch(`${endpoint}/digests/signed`, {
      method: "PUT",
      body: signed,
      headers: { "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "x-amz-decoded-content-length": "5" }
    })
    assert.deepStrictEqual([chunked.status, chunked.headers.get("etag")], [200, etagOf("hello")])
    const broken = await fetch(`${endpoint}/digests/broken`, {
      method: "PUT",
      body: "5\r\nhel",
      headers: { "content-encoding": "aws-chunked" }
    })
    assert.strictEqual(broken.status, 400)
    assert.include(await broken.text(), "<Code>IncompleteBody</Code>")
  })
})

describe("S3 request log", () => {
  it("records each call with its IAM action, resource and status", async () => {
    log.clear()
    await bucket("logged")
    await s3.send(new HeadBucketCommand({ Bucket: "logged" }))
    await s3.send(new GetBucketLocationCommand({ Bucket: "logged" }))
    await s3.send(new PutObjectCommand({ Bucket: "logged", Key: "a/b", Body: "x" }))
    await s3.send(new ListObjectsV2Command({ Bucket: "logged" }))
    await body("logged", "a/b")
    await s3.send(new HeadObjectCommand({ Bucket: "logged", Key: "a/b" }))
    await failure(s3.send(new GetObjectCommand({ Bucket: "logged", Key: "nope" })))
    await s3.send(new DeleteObjectCommand({ Bucket: "logged", Key: "a/b" }))
    await s3.send(new DeleteBucketCommand({ Bucket: "logged" }))
    assert.deepStrictEqual(log.entries.map((e) => [e.action, e.resource, e.status, e.errorCode]), [
      ["s3:CreateBucket", "arn:aws:s3:::logged", 200, undefined],
      ["s3:ListBucket", "arn:aws:s3:::logged", 200, undefined],
      ["s3:GetBucketLocation", "arn:aws:s3:::logged", 200, undefined],
      ["s3:PutObject", "arn:aws:s3:::logged/a/b", 200, undefined],
      ["s3:ListBucket", "arn:aws:s3:::logged", 200, undefined],
      ["s3:GetObject", "arn:aws:s3:::logged/a/b", 200, undefined],
      ["s3:GetObject", "arn:aws:s3:::logged/a/b", 200, undefined],
      ["s3:GetObject", "arn:aws:s3:::logged/nope", 404, "NoSuchKey"],
      ["s3:DeleteObject", "arn:aws:s3:::logged/a/b", 204, undefined],
      ["s3:DeleteBucket", "arn:aws:s3:::logged", 204, undefined]
    ])
    assert.isTrue(log.entries.every((e) => Math.abs(e.timeMs - Date.now()) < 5_000))
  })
})

describe("S3 store in-process", () => {
  it.effect("creates, writes conditionally, lists, deletes and resets", () =>
    Effect.gen(function* () {
      const local = new S3Store()
      assert.isTrue(yield* local.createBucket("exports"))
      assert.isFalse(yield* local.createBucket("exports"))
      const etag = yield* local.putObject(
        "exports",
        "AWSDynamoDB/1/manifest-summary.json",
        text.encode("{}"),
        "application/json"
      )
      assert.strictEqual(etag, etagOf("{}"))
      yield* local.putObject("exports", "AWSDynamoDB/1/data/b.json.gz", new Uint8Array([2]))
      yield* local.putObject("exports", "AWSDynamoDB/1/data/a.json.gz", new Uint8Array([1]))
      yield* local.putObject("exports", "other", new Uint8Array(0))
      assert.deepStrictEqual(yield* local.listKeys("exports", "AWSDynamoDB/1/"), [
        "AWSDynamoDB/1/data/a.json.gz",
        "AWSDynamoDB/1/data/b.json.gz",
        "AWSDynamoDB/1/manifest-summary.json"
      ])
      const exists = yield* Effect.flip(
        local.putObject("exports", "other", new Uint8Array(1), undefined, { ifNoneMatch: "*" })
      )
      assert.deepStrictEqual([exists._tag, exists._tag === "PreconditionFailed" && exists.condition], [
        "PreconditionFailed",
        "If-None-Match"
      ])
      const object = yield* local.getObject("exports", "AWSDynamoDB/1/manifest-summary.json")
      assert.deepStrictEqual([object.contentType, object.size, object.etag], ["application/json", 2, etag])
      // Time comes from Effect's Clock (here the TestClock), never from the wall clock.
      assert.strictEqual(object.lastModifiedMs, 0)
      yield* TestClock.adjust("1 hour")
      yield* local.putObject("exports", "later", new Uint8Array(0))
      assert.strictEqual((yield* local.getObject("exports", "later")).lastModifiedMs, 3_600_000)
      yield* local.deleteObject("exports", "later")
      assert.strictEqual((yield* local.getObject("exports", "other")).contentType, "binary/octet-stream")
      yield* local.deleteObject("exports", "other")
      assert.strictEqual((yield* Effect.flip(local.getObject("exports", "other")))._tag, "NoSuchKey")
      assert.strictEqual((yield* Effect.flip(local.deleteBucket("exports")))._tag, "BucketNotEmpty")
      yield* local.reset()
      assert.isFalse(yield* local.hasBucket("exports"))
      assert.strictEqual((yield* Effect.flip(local.listKeys("exports"))).bucket, "exports")
    }))
})

const onPath = (command: string) =>
  (process.env["PATH"] ?? "").split(path.delimiter).some((dir) => fs.existsSync(path.join(dir, command)))

describe.skipIf(!onPath("aws"))("S3 with the AWS CLI", () => {
  const aws = (...args: Array<string>) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        "aws",
        ["--endpoint-url", endpoint, "--output", "json", "s3api", ...args],
        {
          env: {
            ...process.env,
            AWS_ACCESS_KEY_ID: "x",
            AWS_SECRET_ACCESS_KEY: "x",
            AWS_DEFAULT_REGION: "us-east-1",
            AWS_MAX_ATTEMPTS: "1",
            AWS_EC2_METADATA_DISABLED: "true",
            AWS_CONFIG_FILE: "/dev/null",
            AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
            PYTHONWARNINGS: "ignore"
          }
        },
        (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr })
      )
    })

  it("puts, gets, heads and lists objects, and reports NoSuchKey", async () => {
    await bucket("cli")
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "backstream-s3-cli-"))
    try {
      const file = path.join(dir, "upload.txt")
      fs.writeFileSync(file, "from the CLI ✓\n")
      log.clear()
      const put = await aws("put-object", "--bucket", "cli", "--key", "dir/a file+1%.txt", "--body", file)
      assert.strictEqual(put.code, 0, put.stderr)
      assert.strictEqual(JSON.parse(put.stdout).ETag, etagOf(fs.readFileSync(file)))
      const out = path.join(dir, "download.txt")
      const [get, head, list, missing] = await Promise.all([
        aws("get-object", "--bucket", "cli", "--key", "dir/a file+1%.txt", out),
        aws("head-object", "--bucket", "cli", "--key", "dir/a file+1%.txt"),
        aws("list-objects-v2", "--bucket", "cli", "--delimiter", "/", "--prefix", "dir/"),
        aws("get-object", "--bucket", "cli", "--key", "nope", path.join(dir, "nope"))
      ])
      assert.strictEqual(get.code, 0, get.stderr)
      assert.strictEqual(fs.readFileSync(out, "utf8"), "from the CLI ✓\n")
      assert.strictEqual(JSON.parse(get.stdout).ContentLength, fs.statSync(file).size)
      assert.strictEqual(JSON.parse(head.stdout).ETag, etagOf(fs.readFileSync(file)))
      assert.strictEqual(list.code, 0, list.stderr)
      assert.deepStrictEqual(JSON.parse(list.stdout).Contents.map((c: { Key: string }) => c.Key), ["dir/a file+1%.txt"])
      assert.notStrictEqual(missing.code, 0)
      assert.include(missing.stderr, "NoSuchKey")
      const logged = log.entries.map((e) => `${e.action} ${e.resource} ${e.status}`).sort()
      assert.deepStrictEqual(logged, [
        "s3:GetObject arn:aws:s3:::cli/dir/a file+1%.txt 200",
        "s3:GetObject arn:aws:s3:::cli/dir/a file+1%.txt 200",
        "s3:GetObject arn:aws:s3:::cli/nope 404",
        "s3:ListBucket arn:aws:s3:::cli 200",
        "s3:PutObject arn:aws:s3:::cli/dir/a file+1%.txt 200"
      ])
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
