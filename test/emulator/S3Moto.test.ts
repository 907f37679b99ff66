/**
 * The same S3 calls against moto_server and against the emulator, with the same outcomes expected: statuses, error
 * codes, ETags, ranges, listings, conditional writes. Where moto departs from AWS's documented behaviour the step says
 * what moto answers and why the emulator follows AWS instead.
 */
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetBucketLocationCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandInput,
  PutObjectCommand,
  S3Client,
  type S3ServiceException
} from "@aws-sdk/client-s3"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import { Readable } from "node:stream"
import { afterAll, beforeAll } from "vitest"
import { Emulator, RequestLog } from "../../emulator/Emulator.ts"
import { EmulatorClock } from "../../emulator/EmulatorClock.ts"
import * as EmulatorConfig from "../../emulator/EmulatorConfig.ts"
import * as NodeServer from "../../emulator/NodeServer.ts"
import * as S3Api from "../../emulator/s3/S3Api.ts"
import { S3Store } from "../../emulator/s3/S3Store.ts"
import { motoOnPath, type RunningMoto, startMoto } from "./support/moto.ts"

/** What a call came to, in the terms both servers must agree on. */
type Outcome = Readonly<Record<string, unknown>>

interface Step {
  readonly name: string
  readonly run: (s3: S3Client) => Promise<Outcome>
  /** Where moto departs from AWS: what moto answers, what AWS answers (and the emulator with it), and the source. */
  readonly motoDiffers?: { readonly moto: Outcome; readonly aws: Outcome; readonly why: string }
}

const client = (endpoint: string) =>
  new S3Client({
    endpoint,
    forcePathStyle: true,
    region: "us-east-1",
    credentials: { accessKeyId: "x", secretAccessKey: "x" },
    maxAttempts: 1
  })

/** The elements of S3's error body that say what was wrong. */
const ERROR_DETAILS = ["BucketName", "Key", "Condition", "RangeRequested", "ActualObjectSize"]

/** Runs a call; a success keeps the status and what `pick` takes from the output, a failure its status and code. */
const outcome = async <A extends { $metadata: { httpStatusCode?: number } }>(
  call: () => Promise<A>,
  pick: (output: A) => Promise<Outcome> | Outcome = () => ({})
): Promise<Outcome> => {
  let output: A
  try {
    output = await call()
  } catch (e) {
    const error = e as S3ServiceException & Record<string, unknown>
    const details = ERROR_DETAILS.filter((name) => error[name] !== undefined).map((name) => [name, error[name]])
    return { status: error.$metadata?.httpStatusCode, error: error.name, ...Object.fromEntries(details) }
  }
  return { status: output.$metadata.httpStatusCode, ...(await pick(output)) }
}

const createBucket = (Bucket: string, location?: string) => (s3: S3Client) =>
  outcome(() =>
    s3.send(
      new CreateBucketCommand({
        Bucket,
        ...(location === undefined
          ? {}
          : { CreateBucketConfiguration: { LocationConstraint: location as "eu-west-1" } })
      })
    )
  )

const put =
  (Bucket: string, Key: string, Body: string | Uint8Array, extra: { IfMatch?: string; IfNoneMatch?: string } = {}) =>
  (s3: S3Client) =>
    outcome(() => s3.send(new PutObjectCommand({ Bucket, Key, Body, ...extra })), (o) => ({ etag: o.ETag }))

const get = (Bucket: string, Key: string, Range?: string) => (s3: S3Client) =>
  outcome(
    () => s3.send(new GetObjectCommand({ Bucket, Key, ...(Range === undefined ? {} : { Range }) })),
    async (o) => ({
      body: await o.Body!.transformToString(),
      etag: o.ETag,
      length: o.ContentLength,
      range: o.ContentRange,
      type: o.ContentType,
      acceptRanges: o.AcceptRanges
    })
  )

/** Every page of a listing; continuation tokens are opaque, so only whether there is one is compared. */
const list = (input: ListObjectsV2CommandInput) => async (s3: S3Client) => {
  const pages: Array<Outcome> = []
  let token: string | undefined
  do {
    const page = await s3.send(new ListObjectsV2Command({ ...input, ...(token ? { ContinuationToken: token } : {}) }))
    token = page.NextContinuationToken
    pages.push({
      keyCount: page.KeyCount,
      maxKeys: page.MaxKeys,
      truncated: page.IsTruncated,
      hasToken: token !== undefined,
      keys: (page.Contents ?? []).map((c) => [c.Key, c.ETag, c.Size]),
      prefixes: (page.CommonPrefixes ?? []).map((p) => p.Prefix)
    })
  } while (token !== undefined && pages.length < 100)
  return { pages }
}

const pad = (n: number) => String(n).padStart(3, "0")
/** 300 keys: 240 in 12 "directories", 60 at the top. */
const listingKeys = Array.from({ length: 300 }, (_, i) => i < 240 ? `dir${pad(i % 12)}/f${pad(i)}` : `top${pad(i)}`)
const oddKeys = ["with space", "plus+sign", "per%cent", "é/accent", "日本語", "emoji 😀", "\uFFFD", "xml <&>", "a//b"]
const streamed = ["one,", " two,", " three"]

const steps: ReadonlyArray<Step> = [
  { name: "CreateBucket", run: createBucket("cross") },
  // Both answer AWS's legacy 200 when a us-east-1 bucket you own is created again.
  { name: "CreateBucket again in us-east-1", run: createBucket("cross") },
  { name: "CreateBucket in eu-west-1", run: createBucket("cross-eu", "eu-west-1") },
  { name: "CreateBucket again in eu-west-1", run: createBucket("cross-eu", "eu-west-1") },
  {
    name: "CreateBucket with an invalid name",
    run: createBucket("Not_Valid"),
    motoDiffers: {
      moto: { status: 200 },
      aws: { status: 400, error: "InvalidBucketName", BucketName: "Not_Valid" },
      why: "S3's bucket naming rules allow no upper case and no underscore, and CreateBucket answers a name that "
        + "breaks them with 400 InvalidBucketName (S3 user guide, bucket naming rules; S3 API reference, error codes)"
    }
  },
  {
    name: "GetBucketLocation",
    run: async (s3) => ({
      us: await outcome(
        () => s3.send(new GetBucketLocationCommand({ Bucket: "cross" })),
        (o) => ({ location: o.LocationConstraint })
      ),
      eu: await outcome(
        () => s3.send(new GetBucketLocationCommand({ Bucket: "cross-eu" })),
        (o) => ({ location: o.LocationConstraint })
      ),
      missing: await outcome(() => s3.send(new GetBucketLocationCommand({ Bucket: "cross-missing" })))
    })
  },
  {
    name: "HeadBucket",
    run: async (s3) => ({
      found: await outcome(() => s3.send(new HeadBucketCommand({ Bucket: "cross" }))),
      missing: await outcome(() => s3.send(new HeadBucketCommand({ Bucket: "cross-missing" })))
    })
  },
  { name: "PutObject bytes", run: put("cross", "bytes.bin", Uint8Array.from({ length: 256 }, (_, i) => i)) },
  { name: "PutObject string", run: put("cross", "digits.txt", "0123456789") },
  { name: "PutObject empty", run: put("cross", "empty", new Uint8Array(0)) },
  {
    name: "PutObject stream (aws-chunked)",
    run: (s3) =>
      outcome(() =>
        s3.send(
          new PutObjectCommand({
            Bucket: "cross",
            Key: "streamed.txt",
            Body: Readable.from(streamed.map((c) => Buffer.from(c))),
            ContentLength: streamed.join("").length
          })
        ), (o) => ({ etag: o.ETag }))
  },
  { name: "PutObject into a missing bucket", run: put("cross-missing", "k", "x") },
  { name: "GetObject bytes", run: get("cross", "bytes.bin") },
  { name: "GetObject stream-uploaded", run: get("cross", "streamed.txt") },
  {
    name: "HeadObject",
    run: async (s3) => ({
      found: await outcome(() => s3.send(new HeadObjectCommand({ Bucket: "cross", Key: "digits.txt" })), (o) => ({
        etag: o.ETag,
        length: o.ContentLength,
        type: o.ContentType
      })),
      missing: await outcome(() => s3.send(new HeadObjectCommand({ Bucket: "cross", Key: "nope" })))
    })
  },
  { name: "GetObject missing key", run: get("cross", "nope") },
  { name: "GetObject missing bucket", run: get("cross-missing", "nope") },
  ...[["bytes=2-5"], ["bytes=7-"], ["bytes=-3"], ["bytes=-20"], ["bytes=5-100"], ["bytes=0-1,3-4"]].map(([range]) => ({
    name: `GetObject range ${range}`,
    run: get("cross", "digits.txt", range)
  })),
  ...[["bytes=10-"], ["bytes=10-20"], ["bytes=-0"]].map(([range]) => ({
    name: `GetObject unsatisfiable range ${range}`,
    run: get("cross", "digits.txt", range)
  })),
  { name: "GetObject range on an empty object", run: get("cross", "empty", "bytes=0-") },
  // An invalid range (last < first) is ignored, as RFC 7233 §2.1 says and S3 does: 200 with the whole object.
  { name: "GetObject invalid range bytes=5-2", run: get("cross", "digits.txt", "bytes=5-2") },
  { name: "PutObject If-None-Match * on a new key", run: put("cross", "lock", "v1", { IfNoneMatch: "*" }) },
  { name: "PutObject If-None-Match * on an existing key", run: put("cross", "lock", "v2", { IfNoneMatch: "*" }) },
  {
    name: "PutObject If-Match with the current ETag",
    run: put("cross", "lock", "v2", { IfMatch: '"6654c734ccab8f440ff0825eb443dc7f"' })
  },
  {
    name: "PutObject If-Match with a stale ETag",
    run: put("cross", "lock", "v3", { IfMatch: '"00000000000000000000000000000000"' })
  },
  {
    name: "PutObject If-Match on a missing key",
    run: put("cross", "absent", "x", { IfMatch: '"00000000000000000000000000000000"' }),
    // Both answer 404 NoSuchKey, as AWS does (S3 user guide, "Conditional write behavior").
    motoDiffers: {
      moto: { status: 404, error: "NoSuchKey" },
      aws: { status: 404, error: "NoSuchKey", Key: "absent" },
      why: "S3's NoSuchKey errors name the key in <Key>, as moto's own GetObject NoSuchKey does; moto's "
        + "conditional-write path raises it without the key"
    }
  },
  { name: "GetObject after the conditional writes", run: get("cross", "lock") },
  {
    name: "seed keys for listing",
    run: async (s3) => {
      for (let i = 0; i < listingKeys.length; i += 60) {
        await Promise.all(
          listingKeys.slice(i, i + 60).map((Key) =>
            s3.send(new PutObjectCommand({ Bucket: "listing", Key, Body: Key }))
          )
        )
      }
      for (const Key of oddKeys) await s3.send(new PutObjectCommand({ Bucket: "odd", Key, Body: Key }))
      return {}
    }
  },
  { name: "ListObjectsV2 default page", run: list({ Bucket: "listing" }) },
  { name: "ListObjectsV2 by 40", run: list({ Bucket: "listing", MaxKeys: 40 }) },
  { name: "ListObjectsV2 max-keys above 1000", run: list({ Bucket: "listing", MaxKeys: 5000 }) },
  { name: "ListObjectsV2 with delimiter by 7", run: list({ Bucket: "listing", Delimiter: "/", MaxKeys: 7 }) },
  {
    name: "ListObjectsV2 with prefix and delimiter",
    run: list({ Bucket: "listing", Prefix: "dir01/", Delimiter: "/", MaxKeys: 9 })
  },
  { name: "ListObjectsV2 start-after", run: list({ Bucket: "listing", StartAfter: "dir05/f100", MaxKeys: 100 }) },
  { name: "ListObjectsV2 max-keys 0", run: list({ Bucket: "listing", MaxKeys: 0 }) },
  {
    name: "ListObjectsV2 missing bucket",
    run: (s3) => outcome(() => s3.send(new ListObjectsV2Command({ Bucket: "cross-missing" })))
  },
  { name: "ListObjectsV2 odd keys", run: list({ Bucket: "odd" }) },
  { name: "ListObjectsV2 odd keys, url-encoded", run: list({ Bucket: "odd", EncodingType: "url", Delimiter: "/" }) },
  {
    name: "GetObject odd keys",
    run: async (s3) => ({ bodies: await Promise.all(oddKeys.map((key) => get("odd", key)(s3))) })
  },
  {
    name: "DeleteObject, existing and missing",
    run: async (s3) => ({
      existing: await outcome(() => s3.send(new DeleteObjectCommand({ Bucket: "cross", Key: "digits.txt" }))),
      missing: await outcome(() => s3.send(new DeleteObjectCommand({ Bucket: "cross", Key: "digits.txt" }))),
      after: await get("cross", "digits.txt")(s3)
    })
  },
  {
    name: "DeleteBucket",
    run: async (s3) => {
      const full = await outcome(() => s3.send(new DeleteBucketCommand({ Bucket: "cross" })))
      for (const Key of ["bytes.bin", "empty", "streamed.txt", "lock"]) {
        await s3.send(new DeleteObjectCommand({ Bucket: "cross", Key }))
      }
      return {
        full,
        empty: await outcome(() => s3.send(new DeleteBucketCommand({ Bucket: "cross" }))),
        gone: await outcome(() => s3.send(new HeadBucketCommand({ Bucket: "cross" }))),
        missing: await outcome(() => s3.send(new DeleteBucketCommand({ Bucket: "cross-missing" })))
      }
    }
  }
]

if (!motoOnPath) console.warn("S3Moto.test.ts: moto_server is not on PATH, skipping (pip install 'moto[server]')")

describe.skipIf(!motoOnPath)(
  motoOnPath ? "S3: the emulator against moto_server" : "S3 against moto_server: SKIPPED, moto_server is not on PATH",
  () => {
    let moto: RunningMoto | undefined
    let scope: Scope.CloseableScope
    let motoS3: S3Client
    let emulatorS3: S3Client

    beforeAll(async () => {
      moto = await startMoto()
      motoS3 = client(moto.url)

      scope = await Effect.runPromise(Scope.make())
      const clock = await Effect.runPromise(EmulatorClock.make("real"))
      const config = EmulatorConfig.make()
      const log = new RequestLog(clock)
      const emulator = new Emulator(config, clock, log, {
        dynamodb: {},
        streams: {},
        s3: S3Api.make(new S3Store(), log, config),
        admin: {}
      })
      emulatorS3 = client((await Effect.runPromise(Scope.extend(NodeServer.serve(emulator), scope))).url)
      for (const s3 of [motoS3, emulatorS3]) {
        for (const Bucket of ["listing", "odd"]) await s3.send(new CreateBucketCommand({ Bucket }))
      }
    })

    afterAll(async () => {
      motoS3?.destroy()
      emulatorS3?.destroy()
      await moto?.stop()
      if (scope !== undefined) await Effect.runPromise(Scope.close(scope, Exit.void))
    })

    for (const step of steps) {
      it(step.name, async () => {
        const [fromMoto, fromEmulator] = await Promise.all([step.run(motoS3), step.run(emulatorS3)])
        if (step.motoDiffers === undefined) {
          assert.deepStrictEqual(fromEmulator, fromMoto)
        } else {
          assert.deepStrictEqual(fromMoto, step.motoDiffers.moto, `moto changed; re-check: ${step.motoDiffers.why}`)
          assert.deepStrictEqual(fromEmulator, step.motoDiffers.aws, step.motoDiffers.why)
        }
      })
    }
  }
)
