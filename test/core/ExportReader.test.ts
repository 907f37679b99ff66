import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import * as LocalExport from "../../adapters/node/LocalExport.ts"
import type { IncrementalChange } from "../../adapters/node/LocalExportWriter.ts"
import * as AV from "../../core/AttributeValue.ts"
import type { Item } from "../../core/AttributeValue.ts"
import type { ChangeEvent, ExportPosition } from "../../core/ChangeEvent.ts"
import type { ExportError } from "../../core/Errors.ts"
import * as ExportLayout from "../../core/ExportLayout.ts"
import * as ItemKey from "../../core/ItemKey.ts"
import * as Fixtures from "../support/fixtures.ts"

const keySchema = ItemKey.make("pk", "sk")
const bytes = (...values: Array<number>) => Uint8Array.from(values)

/** An item with every attribute type, odd names and edge values. Key: pk (S), sk (N). */
const everyType = (pk: string, sk: string): Item =>
  AV.item([
    ["pk", AV.s(pk)],
    ["sk", AV.n(sk)],
    ["s", AV.s('text ✓ 日本語 👩‍👩‍👧‍👦 é "quoted" \\ \n')],
    ["emptyS", AV.s("")],
    ["n", AV.n("-12.50E3")],
    ["big", AV.n("9.9999999999999999999999999999999999999E+125")],
    ["tiny", AV.n("1E-130")],
    ["b", AV.b(bytes(0, 1, 2, 253, 254, 255))],
    ["emptyB", AV.b(new Uint8Array(0))],
    ["t", AV.bool(true)],
    ["f", AV.bool(false)],
    ["z", AV.nul],
    ["m", AV.m(AV.item({ inner: AV.l([AV.s("x"), AV.m(new Map())]), "odd name": AV.n("0") }))],
    ["l", AV.l([AV.n("1"), AV.nul, AV.l([]), AV.b(bytes(7))])],
    ["ss", AV.ss(["a", "b", "日本"])],
    ["ns", AV.ns(["1", "1.5", "-2E-3"])],
    ["bs", AV.bs([bytes(0), bytes(1, 2)])],
    ["__proto__", AV.s("an attribute, not a prototype")],
    ['odd "name".with[brackets]', AV.bool(true)]
  ])

const keyOf = (pk: string, sk: string): Item => AV.item([["pk", AV.s(pk)], ["sk", AV.n(sk)]])

const position = (exported: Fixtures.Fixture, file: number, line: number, micros?: string): ExportPosition => ({
  _tag: "Export",
  exportArn: exported.exportArn,
  file: exported.entries[file]!.dataFileS3Key,
  line,
  ...(micros === undefined ? {} : { writeTimestampMicros: micros })
})

const assertEvents = (actual: ReadonlyArray<ChangeEvent>, expected: ReadonlyArray<ChangeEvent>) => {
  assert.strictEqual(actual.length, expected.length, "number of events")
  expected.forEach((event, i) => {
    assert.deepStrictEqual(actual[i], event, `event ${i}`)
    if (event.newImage !== undefined) {
      assert.deepStrictEqual([...actual[i]!.newImage!.keys()], [...event.newImage.keys()], `event ${i}: name order`)
    }
  })
}

// ---------------------------------------------------------------------------------------------------------------------
// Good paths, each with both decompressors and both MD5s

const fullPartitions = [
  [everyType("alice", "1"), everyType("bob", "2"), everyType("carol", "-3.5")],
  [],
  [everyType("dave", "99999999999999999999999999999999999999")]
]

const writeFullFixture = (root: string, options: Fixtures.WriteOptions = {}) =>
  Fixtures.writeFull(root, fullPartitions, options)

const expectedFull = (exported: Fixtures.Fixture, withKey: boolean): Array<ChangeEvent> =>
  fullPartitions.flatMap((items, file) =>
    items.map((item, i) => ({
      op: "r" as const,
      ...(withKey ? { key: keyOf((item.get("pk") as AV.S).value, (item.get("sk") as AV.N).value) } : {}),
      newImage: item,
      timestampMs: Fixtures.EXPORT_TIME_MS,
      position: position(exported, file, i + 1)
    }))
  )

const before = (pk: string) => AV.item([["pk", AV.s(pk)], ["sk", AV.n("1")], ["v", AV.s("before")]])
const after = (pk: string) =>
  AV.item([["pk", AV.s(pk)], ["sk", AV.n("1")], ["v", AV.s("after")], ["tags", AV.ss(["x", "y"])]])

const newAndOldPartitions: ReadonlyArray<ReadonlyArray<IncrementalChange>> = [
  [
    { writeTimestampMicros: "1768386096366933", keys: keyOf("created", "1"), newImage: after("created") },
    {
      writeTimestampMicros: "1768386111571848",
      keys: keyOf("updated", "1"),
      oldImage: before("updated"),
      newImage: after("updated")
    },
    { writeTimestampMicros: "1768386122158621", keys: keyOf("deleted", "1"), oldImage: before("deleted") }
  ],
  [],
  [{ writeTimestampMicros: "1768386999999999", keys: keyOf("other", "1"), newImage: everyType("other", "1") }]
]

const newImagePartitions: ReadonlyArray<ReadonlyArray<IncrementalChange>> = [
  [
    { writeTimestampMicros: "1768386096366933", keys: keyOf("upserted", "1"), newImage: after("upserted") },
    { writeTimestampMicros: "1768386122158621", keys: keyOf("deleted", "1") }
  ]
]

const expectedIncremental = (
  exported: Fixtures.Fixture,
  partitions: ReadonlyArray<ReadonlyArray<IncrementalChange>>,
  ops: ReadonlyArray<ChangeEvent["op"]>
): Array<ChangeEvent> =>
  partitions.flatMap((changes, file) =>
    changes.map((change, i) => ({
      op: "c" as const,
      key: change.keys,
      ...(change.oldImage === undefined ? {} : { oldImage: change.oldImage }),
      ...(change.newImage === undefined ? {} : { newImage: change.newImage }),
      timestampMs: Math.floor(Number(change.writeTimestampMicros) / 1000),
      position: position(exported, file, i + 1, change.writeTimestampMicros)
    }))
  ).map((event, i) => ({ ...event, op: ops[i]! }))

describe.concurrent("ExportReader.read: good exports", () => {
  for (const variant of Fixtures.variants) {
    const options = { decompress: variant.decompress, md5: variant.md5 }

    describe(variant.name, () => {
      it.scoped("a full export with every attribute type: r events with key, image, export time, file and line", () =>
        Effect.gen(function* () {
          const exported = yield* writeFullFixture(yield* Fixtures.tempDirectory)
          assert.strictEqual(exported.entries.length, 3)
          const { error, events } = yield* Fixtures.read(exported, { ...options, keySchema })
          assert.isUndefined(error, error?.message)
          assertEvents(events, expectedFull(exported, true))
          // Items made when asked for: the same events.
          const lazy = yield* Fixtures.read(exported, { ...options, keySchema, itemsWhenAsked: true })
          assert.isUndefined(lazy.error, lazy.error?.message)
          assertEvents(lazy.events, expectedFull(exported, true))
          // Without a key schema, the events carry no key.
          const keyless = yield* Fixtures.readAll(exported.root, exported.summaryKey, options)
          assertEvents(keyless, expectedFull(exported, false))
        }))

      it.scoped("an incremental export in NEW_AND_OLD_IMAGES: c, u and d with images and write times", () =>
        Effect.gen(function* () {
          const exported = yield* Fixtures.writeIncremental(yield* Fixtures.tempDirectory, newAndOldPartitions, {
            view: "NEW_AND_OLD_IMAGES"
          })
          const events = yield* Fixtures.readAll(exported.root, exported.summaryKey, { ...options, keySchema })
          assertEvents(events, expectedIncremental(exported, newAndOldPartitions, ["c", "u", "d", "c"]))
        }))

      it.scoped("an incremental export in NEW_IMAGE: u (upsert, no before) and d", () =>
        Effect.gen(function* () {
          const exported = yield* Fixtures.writeIncremental(yield* Fixtures.tempDirectory, newImagePartitions, {
            view: "NEW_IMAGE"
          })
          const events = yield* Fixtures.readAll(exported.root, exported.summaryKey, options)
          assertEvents(events, expectedIncremental(exported, newImagePartitions, ["u", "d"]))
          assert.isUndefined(events[0]!.oldImage)
          assert.isUndefined(events[1]!.newImage)
        }))

      it.scoped("empty partitions: AWS's 20-byte gzip, no events", () =>
        Effect.gen(function* () {
          const exported = yield* Fixtures.writeFull(yield* Fixtures.tempDirectory, [[], [], []])
          for (const entry of exported.entries) {
            const data = yield* Fixtures.readBytes(exported, entry.dataFileS3Key)
            assert.deepStrictEqual(data, ExportLayout.EMPTY_GZIP)
            assert.strictEqual(entry.itemCount, 0)
          }
          assert.deepStrictEqual(yield* Fixtures.readAll(exported.root, exported.summaryKey, options), [])
          const incremental = yield* Fixtures.writeIncremental(exported.root, [[]], { view: "NEW_IMAGE", seed: 2 })
          assert.deepStrictEqual(yield* Fixtures.readAll(incremental.root, incremental.summaryKey, options), [])
        }))

      it.scoped("an S3 prefix: manifest and data keys include it", () =>
        Effect.gen(function* () {
          const root = yield* Fixtures.tempDirectory
          const prefix = "exports/2026-01"
          const full = yield* writeFullFixture(root, { prefix })
          assert.isTrue(full.summaryKey.startsWith(`${prefix}/AWSDynamoDB/${full.exportId}/`), full.summaryKey)
          const events = yield* Fixtures.readAll(root, full.summaryKey, { ...options, keySchema })
          assertEvents(events, expectedFull(full, true))
          for (const event of events) {
            assert.isTrue((event.position as ExportPosition).file.startsWith(`${prefix}/AWSDynamoDB/${full.exportId}/`))
          }
          const incremental = yield* Fixtures.writeIncremental(root, newAndOldPartitions, {
            prefix,
            view: "NEW_AND_OLD_IMAGES",
            seed: 2
          })
          const changes = yield* Fixtures.readAll(root, incremental.summaryKey, options)
          assertEvents(changes, expectedIncremental(incremental, newAndOldPartitions, ["c", "u", "d", "c"]))
          for (const event of changes) {
            assert.isTrue((event.position as ExportPosition).file.startsWith(`${prefix}/AWSDynamoDB/data/`))
          }
        }))
    })
  }
})

describe.concurrent("ExportReader.read: order and concurrency", () => {
  // Files of very different sizes, so that with concurrency a later file finishes before an earlier one; one line of
  // about 325 KB spans several chunks of either decompressor (64 KiB and 256 KiB).
  const sizes = [300, 0, 1, 150, 7]
  const item = (file: number, i: number) =>
    AV.item([["pk", AV.s(`p${file}`)], ["sk", AV.n(String(i))], ["v", AV.s(`${file}/${i} ${"x".repeat(i % 50)}`)]])
  const big = AV.item([["pk", AV.s("big")], ["sk", AV.n("0")], ["v", AV.s("日本語😀".repeat(25_000))]])
  const partitions = [...sizes.map((size, file) => Array.from({ length: size }, (_, i) => item(file, i))), [big]]

  it.scoped("events come in manifest order then line order, the same for concurrency 1, 2, 4 and 8", () =>
    Effect.gen(function* () {
      const exported = yield* Fixtures.writeFull(yield* Fixtures.tempDirectory, partitions)
      const expected = partitions.flatMap((items, file) =>
        items.map((item, i) => `${exported.entries[file]!.dataFileS3Key}:${i + 1}:${ItemKey.encode(keySchema, item)}`)
      )
      for (const variant of Fixtures.variants) {
        for (const concurrency of [1, 2, 4, 8]) {
          const events = yield* Fixtures.readAll(exported.root, exported.summaryKey, {
            concurrency,
            keySchema,
            decompress: variant.decompress,
            md5: variant.md5
          })
          const actual = events.map((event) => {
            const at = event.position as ExportPosition
            return `${at.file}:${at.line}:${ItemKey.encode(keySchema, event.key!)}`
          })
          assert.deepStrictEqual(actual, expected, `${variant.name}, concurrency ${concurrency}`)
          assert.isTrue(AV.itemEquals(events[events.length - 1]!.newImage!, big))
        }
      }
    }))
})

// ---------------------------------------------------------------------------------------------------------------------
// Bad inputs

/** The error of a read that had to fail, checked to be of `tag`, with a message that names `file`. */
const expectError = <Tag extends ExportError["_tag"]>(
  outcome: Fixtures.ReadOutcome,
  tag: Tag,
  file: string
): Extract<ExportError, { readonly _tag: Tag }> => {
  const error = outcome.error
  if (error === undefined) return assert.fail(`expected ${tag}, the export was read (${outcome.events.length} events)`)
  assert.strictEqual(error._tag, tag, error.message)
  assert.strictEqual(error.file, file)
  assert.include(error.message, file)
  return error as Extract<ExportError, { readonly _tag: Tag }>
}

/** No event of `file` at or after `line` was emitted (at most `line - 1` events from it). */
const assertNothingFrom = (outcome: Fixtures.ReadOutcome, file: string, line: number) => {
  const fromFile = outcome.events.filter((event) => (event.position as ExportPosition).file === file)
  assert.isAtMost(fromFile.length, line - 1)
  for (const event of fromFile) assert.isBelow((event.position as ExportPosition).line, line)
}

const goodFull = (sk: number) => ExportLayout.fullLine(keyOf("good", String(sk)))
const badFull = (value: string) => `{"Item":{"pk":{"S":"bad"},"sk":{"N":"0"},"x":${value}}}\n`

const goodIncremental = (sk: number) =>
  ExportLayout.incrementalLine({ writeTimestampMicros: "1768386096366933", keys: keyOf("good", String(sk)) })

interface LineCase {
  readonly name: string
  readonly type?: "full" | "incremental"
  /** The bad line (with its newline), or its bytes. */
  readonly line: string | Uint8Array
  readonly path: string
  readonly reason: string | RegExp
}

const lineCases: ReadonlyArray<LineCase> = [
  {
    name: "an unknown type tag",
    line: badFull('{"Q":"1"}'),
    path: "$.Item.x",
    reason: 'unknown type tag "Q": expected one of S, N, B, BOOL, NULL, M, L, SS, NS, BS'
  },
  {
    name: "two type tags in one value",
    line: badFull('{"S":"a","N":"1"}'),
    path: "$.Item.x",
    reason: "an attribute value has exactly one type tag, found S and N"
  },
  {
    name: "no type tag",
    line: badFull("{}"),
    path: "$.Item.x",
    reason: "an attribute value has exactly one type tag, found none"
  },
  {
    name: "an N with 39 significant digits",
    line: badFull('{"N":"123456789012345678901234567890123456789"}'),
    path: "$.Item.x.N",
    reason: 'the number "123456789012345678901234567890123456789" has 39 significant digits; DynamoDB keeps at most 38'
  },
  {
    name: "an N out of range",
    line: badFull('{"N":"1E126"}'),
    path: "$.Item.x.N",
    reason: 'the number "1E126" is out of DynamoDB\'s range (1E-130 to 9.9999999999999999999999999999999999999E+125)'
  },
  {
    name: "an N that is a JSON number",
    line: badFull('{"N":12}'),
    path: "$.Item.x.N",
    reason: "expected a number as a string, got number"
  },
  {
    name: "bad base64",
    line: badFull('{"B":"abc"}'),
    path: "$.Item.x.B",
    reason: '"abc" is not valid base64'
  },
  {
    name: "bad base64 in a binary set, deep in a map",
    line: badFull('{"M":{"l":{"L":[{"S":"a"},{"BS":["AA==","A==="]}]}}}'),
    path: "$.Item.x.M.l.L[1].BS[1]",
    reason: '"A===" is not valid base64'
  },
  { name: "an empty set", line: badFull('{"SS":[]}'), path: "$.Item.x.SS", reason: "a set cannot be empty" },
  {
    name: "a duplicated set (equal numbers)",
    line: badFull('{"NS":["1","2","1.0"]}'),
    path: "$.Item.x.NS[2]",
    reason: 'a set cannot hold duplicates: "1.0" is there twice'
  },
  {
    name: "a duplicated string set",
    line: badFull('{"SS":["a","a"]}'),
    path: "$.Item.x.SS[1]",
    reason: 'a set cannot hold duplicates: "a" is there twice'
  },
  {
    name: "an odd attribute name in the path",
    line: '{"Item":{"pk":{"S":"bad"},"sk":{"N":"0"},"odd name":{"BOOL":"yes"}}}\n',
    path: '$.Item["odd name"].BOOL',
    reason: "expected true or false, got string"
  },
  { name: "a line that is not JSON", line: '{"Item":{"pk":\n', path: "$", reason: /^not JSON \(.+\)$/ },
  { name: "a blank line in the middle", line: "\n", path: "$", reason: /^not JSON \(.+\)$/ },
  {
    name: "invalid UTF-8 in a line",
    line: new Uint8Array([
      ...new TextEncoder().encode('{"Item":{"pk":{"S":"bad'),
      0xff,
      0xfe,
      ...new TextEncoder().encode('"},"sk":{"N":"0"}}}\n')
    ]),
    path: "$",
    reason: "the line is not valid UTF-8"
  },
  {
    name: "a UTF-8 character cut short in a line",
    line: new Uint8Array([...new TextEncoder().encode('{"Item":{"pk":{"S":"bad'), 0xe6, 0x97, 0x0a]),
    path: "$",
    reason: "the line is not valid UTF-8"
  },
  {
    name: "a full-export line without Item",
    line: "{}\n",
    path: "$",
    reason: 'expected {"Item": {…}}: the line has no Item'
  },
  {
    name: "a full-export line that is not an object",
    line: '[{"Item":{}}]\n',
    path: "$",
    reason: 'expected {"Item": {…}}, got [{"Item":{}}]'
  },
  {
    name: "a full-export line with an extra field",
    line: '{"Item":{"pk":{"S":"bad"},"sk":{"N":"0"}},"Extra":{}}\n',
    path: "$.Extra",
    reason: "unexpected field in a full export line; expected Item"
  },
  {
    name: "a full-export line whose Item is not an object",
    line: '{"Item":[]}\n',
    path: "$.Item",
    reason: "expected an object of attribute values"
  },
  {
    name: "a key attribute missing for the key schema",
    line: '{"Item":{"pk":{"S":"bad"},"other":{"N":"0"}}}\n',
    path: "$.Item",
    reason: 'the key attribute "sk" is missing'
  },
  {
    name: "a key attribute of a type keys cannot have",
    line: '{"Item":{"pk":{"BOOL":true},"sk":{"N":"0"}}}\n',
    path: "$.Item",
    reason: 'the key attribute "pk" is of type BOOL; keys are S, N or B'
  },
  {
    name: "an incremental line without Metadata.WriteTimestampMicros",
    type: "incremental",
    line: `${JSON.stringify({ Keys: { pk: { S: "bad" } }, NewImage: { pk: { S: "bad" }, sk: { N: "0" } } })}\n`,
    path: "$.Metadata.WriteTimestampMicros",
    reason: 'expected {"N": "<microseconds since the epoch>"}'
  },
  {
    name: "an incremental line whose WriteTimestampMicros is not digits",
    type: "incremental",
    line: `${JSON.stringify({ Metadata: { WriteTimestampMicros: { N: "1.5E15" } }, Keys: { pk: { S: "bad" } } })}\n`,
    path: "$.Metadata.WriteTimestampMicros",
    reason: 'expected {"N": "<microseconds since the epoch>"}'
  },
  {
    name: "an incremental line without Keys",
    type: "incremental",
    line: `${JSON.stringify({ Metadata: { WriteTimestampMicros: { N: "1768386096366933" } }, NewImage: {} })}\n`,
    path: "$",
    reason: "the line has no Keys"
  },
  {
    name: "an incremental line whose NewImage does not match its Keys",
    type: "incremental",
    line: '{"Metadata":{"WriteTimestampMicros":{"N":"1768386096366933"}},"Keys":{"pk":{"S":"a"}},'
      + '"NewImage":{"pk":{"S":"b"}}}\n',
    path: "$.NewImage.pk",
    reason: "does not match the line's Keys"
  },
  {
    name: "an incremental line with a full export's Item",
    type: "incremental",
    line: '{"Item":{"pk":{"S":"a"}}}\n',
    path: "$.Item",
    reason: /^unexpected field in an incremental export line; expected Metadata, Keys, NewImage, OldImage$/
  }
]

describe.concurrent("ExportReader.read: bad lines fail with ExportLineInvalid naming file, line and JSON path", () => {
  for (const c of lineCases) {
    it.scoped(c.name, () =>
      Effect.gen(function* () {
        const root = yield* Fixtures.tempDirectory
        const incremental = c.type === "incremental"
        const good = incremental ? goodIncremental : goodFull
        // Two data files: the first good, the second with the bad line at line 2 and good lines after it.
        const exported = incremental
          ? yield* Fixtures.writeIncremental(root, [[], []], { view: "NEW_AND_OLD_IMAGES" })
          : yield* Fixtures.writeFull(root, [[keyOf("good", "10"), keyOf("good", "11")], []])
        const encoder = new TextEncoder()
        const bad = typeof c.line === "string" ? encoder.encode(c.line) : c.line
        const content = new Uint8Array([
          ...encoder.encode(good(1)),
          ...bad,
          ...encoder.encode([2, 3, 4].map(good).join(""))
        ])
        const damaged = yield* Fixtures.rewriteDataFile(
          incremental ? yield* Fixtures.rewriteDataFile(exported, 0, [10, 11].map(good).join("")) : exported,
          1,
          content
        )
        const file = damaged.entries[1]!.dataFileS3Key
        const outcome = yield* Fixtures.read(damaged, { keySchema })
        const error = expectError(outcome, "ExportLineInvalid", file)
        assert.strictEqual(error.line, 2)
        assert.strictEqual(error.path, c.path)
        if (typeof c.reason === "string") assert.strictEqual(error.reason, c.reason)
        else assert.match(error.reason, c.reason)
        assert.strictEqual(error.message, `data file ${file}, line 2, at ${c.path}: ${error.reason}`)
        // The good file before it was read whole; nothing at or after the bad line was emitted.
        assert.deepStrictEqual(
          outcome.events.slice(0, 2).map((event) => event.position),
          [1, 2].map((line) => position(damaged, 0, line, incremental ? "1768386096366933" : undefined))
        )
        assertNothingFrom(outcome, file, 2)
      }))
  }
})

describe.concurrent("ExportReader.read: damaged data files", () => {
  /** A full export of one big-ish data file (lines that do not compress to nothing) and a small one after it. */
  const lines = Array.from({ length: 1500 }, (_, i) =>
    ExportLayout.fullLine(
      AV.item([["pk", AV.s(`item-${(i * 7919) % 3001}`)], ["sk", AV.n(String(i))], ["v", AV.n(String(i * i))]])
    ))
  const writeDamageable = (root: string) =>
    Effect.flatMap(
      Fixtures.writeFull(root, [[], [keyOf("after", "1")]]),
      (exported) => Fixtures.rewriteDataFile(exported, 0, lines.join(""))
    )

  for (const variant of Fixtures.decompressors) {
    it.scoped(`a truncated gzip (cut in half) is ExportFileUnreadable, never success or crash (${variant.name})`, () =>
      Effect.gen(function* () {
        const exported = yield* writeDamageable(yield* Fixtures.tempDirectory)
        const file = exported.entries[0]!.dataFileS3Key
        const gzip = yield* Fixtures.readBytes(exported, file)
        assert.isAbove(gzip.length, 5_000)
        // The manifest is left as it was: the MD5 check would fail too, but the gunzip fails first.
        yield* Fixtures.overwrite(exported, file, gzip.subarray(0, gzip.length >> 1))
        const outcome = yield* Fixtures.read(exported, { keySchema, decompress: variant.decompress })
        const error = expectError(outcome, "ExportFileUnreadable", file)
        assert.match(error.reason, /^the gzip data ends early \(.+\): the file is truncated$/)
        assert.strictEqual(error.message, `data file ${file} cannot be read: ${error.reason}`)
        // What was emitted is the file's first lines, whole and in order; the cut line never is.
        assert.isBelow(outcome.events.length, lines.length)
        outcome.events.forEach((event, i) => {
          assert.deepStrictEqual(event.position, position(exported, 0, i + 1))
          assert.strictEqual(ExportLayout.fullLine(event.newImage!), lines[i])
        })
        // Even with a manifest that agrees with the truncated bytes.
        const truncated = yield* Fixtures.readBytes(exported, file)
        const agreeing = yield* Fixtures.writeManifest(exported, [
          Fixtures.entryFor(truncated, file, lines.length),
          exported.entries[1]!
        ])
        const again = yield* Fixtures.read(agreeing, { decompress: variant.decompress })
        assert.match(expectError(again, "ExportFileUnreadable", file).reason, /truncated/)
        // Cut anywhere, from inside the header to the last byte of the trailer: never a success.
        for (const length of [1, 9, 10, 100, gzip.length - 8, gzip.length - 1]) {
          yield* Fixtures.overwrite(exported, file, gzip.subarray(0, length))
          const cut = yield* Fixtures.read(exported, { decompress: variant.decompress })
          assert.match(expectError(cut, "ExportFileUnreadable", file).reason, /truncated/, `cut at ${length}`)
        }
      }))

    it.scoped(`bytes that are not gzip at all are ExportFileUnreadable (${variant.name})`, () =>
      Effect.gen(function* () {
        const exported = yield* writeDamageable(yield* Fixtures.tempDirectory)
        const file = exported.entries[0]!.dataFileS3Key
        const damaged = yield* Fixtures.rewriteDataFile(exported, 0, lines.slice(0, 3).join(""), { gzip: false })
        const outcome = yield* Fixtures.read(damaged, { decompress: variant.decompress })
        const error = expectError(outcome, "ExportFileUnreadable", file)
        assert.match(error.reason, /^not valid gzip data \(.+\)$/)
        assert.include(error.message, "cannot be read")
        assert.deepStrictEqual(outcome.events, [])
      }))

    it.scoped(`an empty file (0 bytes, not AWS's 20-byte gzip) is ExportFileUnreadable (${variant.name})`, () =>
      Effect.gen(function* () {
        const exported = yield* writeDamageable(yield* Fixtures.tempDirectory)
        const damaged = yield* Fixtures.rewriteDataFile(exported, 0, new Uint8Array(0), { gzip: false })
        const outcome = yield* Fixtures.read(damaged, { decompress: variant.decompress })
        const error = expectError(outcome, "ExportFileUnreadable", exported.entries[0]!.dataFileS3Key)
        assert.match(error.reason, /truncated/)
      }))

    it.scoped(`a gzip whose compressed data is corrupt is ExportFileUnreadable (${variant.name})`, () =>
      Effect.gen(function* () {
        const exported = yield* writeDamageable(yield* Fixtures.tempDirectory)
        const file = exported.entries[0]!.dataFileS3Key
        const gzip = yield* Fixtures.readBytes(exported, file)
        const corrupt = gzip.slice()
        corrupt[corrupt.length - 8] = corrupt[corrupt.length - 8]! ^ 0x01 // the CRC32 in the trailer
        yield* Fixtures.overwrite(exported, file, corrupt)
        const outcome = yield* Fixtures.read(exported, { decompress: variant.decompress })
        const error = expectError(outcome, "ExportFileUnreadable", file)
        assert.match(error.reason, /^not valid gzip data \(.+\)$/)
      }))
  }

  it.scoped("fewer lines than the manifest's itemCount: ExportFileMismatch on itemCount, after the file's events", () =>
    Effect.gen(function* () {
      const exported = yield* Fixtures.writeFull(yield* Fixtures.tempDirectory, [[], [keyOf("after", "1")]])
      const damaged = yield* Fixtures.rewriteDataFile(exported, 0, [1, 2].map(goodFull).join(""), {
        manifest: "md5",
        itemCount: 3
      })
      const file = damaged.entries[0]!.dataFileS3Key
      assert.strictEqual(damaged.entries[0]!.itemCount, 3)
      const outcome = yield* Fixtures.read(damaged)
      const error = expectError(outcome, "ExportFileMismatch", file)
      assert.strictEqual(error.what, "itemCount")
      assert.strictEqual(error.expected, "3")
      assert.strictEqual(error.actual, "2")
      assert.include(error.message, "the manifest says itemCount 3 but the file has 2")
      assert.include(error.message, "damaged or incomplete")
      // The check can only fail at the end: the file's lines were emitted, nothing of the next file.
      assert.strictEqual(outcome.events.length, 2)
      assertNothingFrom(outcome, damaged.entries[1]!.dataFileS3Key, 1)
    }))

  it.scoped("more lines than the manifest's itemCount: ExportFileMismatch at the first extra line", () =>
    Effect.gen(function* () {
      const exported = yield* Fixtures.writeFull(yield* Fixtures.tempDirectory, [[], [keyOf("after", "1")]])
      const damaged = yield* Fixtures.rewriteDataFile(exported, 0, [1, 2, 3, 4, 5].map(goodFull).join(""), {
        manifest: "md5",
        itemCount: 3
      })
      const file = damaged.entries[0]!.dataFileS3Key
      const outcome = yield* Fixtures.read(damaged)
      const error = expectError(outcome, "ExportFileMismatch", file)
      assert.strictEqual(error.what, "itemCount")
      assert.strictEqual(error.expected, "3")
      assert.match(error.actual, /^more/)
      assert.include(error.message, "the manifest says itemCount 3")
      assertNothingFrom(outcome, file, 4)
      assertNothingFrom(outcome, damaged.entries[1]!.dataFileS3Key, 1)
    }))

  it.scoped("a gzip header byte changed (same content, other bytes): ExportFileMismatch on md5Checksum", () =>
    Effect.gen(function* () {
      const exported = yield* Fixtures.writeFull(yield* Fixtures.tempDirectory, [[keyOf("a", "1"), keyOf("a", "2")]])
      const file = exported.entries[0]!.dataFileS3Key
      const gzip = (yield* Fixtures.readBytes(exported, file)).slice()
      gzip[4] = gzip[4]! ^ 0x5a // MTIME: still gunzips to the same lines
      yield* Fixtures.overwrite(exported, file, gzip)
      for (const variant of Fixtures.variants) {
        const outcome = yield* Fixtures.read(exported, { decompress: variant.decompress, md5: variant.md5 })
        const error = expectError(outcome, "ExportFileMismatch", file)
        assert.strictEqual(error.what, "md5Checksum", variant.name)
        assert.strictEqual(error.expected, exported.entries[0]!.md5Checksum)
        assert.strictEqual(error.actual, Fixtures.entryFor(gzip, file, 2).md5Checksum)
        assert.include(error.message, `says md5Checksum ${error.expected} but the file has ${error.actual}`)
        // The lines themselves were fine: they were emitted before the check at the end of the file.
        assert.strictEqual(outcome.events.length, 2)
      }
    }))

  it.scoped("other content recompressed with the right item count: ExportFileMismatch on md5Checksum", () =>
    Effect.gen(function* () {
      const exported = yield* Fixtures.writeFull(yield* Fixtures.tempDirectory, [[keyOf("a", "1"), keyOf("a", "2")]])
      const damaged = yield* Fixtures.rewriteDataFile(exported, 0, [7, 8].map(goodFull).join(""), { manifest: "keep" })
      const outcome = yield* Fixtures.read(damaged)
      const error = expectError(outcome, "ExportFileMismatch", exported.entries[0]!.dataFileS3Key)
      assert.strictEqual(error.what, "md5Checksum")
      assert.strictEqual(error.expected, exported.entries[0]!.md5Checksum)
    }))

  it.scoped("a data file named in the manifest but missing: ExportFileMissing", () =>
    Effect.gen(function* () {
      const exported = yield* Fixtures.writeFull(yield* Fixtures.tempDirectory, [[keyOf("a", "1")], [keyOf("b", "1")]])
      const file = exported.entries[1]!.dataFileS3Key
      yield* Fixtures.remove(exported, file)
      for (const concurrency of [1, 4]) {
        const outcome = yield* Fixtures.read(exported, { concurrency })
        const error = expectError(outcome, "ExportFileMissing", file)
        assert.include(error.message, "is named in the export manifest but missing")
        assert.include(error.message, "copy the whole export")
        // The file before it was read whole.
        assert.deepStrictEqual(outcome.events.map((event) => event.position), [position(exported, 0, 1)])
      }
    }))

  it.scoped("a data key naming a folder is ExportFileMissing; one leaving the bucket is ExportFileUnreadable", () =>
    Effect.gen(function* () {
      const exported = yield* Fixtures.writeFull(yield* Fixtures.tempDirectory, [[keyOf("a", "1")], []])
      const [first, second] = exported.entries
      const folder = `AWSDynamoDB/${exported.exportId}/data`
      const asFolder = yield* Fixtures.writeManifest(exported, [first!, { ...second!, dataFileS3Key: folder }])
      expectError(yield* Fixtures.read(asFolder), "ExportFileMissing", folder)
      const outside = `AWSDynamoDB/../../${path.basename(exported.root)}-elsewhere.json.gz`
      const escaping = yield* Fixtures.writeManifest(exported, [first!, { ...second!, dataFileS3Key: outside }])
      const error = expectError(yield* Fixtures.read(escaping), "ExportFileUnreadable", outside)
      assert.match(error.reason, /^the key leaves the store's folder /)
    }))
})

describe.concurrent("ExportReader.read: bad manifests fail with ExportManifestInvalid", () => {
  const writeThreeFiles = (root: string) =>
    Fixtures.writeFull(root, [
      [keyOf("a", "1"), keyOf("a", "2")],
      [keyOf("b", "1")],
      [keyOf("c", "1"), keyOf("c", "2")]
    ])

  const expectManifestError = (outcome: Fixtures.ReadOutcome, file: string, reason: string | RegExp) => {
    const error = expectError(outcome, "ExportManifestInvalid", file)
    if (typeof reason === "string") assert.strictEqual(error.reason, reason)
    else assert.match(error.reason, reason)
    assert.strictEqual(error.message, `export manifest ${file}: ${error.reason}`)
    assert.deepStrictEqual(outcome.events, [], "no data file is read before the manifests check out")
  }

  it.scoped("the summary is missing", () =>
    Effect.gen(function* () {
      const exported = yield* writeThreeFiles(yield* Fixtures.tempDirectory)
      yield* Fixtures.remove(exported, exported.summaryKey)
      expectManifestError(yield* Fixtures.read(exported), exported.summaryKey, "the summary is missing")
    }))

  it.scoped("the summary is not JSON", () =>
    Effect.gen(function* () {
      const exported = yield* writeThreeFiles(yield* Fixtures.tempDirectory)
      yield* Fixtures.overwrite(exported, exported.summaryKey, '{"version":"2020-06-30",')
      expectManifestError(yield* Fixtures.read(exported), exported.summaryKey, /^the summary is not JSON \(.+\)$/)
    }))

  it.scoped("the summary lacks a field AWS writes", () =>
    Effect.gen(function* () {
      const exported = yield* writeThreeFiles(yield* Fixtures.tempDirectory)
      yield* Fixtures.patchSummary(exported, { manifestFilesS3Key: undefined })
      expectManifestError(yield* Fixtures.read(exported), exported.summaryKey, /manifestFilesS3Key/)
    }))

  it.scoped("the export is in ION", () =>
    Effect.gen(function* () {
      const exported = yield* writeThreeFiles(yield* Fixtures.tempDirectory)
      yield* Fixtures.patchSummary(exported, { outputFormat: "ION" })
      expectManifestError(
        yield* Fixtures.read(exported),
        exported.summaryKey,
        "the export's format is ION; backstream reads DYNAMODB_JSON exports: export again with --export-format "
          + "DYNAMODB_JSON"
      )
    }))

  it.scoped("the file list is missing", () =>
    Effect.gen(function* () {
      const exported = yield* writeThreeFiles(yield* Fixtures.tempDirectory)
      yield* Fixtures.remove(exported, exported.filesKey)
      expectManifestError(yield* Fixtures.read(exported), exported.filesKey, "the file list is missing")
    }))

  it.scoped("a line removed from manifest-files.json, its stale manifest-files.md5 present: the MD5 check fails", () =>
    Effect.gen(function* () {
      const exported = yield* writeThreeFiles(yield* Fixtures.tempDirectory)
      const damaged = yield* Fixtures.writeManifest(exported, exported.entries.slice(0, 2), {
        md5: "keep",
        summaryItemCount: 5
      })
      expectManifestError(
        yield* Fixtures.read(damaged),
        exported.filesKey,
        /^its MD5 is \S+ but \S+manifest-files\.md5 says \S+: the file list is damaged or incomplete$/
      )
    }))

  it.scoped("a line removed from manifest-files.json, with a matching manifest-files.md5: the item counts fail", () =>
    Effect.gen(function* () {
      const exported = yield* writeThreeFiles(yield* Fixtures.tempDirectory)
      const damaged = yield* Fixtures.writeManifest(exported, exported.entries.slice(0, 2), { summaryItemCount: 5 })
      expectManifestError(
        yield* Fixtures.read(damaged),
        exported.filesKey,
        "its files hold 3 items but the summary says 5: the file list is incomplete or belongs to another export"
      )
    }))

  it.scoped("a line removed from manifest-files.json, manifest-files.md5 absent: the item counts fail", () =>
    Effect.gen(function* () {
      const exported = yield* writeThreeFiles(yield* Fixtures.tempDirectory)
      const damaged = yield* Fixtures.writeManifest(exported, exported.entries.slice(1), {
        md5: "remove",
        summaryItemCount: 5
      })
      expectManifestError(
        yield* Fixtures.read(damaged),
        exported.filesKey,
        "its files hold 3 items but the summary says 5: the file list is incomplete or belongs to another export"
      )
    }))

  it.scoped("manifest-files.md5 does not match manifest-files.json", () =>
    Effect.gen(function* () {
      const exported = yield* writeThreeFiles(yield* Fixtures.tempDirectory)
      const md5Key = exported.filesKey.replace(/\.json$/, ".md5")
      yield* Fixtures.overwrite(exported, md5Key, "AAAAAAAAAAAAAAAAAAAAAA==")
      expectManifestError(
        yield* Fixtures.read(exported),
        exported.filesKey,
        new RegExp(`^its MD5 is \\S+ but ${md5Key} says AAAAAAAAAAAAAAAAAAAAAA==: the file list is damaged`)
      )
      // Without the .md5, the same list reads.
      yield* Fixtures.remove(exported, md5Key)
      assert.strictEqual((yield* Fixtures.readAll(exported.root, exported.summaryKey)).length, 5)
    }))

  it.scoped("a file listed twice", () =>
    Effect.gen(function* () {
      const exported = yield* writeThreeFiles(yield* Fixtures.tempDirectory)
      const [first, second] = exported.entries
      for (const md5 of ["update", "remove"] as const) {
        const damaged = yield* Fixtures.writeManifest(exported, [first!, second!, first!], { md5 })
        expectManifestError(
          yield* Fixtures.read(damaged),
          exported.filesKey,
          `line 3: ${first!.dataFileS3Key} is listed twice`
        )
      }
    }))

  it.scoped("a line of manifest-files.json that is not a file entry", () =>
    Effect.gen(function* () {
      const exported = yield* writeThreeFiles(yield* Fixtures.tempDirectory)
      const text = ExportLayout.filesManifest(exported.entries).replace('"md5Checksum":"', '"md5Checksum":"x')
      yield* Fixtures.overwrite(exported, exported.filesKey, text)
      yield* Fixtures.overwrite(exported, exported.filesKey.replace(/\.json$/, ".md5"), ExportLayout.manifestMd5(text))
      expectManifestError(yield* Fixtures.read(exported), exported.filesKey, /^line 1: md5Checksum: /)
    }))
})

// ---------------------------------------------------------------------------------------------------------------------
// LocalExport.locate

describe.concurrent("LocalExport.locate", () => {
  const located = (input: string) =>
    Effect.flatMap(
      Effect.either(LocalExport.locate(input)),
      (result) =>
        result._tag === "Right"
          ? Effect.succeed(result.right)
          : Effect.dieMessage(`expected ${input} to be found: ${result.left.message}`)
    )

  const notFound = (input: string) =>
    Effect.flatMap(
      Effect.either(LocalExport.locate(input)),
      (result) =>
        result._tag === "Left" && result.left._tag === "LocalExportNotFound"
          ? Effect.succeed(result.left)
          : Effect.dieMessage(`expected LocalExportNotFound for ${input}, got ${JSON.stringify(result)}`)
    )

  it.scoped("an export folder or its summary: the bucket folder and the summary's key, ready to read", () =>
    Effect.gen(function* () {
      const bucket = yield* Fixtures.tempDirectory
      const real = yield* Effect.promise(() => fs.realpath(bucket))
      const exported = yield* writeFullFixture(bucket)
      for (const input of [exported.directory, exported.summaryPath, `${exported.directory}/`]) {
        const { root, summaryKey } = yield* located(input)
        assert.strictEqual(path.resolve(root), real, input)
        assert.strictEqual(summaryKey, exported.summaryKey, input)
        assert.strictEqual((yield* Fixtures.readAll(root, summaryKey, { keySchema })).length, 4)
      }
    }))

  it.scoped("an export under an S3 prefix: the bucket folder is above the prefix", () =>
    Effect.gen(function* () {
      const bucket = yield* Fixtures.tempDirectory
      const real = yield* Effect.promise(() => fs.realpath(bucket))
      const exported = yield* Fixtures.writeIncremental(bucket, newAndOldPartitions, {
        prefix: "team/exports",
        view: "NEW_AND_OLD_IMAGES"
      })
      const { root, summaryKey } = yield* located(exported.directory)
      assert.strictEqual(path.resolve(root), real)
      assert.strictEqual(summaryKey, `team/exports/AWSDynamoDB/${exported.exportId}/manifest-summary.json`)
      assert.strictEqual((yield* Fixtures.readAll(root, summaryKey)).length, 4)
    }))

  it.scoped("a folder whose layout does not match the summary's key is an error that says what to do", () =>
    Effect.gen(function* () {
      const bucket = yield* Fixtures.tempDirectory
      const exported = yield* writeFullFixture(bucket, { prefix: "team" })
      // The export folder copied without its prefix, then without AWSDynamoDB/ either.
      for (const copy of [path.join(bucket, "AWSDynamoDB", exported.exportId), path.join(bucket, exported.exportId)]) {
        yield* Effect.promise(() => fs.cp(exported.directory, copy, { recursive: true }))
        const error = yield* notFound(copy)
        assert.strictEqual(error.path, copy)
        assert.include(error.reason, `the summary says the export lives at team/AWSDynamoDB/${exported.exportId}`)
        assert.include(error.reason, "keep the export's layout")
        assert.strictEqual(error.message, `${copy}: ${error.reason}`)
      }
    }))

  it.scoped("a missing path, a folder without a summary, a file that is not a summary", () =>
    Effect.gen(function* () {
      const bucket = yield* Fixtures.tempDirectory
      const exported = yield* writeFullFixture(bucket)
      const missing = path.join(bucket, "no", "such", "export")
      assert.strictEqual((yield* notFound(missing)).reason, "no such file or folder")
      assert.match((yield* notFound(bucket)).reason, /^there is no manifest-summary\.json here/)
      const other = path.join(exported.directory, "manifest-files.json")
      assert.match((yield* notFound(other)).reason, /^expected an export folder .* or its manifest-summary\.json$/)
    }))

  it.scoped("a summary that is not valid is ExportManifestInvalid", () =>
    Effect.gen(function* () {
      const exported = yield* writeFullFixture(yield* Fixtures.tempDirectory)
      yield* Fixtures.patchSummary(exported, { outputFormat: "ION" })
      const result = yield* Effect.either(LocalExport.locate(exported.directory))
      assert.isTrue(result._tag === "Left" && result.left._tag === "ExportManifestInvalid", JSON.stringify(result))
    }))
})
