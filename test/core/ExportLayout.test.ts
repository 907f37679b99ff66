import { assert, describe, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import * as fc from "fast-check"
import { existsSync, readFileSync } from "node:fs"
import { gzipLikeAws } from "../../adapters/node/LocalExportWriter.ts"
import * as NodeMd5 from "../../adapters/node/NodeMd5.ts"
import * as AV from "../../core/AttributeValue.ts"
import * as DynamoJson from "../../core/DynamoJson.ts"
import * as ExportLayout from "../../core/ExportLayout.ts"
import * as Md5 from "../../core/Md5.ts"
import * as Fixtures from "../support/fixtures.ts"

const BASE32 = "abcdefghijklmnopqrstuvwxyz234567"

/** Lowercase base32 (no padding) back to bytes, and the bits left over at the end. */
const base32Decode = (text: string): { bytes: Uint8Array; rest: number } => {
  const out: Array<number> = []
  let bits = 0, value = 0
  for (const char of text) {
    const index = BASE32.indexOf(char)
    assert.isAtLeast(index, 0, `${char} is not lowercase base32`)
    value = (value << 5) | index
    bits += 5
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff)
      bits -= 8
    }
    value &= (1 << bits) - 1
  }
  return { bytes: Uint8Array.from(out), rest: value }
}

const DATA_FILE_NAME = /^[a-z2-7]{26}\.json\.gz$/
const EXPORT_ID = /^[0-9]{14}-[0-9a-f]{8}$/

const summaryFields: ExportLayout.SummaryFields = {
  exportArn: "arn:aws:dynamodb:us-east-1:000000000000:table/t/export/01700000000000-00000000",
  startTime: "2023-11-14T22:13:20.000Z",
  endTime: "2023-11-14T22:18:20.000Z",
  tableArn: "arn:aws:dynamodb:us-east-1:000000000000:table/t",
  tableId: "00000000-0000-4000-8000-000000000000",
  s3Bucket: "bucket",
  s3Prefix: "prefix",
  manifestFilesS3Key: "prefix/AWSDynamoDB/01700000000000-00000000/manifest-files.json",
  billedSizeBytes: 1,
  itemCount: 2
}

describe("ExportLayout", () => {
  it.prop("dataFileName: 26 characters of [a-z2-7] + .json.gz, one name per 16 random bytes", [
    fc.uint8Array({ minLength: 16, maxLength: 16 })
  ], ([random]) => {
    const name = ExportLayout.dataFileName(random)
    assert.match(name, DATA_FILE_NAME)
    const { bytes, rest } = base32Decode(name.slice(0, 26))
    assert.deepStrictEqual(bytes, random)
    assert.strictEqual(rest, 0)
  })

  it("dataFileName of known bytes", () => {
    assert.strictEqual(ExportLayout.dataFileName(new Uint8Array(16)), `${"a".repeat(26)}.json.gz`)
    assert.strictEqual(ExportLayout.dataFileName(new Uint8Array(16).fill(255)), `${"7".repeat(25)}4.json.gz`)
  })

  it.prop("exportId: the time in ms on 14 digits, a dash, 8 hex digits", [
    fc.integer({ min: 0, max: 99_999_999_999_999 }),
    fc.uint8Array({ minLength: 4, maxLength: 4 })
  ], ([timeMs, random]) => {
    const id = ExportLayout.exportId(timeMs, Array.from(random, (b) => b.toString(16).padStart(2, "0")).join(""))
    assert.match(id, EXPORT_ID)
    assert.strictEqual(Number(id.slice(0, 14)), timeMs)
  })

  it("exportId of a known time", () => {
    assert.strictEqual(ExportLayout.exportId(1768385930622, "efd1a093"), "01768385930622-efd1a093")
  })

  it('EMPTY_GZIP is AWS\'s 20-byte gzip of nothing, which is also gzipLikeAws("")', () => {
    assert.strictEqual(ExportLayout.EMPTY_GZIP.length, 20)
    assert.deepStrictEqual(gzipLikeAws(""), ExportLayout.EMPTY_GZIP)
  })

  it("folders and keys, with and without a prefix", () => {
    const id = "01768385930622-efd1a093"
    assert.deepStrictEqual(ExportLayout.manifestKeys(undefined, id), {
      summary: `AWSDynamoDB/${id}/manifest-summary.json`,
      summaryMd5: `AWSDynamoDB/${id}/manifest-summary.md5`,
      files: `AWSDynamoDB/${id}/manifest-files.json`,
      filesMd5: `AWSDynamoDB/${id}/manifest-files.md5`,
      started: `AWSDynamoDB/${id}/_started`
    })
    assert.strictEqual(ExportLayout.manifestKeys("a/b/", id).files, `a/b/AWSDynamoDB/${id}/manifest-files.json`)
    assert.strictEqual(ExportLayout.dataDirectory("a/b", id, "FULL_EXPORT"), `a/b/AWSDynamoDB/${id}/data`)
    assert.strictEqual(ExportLayout.dataDirectory("a/b", id, "INCREMENTAL_EXPORT"), "a/b/AWSDynamoDB/data")
    assert.strictEqual(ExportLayout.dataDirectory(undefined, id, "INCREMENTAL_EXPORT"), "AWSDynamoDB/data")
  })
})

describe("LocalExportWriter writes AWS's layout", () => {
  it.scoped("data files streamed in batches are gzipLikeAws of their lines, listed with AWS's checksums", () =>
    Effect.gen(function* () {
      const item = (i: number) =>
        AV.item([["pk", AV.s(`item-${(i * 7919) % 3001}`)], ["sk", AV.n(String(i))], ["v", AV.s("日".repeat(i % 9))]])
      const items = Array.from({ length: 3000 }, (_, i) => item(i))
      const exported = yield* Fixtures.writeFull(yield* Fixtures.tempDirectory, [items, [], items.slice(0, 1)], {
        prefix: "p/q"
      })
      const lines = [items, [], items.slice(0, 1)].map((part) => part.map(ExportLayout.fullLine).join(""))
      assert.isAbove(lines[0]!.length, 128 * 1024, "more than one 64 KiB batch")
      assert.match(exported.exportId, EXPORT_ID)
      assert.strictEqual(exported.summaryKey, `p/q/AWSDynamoDB/${exported.exportId}/manifest-summary.json`)
      exported.entries.forEach((entry, i) => {
        assert.strictEqual(entry.dataFileS3Key.slice(0, -34), `p/q/AWSDynamoDB/${exported.exportId}/data/`)
        assert.match(entry.dataFileS3Key.slice(-34), DATA_FILE_NAME)
        const gzip = new Uint8Array(readFileSync(Fixtures.localPath(exported.root, entry.dataFileS3Key)))
        assert.deepStrictEqual(gzip, gzipLikeAws(lines[i]!), entry.dataFileS3Key)
        assert.deepStrictEqual(entry, Fixtures.entryFor(gzip, entry.dataFileS3Key, Fixtures.countLines(lines[i]!)))
      })
      const files = readFileSync(Fixtures.localPath(exported.root, exported.filesKey), "utf8")
      assert.strictEqual(files, ExportLayout.filesManifest(exported.entries))
      assert.strictEqual(
        readFileSync(Fixtures.localPath(exported.root, exported.filesKey.replace(/json$/, "md5")), "utf8"),
        ExportLayout.manifestMd5(files)
      )
      const summary = readFileSync(exported.summaryPath, "utf8")
      const summaryMd5 = readFileSync(exported.summaryPath.replace(/json$/, "md5"), "utf8")
      assert.strictEqual(summaryMd5, ExportLayout.manifestMd5(summary))
      assert.strictEqual(JSON.parse(summary).itemCount, 3001)
    }))
})

describe.skipIf(!Fixtures.realExportPresent)(
  Fixtures.realExportSuite("ExportLayout against a real AWS export, byte for byte"),
  () => {
    for (const real of Fixtures.REAL_EXPORTS) {
      const folder = `AWSDynamoDB/${real.id}`
      const full = real.type === "FULL_EXPORT"

      describe(`${real.type} ${real.id}`, () => {
        const entries = () => Fixtures.readRealEntries(real.id)
        const summaryText = () => Fixtures.readRealText(`${folder}/manifest-summary.json`)

        it("every data file is gzipLikeAws(its lines); its md5Checksum and etag are computed as AWS's", () => {
          assert.isAbove(entries().length, 0)
          for (const entry of entries()) {
            const gzip = Fixtures.readRealBytes(entry.dataFileS3Key)
            const content = Fixtures.readRealDecoded(entry.dataFileS3Key)
            assert.deepStrictEqual(gzipLikeAws(content), gzip, entry.dataFileS3Key)
            assert.strictEqual(Fixtures.countLines(content), entry.itemCount, entry.dataFileS3Key)
            for (const md5 of [Md5.md5, NodeMd5.md5]) {
              const digest = Md5.digest(gzip, md5)
              assert.strictEqual(ExportLayout.md5Checksum(digest), entry.md5Checksum, entry.dataFileS3Key)
              assert.strictEqual(ExportLayout.etag(digest, md5), entry.etag, entry.dataFileS3Key)
            }
            if (entry.itemCount === 0) assert.deepStrictEqual(gzip, ExportLayout.EMPTY_GZIP, entry.dataFileS3Key)
          }
        })

        it("each line decoded and written again by fullLine/incrementalLine is the same text", () => {
          for (const entry of entries()) {
            const content = Fixtures.readRealDecoded(entry.dataFileS3Key)
            const lines = content.split("\n").slice(0, -1).map((text) => {
              const json = JSON.parse(text) as Record<string, Record<string, unknown>>
              const item = (field: string) =>
                json[field] === undefined ? undefined : Either.getOrThrow(DynamoJson.decodeItemEither(json[field]))
              if (full) return ExportLayout.fullLine(item("Item")!)
              const newImage = item("NewImage"), oldImage = item("OldImage")
              return ExportLayout.incrementalLine({
                writeTimestampMicros: (json.Metadata!.WriteTimestampMicros as { N: string }).N,
                keys: item("Keys")!,
                ...(newImage === undefined ? {} : { newImage }),
                ...(oldImage === undefined ? {} : { oldImage })
              })
            })
            assert.strictEqual(lines.join(""), content, entry.dataFileS3Key)
            assert.deepStrictEqual(gzipLikeAws(lines.join("")), Fixtures.readRealBytes(entry.dataFileS3Key))
          }
        })

        it("filesManifest(entries) is manifest-files.json, and manifestMd5 of it is manifest-files.md5", () => {
          const text = Fixtures.readRealText(`${folder}/manifest-files.json`)
          assert.strictEqual(ExportLayout.filesManifest(entries()), text)
          const md5 = Fixtures.readRealText(`${folder}/manifest-files.md5`)
          assert.strictEqual(ExportLayout.manifestMd5(text), md5)
          assert.strictEqual(ExportLayout.manifestMd5(text, NodeMd5.md5), md5)
        })

        it("data file names, the export id and the folders follow AWS's layout", () => {
          const id = real.id
          const summary = JSON.parse(summaryText()) as Record<string, unknown>
          assert.match(id, EXPORT_ID)
          assert.strictEqual(ExportLayout.exportId(Date.parse(summary.startTime as string), id.slice(15)), id)
          const keys = ExportLayout.manifestKeys(undefined, id)
          assert.strictEqual(keys.summary, Fixtures.realSummaryKey(id))
          assert.strictEqual(keys.files, summary.manifestFilesS3Key)
          for (const key of Object.values(keys)) {
            assert.isTrue(existsSync(Fixtures.localPath(Fixtures.realExportRoot, key)), key)
          }
          const directory = ExportLayout.dataDirectory(undefined, id, real.type)
          for (const entry of entries()) {
            const name = entry.dataFileS3Key.slice(directory.length + 1)
            assert.strictEqual(entry.dataFileS3Key, `${directory}/${name}`)
            assert.match(name, DATA_FILE_NAME)
            const { bytes, rest } = base32Decode(name.slice(0, 26))
            assert.strictEqual(rest, 0, name)
            assert.strictEqual(ExportLayout.dataFileName(bytes), name)
          }
        })

        it(`${full ? "fullSummary" : "incrementalSummary"} has the real summary's fields in its order`, () => {
          const text = summaryText()
          const summary = JSON.parse(text) as Record<string, any>
          const fields: ExportLayout.SummaryFields = {
            exportArn: summary.exportArn,
            startTime: summary.startTime,
            endTime: summary.endTime,
            tableArn: summary.tableArn,
            tableId: summary.tableId,
            s3Bucket: summary.s3Bucket,
            s3Prefix: summary.s3Prefix,
            manifestFilesS3Key: summary.manifestFilesS3Key,
            billedSizeBytes: summary.billedSizeBytes,
            itemCount: summary.itemCount
          }
          const written = full
            ? ExportLayout.fullSummary({ ...fields, exportTime: summary.exportTime })
            : ExportLayout.incrementalSummary({
              ...fields,
              exportFromTime: summary.exportFromTime,
              exportToTime: summary.exportToTime,
              outputView: summary.outputView
            })
          assert.strictEqual(written, text)
          // With other values too: the same names, in the same order.
          const other = full
            ? ExportLayout.fullSummary({ ...summaryFields, exportTime: summaryFields.startTime })
            : ExportLayout.incrementalSummary({
              ...summaryFields,
              exportFromTime: summaryFields.startTime,
              exportToTime: summaryFields.endTime,
              outputView: "NEW_IMAGE"
            })
          assert.deepStrictEqual(Object.keys(JSON.parse(other)), Object.keys(summary))
        })
      })
    }
  }
)
