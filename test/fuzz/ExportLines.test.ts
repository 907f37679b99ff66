/**
 * Export data files whose decompressed lines were damaged, then gzipped again with a correct MD5 in the manifest:
 * cut lines, wrong types, numbers past DynamoDB's limits, deep nesting, Unicode edge cases, bytes that are not UTF-8,
 * duplicate names, empty and duplicate sets, missing and extra fields, random edits. The reader must fail with its
 * typed error at the first bad line (after exactly the events before it) or, where the damage left the line valid,
 * give exactly the events the file now holds — with the manifest's item count checked either way.
 */
import { describe, it } from "@effect/vitest"
import { Effect, FastCheck as fc } from "effect"
import type * as ExportReader from "../../core/ExportReader.ts"
import * as Fixtures from "../support/fixtures.ts"
import { checkLines, run } from "./support/ExportOracle.ts"
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
import { applyLineMutation, type Expect, type LineMutation, lineMutation } from "./support/LineMutations.ts"
import { concat, pick, runs } from "./support/Values.ts"

const encoder = new TextEncoder()

/** Damages one line of one data file of `source`, rewrites the file and its manifest, reads and judges. */
const damageLine = (
  source: Source,
  fileSeed: number,
  lineSeed: number,
  mutation: LineMutation,
  manifest: "update" | "md5",
  options: ExportReader.ReadOptions
) =>
  Effect.gen(function* () {
    const files = source.fixture.entries.flatMap((entry, i) => (entry.itemCount > 0 ? [i] : []))
    const index = pick(files, fileSeed)
    const key = source.fixture.entries[index]!.dataFileS3Key
    const lines = new TextDecoder().decode(yield* dataFileContent(source, index)).split("\n").slice(0, -1)
    const originals = eventsOfFile(source, index)
    const at = lineSeed % lines.length
    const replaced = applyLineMutation(mutation, lines[at]!, originals[at]!, { source, file: key })
    const newLines = [
      ...lines.slice(0, at).map((line) => encoder.encode(line)),
      ...replaced.lines,
      ...lines.slice(at + 1).map((line) => encoder.encode(line))
    ]
    const expects: Array<Expect> = [
      ...originals.slice(0, at).map((event): Expect => ({ _tag: "Event", event })),
      ...replaced.expects,
      ...originals.slice(at + 1).map((event): Expect => ({ _tag: "Event", event }))
    ]
    const content = concat(...newLines.flatMap((line) => [line, Uint8Array.of(10)]))
    const damaged = yield* Fixtures.rewriteDataFile(source.fixture, index, content, { manifest })
    const outcome = yield* readWithin(damaged, options)
    checkLines(outcome, { ...source, fixture: damaged }, index, expects, damaged.entries[index]!.itemCount)
  })

const arbitraries = [
  fc.nat(),
  fc.nat(),
  lineMutation,
  fc.constantFrom("update" as const, "md5" as const),
  readOptions
] as const

describe("Fuzz: damaged lines of exports", () => {
  it("generated exports (full, incremental in both views): a typed error at the first bad line, or exactly the events", () =>
    fc.assert(
      fc.asyncProperty(
        exportSpec,
        ...arbitraries,
        (spec, fileSeed, lineSeed, mutation, manifest, options) =>
          run(
            Effect.flatMap(generated(spec), (source) =>
              damageLine(source, fileSeed, lineSeed, mutation, manifest, options))
          )
      ),
      { numRuns: runs(30) }
    ))

  it.skipIf(!Fixtures.realExportPresent)(
    Fixtures.realExportSuite("the real AWS export sample: the same, line by line of its full and incremental exports"),
    () =>
      fc.assert(
        fc.asyncProperty(fc.nat(), ...arbitraries, (which, fileSeed, lineSeed, mutation, manifest, options) =>
          run(Effect.flatMap(real(which), (source) =>
            damageLine(source, fileSeed, lineSeed, mutation, manifest, options)))),
        { numRuns: runs(15) }
      )
  )
})
