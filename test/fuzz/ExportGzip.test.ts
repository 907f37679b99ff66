/**
 * Export data files whose gzip bytes were damaged: flipped bytes, cuts at random offsets, appended garbage, inserted
 * and deleted runs, with the manifest's MD5 left as it was (the damage must never go unnoticed) or made to match the
 * damaged bytes (only gzip's own checks stand guard). The reader must fail with a typed error naming the damaged file,
 * after exactly the events of the files before it and none after, or give exactly the export's events. A second gzip
 * member appended to a file adds its lines, which the manifest's item count must account for.
 */
import { describe, it } from "@effect/vitest"
import { Effect, FastCheck as fc } from "effect"
import * as zlib from "node:zlib"
import * as AV from "../../core/AttributeValue.ts"
import type * as ExportReader from "../../core/ExportReader.ts"
import * as Fixtures from "../support/fixtures.ts"
import { checkDamagedFile, checkLines, run } from "./support/ExportOracle.ts"
import {
  dataFileContent,
  eventsOfFile,
  exportSpec,
  generated,
  readOptions,
  readWithin,
  real,
  type Source
} from "./support/ExportSources.ts"
import type { Expect } from "./support/LineMutations.ts"
import { type BytesMutation, bytesMutation, concat, mutateBytes, runs } from "./support/Values.ts"

/** Damages the gzip bytes of one data file; `manifest: "md5"` makes the manifest's MD5 match the damaged bytes. */
const damageGzip = (
  source: Source,
  fileSeed: number,
  mutation: BytesMutation,
  manifest: "keep" | "md5",
  options: ExportReader.ReadOptions
) =>
  Effect.gen(function* () {
    const index = fileSeed % source.fixture.entries.length
    const entry = source.fixture.entries[index]!
    const gzip = yield* Fixtures.readBytes(source.fixture, entry.dataFileS3Key)
    const damaged = mutateBytes(gzip, mutation)
    yield* Fixtures.overwrite(source.fixture, entry.dataFileS3Key, damaged)
    const fixture = manifest === "keep" ? source.fixture : yield* Fixtures.writeManifest(
      source.fixture,
      source.fixture.entries.map((e, i) => (i === index ? Fixtures.entryFor(damaged, e.dataFileS3Key, e.itemCount) : e))
    )
    const outcome = yield* readWithin(fixture, options)
    checkDamagedFile(outcome, { ...source, fixture }, index, manifest === "keep" && !AV.bytesEqual(gzip, damaged))
  })

/**
 * Appends a second gzip member holding a copy of the file's own lines (or a line that is not JSON), with the item
 * count updated or not: multi-member gzip is valid, and its lines count like any others.
 */
const appendMember = (
  source: Source,
  fileSeed: number,
  extra: "copy" | "bad",
  manifest: "update" | "md5",
  options: ExportReader.ReadOptions
) =>
  Effect.gen(function* () {
    const index = fileSeed % source.fixture.entries.length
    const entry = source.fixture.entries[index]!
    const content = yield* dataFileContent(source, index)
    const gzip = yield* Fixtures.readBytes(source.fixture, entry.dataFileS3Key)
    const appended = extra === "copy" ? content : new TextEncoder().encode("not json\n")
    const damaged = concat(gzip, new Uint8Array(zlib.gzipSync(appended)))
    yield* Fixtures.overwrite(source.fixture, entry.dataFileS3Key, damaged)
    const originals = eventsOfFile(source, index)
    const added = extra === "copy" ? originals.length : 1
    const itemCount = manifest === "update" ? originals.length + added : entry.itemCount
    const fixture = yield* Fixtures.writeManifest(
      source.fixture,
      source.fixture.entries.map((e, i) => (i === index ? Fixtures.entryFor(damaged, e.dataFileS3Key, itemCount) : e))
    )
    const expects: Array<Expect> = [
      ...originals.map((event): Expect => ({ _tag: "Event", event })),
      ...(extra === "copy"
        ? originals.map((event): Expect => ({ _tag: "Event", event }))
        : [{ _tag: "Invalid" as const }])
    ]
    const outcome = yield* readWithin(fixture, options)
    checkLines(outcome, { ...source, fixture }, index, expects, itemCount)
  })

const damage = [fc.nat(), bytesMutation, fc.constantFrom("keep" as const, "md5" as const), readOptions] as const
const member = [
  fc.nat(),
  fc.constantFrom("copy" as const, "bad" as const),
  fc.constantFrom("update" as const, "md5" as const),
  readOptions
] as const

describe("Fuzz: damaged gzip of export data files", () => {
  it("generated exports: a typed error naming the file, or exactly the events; never unnoticed", () =>
    fc.assert(
      fc.asyncProperty(exportSpec, ...damage, (spec, fileSeed, mutation, manifest, options) =>
        run(Effect.flatMap(generated(spec), (source) =>
          damageGzip(source, fileSeed, mutation, manifest, options)))),
      { numRuns: runs(30) }
    ))

  it("generated exports: a second gzip member's lines are read and counted", () =>
    fc.assert(
      fc.asyncProperty(exportSpec, ...member, (spec, fileSeed, extra, manifest, options) =>
        run(Effect.flatMap(generated(spec), (source) =>
          appendMember(source, fileSeed, extra, manifest, options)))),
      { numRuns: runs(12) }
    ))

  it.skipIf(!Fixtures.realExportPresent)(
    Fixtures.realExportSuite("the real AWS export sample: the same for its data files"),
    () =>
      fc.assert(
        fc.asyncProperty(fc.nat(), ...damage, (which, fileSeed, mutation, manifest, options) =>
          run(Effect.flatMap(real(which), (source) =>
            damageGzip(source, fileSeed, mutation, manifest, options)))),
        { numRuns: runs(15) }
      )
  )
})
