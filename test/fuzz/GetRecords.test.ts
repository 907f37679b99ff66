/**
 * GetRecords answers as DynamoDB Streams sends them, damaged, served by a local HTTP server to the AWS SDK adapter
 * (`AwsStreamSource` through `AwsClients` with `endpoint`): wrong types, numbers past DynamoDB's limits, deep nesting,
 * Unicode edge cases, bytes that are not UTF-8, duplicate names, missing and extra fields, bodies of the wrong shape,
 * error answers, random edits. The adapter must give a typed error or exactly the records; never a defect or a hang,
 * never fewer records than the answer holds.
 */
import { afterAll, beforeAll, describe, it } from "@effect/vitest"
import { Effect, Either, Exit, FastCheck as fc, Layer, ManagedRuntime } from "effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as AwsClients from "../../adapters/aws/AwsClients.ts"
import * as AwsStreamSource from "../../adapters/aws/AwsStreamSource.ts"
import type { StreamSourceError } from "../../core/Errors.ts"
import { type RecordsPage, StreamSource } from "../../core/StreamSource.ts"
import { damage, type Damaged, pageMutation } from "./support/PageDamage.ts"
import { bodyOf, type Page, pageArbitrary, recordText } from "./support/RecordPages.ts"
import { runs } from "./support/Values.ts"

const STREAM_ERRORS = new Set([
  "InvalidAttributeValue",
  "Unavailable",
  "InvalidRequest",
  "Throttled",
  "NotFound",
  "AccessDenied",
  "ExpiredIterator",
  "TrimmedData"
])

let answer: Damaged = { status: 200, body: new Uint8Array(0), expect: { _tag: "Either" } }
const server = http.createServer((request, response) => {
  request.resume()
  request.on("end", () => {
    response.writeHead(answer.status, { "content-type": "application/x-amz-json-1.0" })
    response.end(answer.body)
  })
})

let runtime: ManagedRuntime.ManagedRuntime<StreamSource, never>

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  const clients = Layer.scoped(
    AwsClients.DynamoDBStreams,
    AwsClients.makeDynamoDBStreams({
      endpoint: `http://127.0.0.1:${port}`,
      region: "us-east-1",
      credentials: { accessKeyId: "fuzz", secretAccessKey: "fuzz" }
    })
  )
  runtime = ManagedRuntime.make(AwsStreamSource.layer.pipe(Layer.provide(clients)))
})

afterAll(async () => {
  await runtime?.dispose()
  await new Promise((resolve) => server.close(resolve))
})

/** One GetRecords call against the served answer; more than 10 s is a hang. */
const getRecords = (served: Damaged) => {
  answer = served
  return runtime.runPromiseExit(
    Effect.flatMap(StreamSource, (source) => source.getRecords({ iterator: "fuzz-iterator" })).pipe(
      Effect.either,
      Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error("GetRecords did not end within 10 s") }),
      Effect.orDie
    )
  )
}

const pageText = (page: RecordsPage) =>
  JSON.stringify({ records: page.records.map(recordText), nextIterator: page.nextIterator })

const describeResult = (result: Either.Either<RecordsPage, StreamSourceError>) =>
  Either.isLeft(result) ? `${result.left._tag}: ${result.left.message}` : pageText(result.right)

/** Judges what the adapter gave for a damaged answer of `page`. */
const judge = (page: Page, served: Damaged, exit: Exit.Exit<Either.Either<RecordsPage, StreamSourceError>>) => {
  if (Exit.isFailure(exit)) throw new Error(`a defect or a hang: ${String(exit.cause)}`)
  const result = exit.value
  const { expect } = served
  if (Either.isLeft(result)) {
    const error = result.left
    if (!STREAM_ERRORS.has(error._tag) || !(error instanceof Error)) {
      throw new Error(`not a typed error: ${String(error)}`)
    }
    if (error._tag === "InvalidAttributeValue" && !error.path.startsWith("$.Records[")) {
      throw new Error(`InvalidAttributeValue without the record's path: ${error.message}`)
    }
    if (expect._tag === "Exact") throw new Error(`expected ${pageText(expect.page)}, got ${describeResult(result)}`)
    if (expect._tag === "Typed" && expect.tags !== undefined && !expect.tags.includes(error._tag)) {
      throw new Error(`expected one of ${expect.tags.join(", ")}, got ${describeResult(result)}`)
    }
    return
  }
  const got = result.right
  if (expect._tag === "Typed") throw new Error(`expected a typed error, got ${describeResult(result)}`)
  if (expect._tag === "Exact") {
    if (pageText(got) !== pageText(expect.page)) {
      throw new Error(`expected ${pageText(expect.page)}\n     got ${pageText(got)}`)
    }
    return
  }
  // Either: the answer was read as a page, so it held one: as many records, those left intact exactly.
  const json = JSON.parse(new TextDecoder().decode(served.body)) as {
    Records: Array<unknown>
    NextShardIterator?: unknown
  }
  if (!Array.isArray(json.Records) || got.records.length !== json.Records.length) {
    throw new Error(
      `the answer holds ${JSON.stringify(json.Records)?.slice(0, 200)}, the page ${got.records.length} records`
    )
  }
  const original = JSON.parse(bodyOf(page)) as { Records: Array<unknown> }
  got.records.forEach((record, i) => {
    if (JSON.stringify(json.Records[i]) !== JSON.stringify(original.Records[i])) return
    if (recordText(record) !== recordText(page.expected.records[i]!)) {
      throw new Error(`record ${i}, left intact, came out as ${recordText(record)}`)
    }
  })
  const next = typeof json.NextShardIterator === "string" ? json.NextShardIterator : undefined
  if (got.nextIterator !== next) throw new Error(`nextIterator ${got.nextIterator}, the answer says ${next}`)
}

describe("Fuzz: GetRecords answers through the AWS SDK adapter", () => {
  it("intact answers give exactly their records", () =>
    fc.assert(
      fc.asyncProperty(pageArbitrary, async (page) => {
        const served: Damaged = {
          status: 200,
          body: new TextEncoder().encode(bodyOf(page)),
          expect: { _tag: "Exact", page: page.expected }
        }
        judge(page, served, await getRecords(served))
      }),
      { numRuns: runs(40) }
    ))

  it("damaged answers give a typed error or exactly the records they hold", () =>
    fc.assert(
      fc.asyncProperty(pageArbitrary, pageMutation, async (page, mutation) => {
        const served = damage(page, mutation)
        judge(page, served, await getRecords(served))
      }),
      { numRuns: runs(150) }
    ))
})
