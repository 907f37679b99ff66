/**
 * Exports whose manifests were damaged: item counts off by one, wrong MD5s, missing files, reordered fields and lines,
 * duplicate and dropped entries, summary fields of the wrong kind, random bytes. The reader must fail with a typed
 * error (`ExportManifestInvalid` before any event, or the data file's own error) or, where the manifests still
 * describe the export, give exactly the events they describe.
 */
import { describe, it } from "@effect/vitest"
import { Effect, FastCheck as fc } from "effect"
import * as fs from "node:fs/promises"
import type { ChangeEvent } from "../../core/ChangeEvent.ts"
import type { ExportError } from "../../core/Errors.ts"
import * as ExportLayout from "../../core/ExportLayout.ts"
import type * as ExportReader from "../../core/ExportReader.ts"
import * as Fixtures from "../support/fixtures.ts"
import { checkDamagedFile, checkLines, checkManifestDamage, run } from "./support/ExportOracle.ts"
import {
  assertSameEvents,
  eventsOfFile,
  exportSpec,
  generated,
  readOptions,
  readWithin,
  real,
  type Source
} from "./support/ExportSources.ts"
import type { Expect } from "./support/LineMutations.ts"
import { type BytesMutation, bytesMutation, mutateBytes, runs } from "./support/Values.ts"

type ManifestMutation =
  | { readonly _tag: "FileCount"; readonly delta: 1 | -1; readonly summaryToo: boolean }
  | { readonly _tag: "SummaryCount"; readonly delta: 1 | -1 }
  | { readonly _tag: "WrongMd5"; readonly md5: string }
  | { readonly _tag: "StaleFilesMd5" }
  | { readonly _tag: "Missing"; readonly what: "data" | "files" | "summary" | "filesMd5" }
  | { readonly _tag: "ReorderFields"; readonly seed: number }
  | { readonly _tag: "ReorderLines"; readonly seed: number }
  | { readonly _tag: "DuplicateEntry" }
  | { readonly _tag: "DropEntry" }
  | { readonly _tag: "ExtraFields" }
  | { readonly _tag: "Crlf" }
  | { readonly _tag: "BlankLine" }
  | { readonly _tag: "SummaryField"; readonly field: string; readonly value: unknown }
  | {
    readonly _tag: "Bytes"
    readonly file: "summary" | "files"
    readonly mutation: BytesMutation
    readonly md5: "update" | "keep"
  }

/** Summary fields set to what AWS never writes (or, for `exportType`, to what another kind of export has). */
const SUMMARY_FIELDS: ReadonlyArray<readonly [string, unknown]> = [
  ["outputFormat", "ION"],
  ["outputFormat", undefined],
  ["exportType", "FULL_EXPORT"],
  ["exportType", "INCREMENTAL_EXPORT"],
  ["exportType", "full"],
  ["exportTime", "yesterday"],
  ["exportFromTime", "yesterday"],
  ["manifestFilesS3Key", "AWSDynamoDB/other/manifest-files.json"],
  ["manifestFilesS3Key", "manifest-files.jsonl"],
  ["itemCount", -1],
  ["itemCount", 1.5],
  ["itemCount", "3"],
  ["exportArn", 5],
  ["version", null],
  ["outputView", "KEYS_ONLY"],
  ["s3Bucket", 7],
  ["fuzzExtra", { nested: [1, "x"] }]
]

const manifestMutation: fc.Arbitrary<ManifestMutation> = fc.oneof(
  fc.record({
    _tag: fc.constant("FileCount" as const),
    delta: fc.constantFrom(1 as const, -1 as const),
    summaryToo: fc.boolean()
  }),
  fc.record({ _tag: fc.constant("SummaryCount" as const), delta: fc.constantFrom(1 as const, -1 as const) }),
  fc.record({
    _tag: fc.constant("WrongMd5" as const),
    md5: fc.constantFrom(
      "1B2M2Y8AsgTpgAmY7PhCfg==",
      "AAAAAAAAAAAAAAAAAAAAAA==",
      "not base64!",
      "AAAA",
      "",
      "1B2M2Y8AsgTpgAmY7PhCfg"
    )
  }),
  fc.constant({ _tag: "StaleFilesMd5" as const }),
  fc.record({
    _tag: fc.constant("Missing" as const),
    what: fc.constantFrom("data" as const, "files" as const, "summary" as const, "filesMd5" as const)
  }),
  fc.record({ _tag: fc.constant("ReorderFields" as const), seed: fc.nat() }),
  fc.record({ _tag: fc.constant("ReorderLines" as const), seed: fc.nat() }),
  fc.constant({ _tag: "DuplicateEntry" as const }),
  fc.constant({ _tag: "DropEntry" as const }),
  fc.constant({ _tag: "ExtraFields" as const }),
  fc.constant({ _tag: "Crlf" as const }),
  fc.constant({ _tag: "BlankLine" as const }),
  fc.constantFrom(...SUMMARY_FIELDS).map(([field, value]): ManifestMutation => ({
    _tag: "SummaryField",
    field,
    value
  })),
  fc.record({
    _tag: fc.constant("Bytes" as const),
    file: fc.constantFrom("summary" as const, "files" as const),
    mutation: bytesMutation,
    md5: fc.constantFrom("update" as const, "keep" as const)
  })
)

const md5Key = (source: Source) => source.fixture.filesKey.replace(/\.json$/, ".md5")
const keysOf = (source: Source) => source.fixture.entries.map((entry) => entry.dataFileS3Key)
const fileOf = (event: ChangeEvent) => (event.position._tag === "Export" ? event.position.file : "")

/** Writes `manifest-files.json` as given, its `.md5` to match (or not). */
const writeFiles = (source: Source, text: string | Uint8Array, md5: "update" | "keep") =>
  Effect.gen(function* () {
    yield* Fixtures.overwrite(source.fixture, source.fixture.filesKey, text)
    if (md5 === "update") {
      const bytes = typeof text === "string" ? new TextEncoder().encode(text) : text
      yield* Fixtures.overwrite(
        source.fixture,
        md5Key(source),
        ExportLayout.manifestMd5(new TextDecoder().decode(bytes))
      )
    }
  })

const shuffled = <A>(list: ReadonlyArray<A>, seed: number): Array<A> => {
  const out = [...list]
  let state = seed
  for (let i = out.length - 1; i > 0; i--) {
    state = (state * 1103515245 + 12345) % 2147483648
    const j = state % (i + 1)
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

const reorderObject = (object: Record<string, unknown>, seed: number) =>
  Object.fromEntries(shuffled(Object.entries(object), seed))

const invalidManifest = (outcome: Fixtures.ReadOutcome) =>
  checkManifestDamage(outcome, [], { mustFail: true, tags: ["ExportManifestInvalid"] })

const damageManifest = (
  source: Source,
  fileSeed: number,
  mutation: ManifestMutation,
  options: ExportReader.ReadOptions
) =>
  Effect.gen(function* () {
    const { fixture } = source
    const entries = fixture.entries
    const index = fileSeed % entries.length
    const read = (damaged: Fixtures.Fixture = fixture) => readWithin(damaged, options)
    const exact = (expected: ReadonlyArray<ChangeEvent> = source.expected) =>
      Effect.map(read(), (outcome) => checkManifestDamage(outcome, expected, {}))
    switch (mutation._tag) {
      case "FileCount": {
        const itemCount = entries[index]!.itemCount + mutation.delta
        const changed = entries.map((e, i) => (i === index ? { ...e, itemCount } : e))
        const damaged = yield* Fixtures.writeManifest(
          fixture,
          changed,
          mutation.summaryToo ? {} : { summaryItemCount: fixture.itemCount }
        )
        const outcome = yield* read(damaged)
        if (!mutation.summaryToo || itemCount < 0) return invalidManifest(outcome)
        const expects = eventsOfFile(source, index).map((event): Expect => ({ _tag: "Event", event }))
        return checkLines(outcome, { ...source, fixture: damaged }, index, expects, itemCount)
      }
      case "SummaryCount": {
        yield* Fixtures.writeManifest(fixture, entries, { summaryItemCount: fixture.itemCount + mutation.delta })
        return invalidManifest(yield* read())
      }
      case "WrongMd5": {
        const damaged = yield* Fixtures.writeManifest(
          fixture,
          entries.map((e, i) => (i === index ? { ...e, md5Checksum: mutation.md5 } : e))
        )
        const outcome = yield* read(damaged)
        if (mutation.md5 === entries[index]!.md5Checksum) return checkManifestDamage(outcome, source.expected)
        if (mutation.md5.length !== 24) return invalidManifest(outcome)
        checkDamagedFile(outcome, source, index, true)
        return expectTag(outcome.error, "ExportFileMismatch")
      }
      case "StaleFilesMd5": {
        const lines = entries.map((e) => JSON.stringify(reorderObject({ ...e }, 1)) + " ")
        yield* writeFiles(source, lines.join("\n") + "\n", "keep")
        return invalidManifest(yield* read())
      }
      case "Missing": {
        const key = mutation.what === "data"
          ? entries[index]!.dataFileS3Key
          : mutation.what === "files"
          ? fixture.filesKey
          : mutation.what === "summary"
          ? fixture.summaryKey
          : md5Key(source)
        yield* Effect.promise(() => fs.rm(Fixtures.localPath(fixture.root, key)))
        const outcome = yield* read()
        if (mutation.what === "filesMd5") return checkManifestDamage(outcome, source.expected)
        if (mutation.what !== "data") return invalidManifest(outcome)
        checkDamagedFile(outcome, source, index, true)
        return expectTag(outcome.error, "ExportFileMissing")
      }
      case "ReorderFields": {
        const lines = entries.map((e, i) => JSON.stringify(reorderObject({ ...e }, mutation.seed + i)))
        yield* writeFiles(source, lines.join("\n") + "\n", "update")
        const summary = JSON.parse(yield* readText(fixture.summaryPath))
        yield* Effect.promise(() =>
          fs.writeFile(fixture.summaryPath, JSON.stringify(reorderObject(summary, mutation.seed)))
        )
        return yield* exact()
      }
      case "ReorderLines": {
        const order = shuffled(entries.map((_, i) => i), mutation.seed)
        yield* Fixtures.writeManifest(fixture, order.map((i) => entries[i]!))
        const keys = keysOf(source)
        return yield* exact(order.flatMap((i) => source.expected.filter((event) => fileOf(event) === keys[i])))
      }
      case "DuplicateEntry": {
        yield* Fixtures.writeManifest(fixture, [...entries, entries[index]!])
        return invalidManifest(yield* read())
      }
      case "DropEntry": {
        // What the manifests do not name is not part of the export: consistent manifests without a file are valid.
        yield* Fixtures.writeManifest(fixture, entries.filter((_, i) => i !== index))
        const dropped = entries[index]!.dataFileS3Key
        return yield* exact(source.expected.filter((event) => fileOf(event) !== dropped))
      }
      case "ExtraFields": {
        const lines = entries.map((e) => JSON.stringify({ ...e, fuzzExtra: [1, { a: null }] }))
        yield* writeFiles(source, lines.join("\n") + "\n", "update")
        const summary = JSON.parse(yield* readText(fixture.summaryPath))
        yield* Effect.promise(() => fs.writeFile(fixture.summaryPath, JSON.stringify({ ...summary, fuzzExtra: true })))
        return yield* exact()
      }
      case "Crlf": {
        yield* writeFiles(source, entries.map((e) => JSON.stringify(e) + "\r\n").join(""), "update")
        return yield* exact()
      }
      case "BlankLine": {
        const lines = entries.map((e) => JSON.stringify(e))
        lines.splice(index + 1, 0, "")
        yield* writeFiles(source, lines.join("\n") + "\n", "update")
        return invalidManifest(yield* read())
      }
      case "SummaryField": {
        const summary = JSON.parse(yield* readText(fixture.summaryPath)) as Record<string, unknown>
        const unchanged = JSON.stringify(summary[mutation.field]) === JSON.stringify(mutation.value)
        yield* Fixtures.patchSummary(fixture, { [mutation.field]: mutation.value })
        const outcome = yield* read()
        if (unchanged || mutation.field === "fuzzExtra") return checkManifestDamage(outcome, source.expected)
        if (mutation.field === "exportType" && mutation.value !== "full") {
          // A full export called incremental (or back) may still describe files: their lines are then the wrong kind.
          return checkManifestDamage(outcome, source.expected)
        }
        return invalidManifest(outcome)
      }
      case "Bytes": {
        const key = mutation.file === "summary" ? fixture.summaryKey : fixture.filesKey
        const original = yield* Fixtures.readBytes(fixture, key)
        const damaged = mutateBytes(original, mutation.mutation)
        if (mutation.file === "summary") yield* Fixtures.overwrite(fixture, key, damaged)
        else yield* writeFiles(source, damaged, mutation.md5)
        const outcome = yield* read()
        const unchanged = damaged.length === original.length && damaged.every((byte, i) => byte === original[i])
        if (outcome.error === undefined && mutation.file === "summary") {
          // Read whole: the damage left the summary valid; the events carry the ARN and time it says now.
          const summary = JSON.parse(new TextDecoder().decode(damaged)) as { exportArn: string; exportTime?: string }
          const adjusted = source.expected.map((event): ChangeEvent => ({
            ...event,
            ...(event.op === "r" ? { timestampMs: Date.parse(summary.exportTime!) } : {}),
            position: { ...event.position, exportArn: summary.exportArn } as ChangeEvent["position"]
          }))
          return checkManifestDamage(outcome, adjusted)
        }
        const mustFail = mutation.file === "files" && mutation.md5 === "keep" && !unchanged
        checkManifestDamage(outcome, source.expected, { mustFail })
        // Whatever was emitted before a data file's error is the export's own first events.
        if (outcome.error !== undefined && outcome.error._tag !== "ExportManifestInvalid") {
          assertSameEvents(outcome.events, source.expected.slice(0, outcome.events.length), "events before the error")
        }
        return
      }
    }
  })

const readText = (path: string) => Effect.promise(() => fs.readFile(path, "utf8"))

const expectTag = (error: ExportError | undefined, tag: ExportError["_tag"]) => {
  if (error?._tag !== tag) throw new Error(`expected ${tag}, got ${error?.message ?? "no error"}`)
}

const arbitraries = [fc.nat(), manifestMutation, readOptions] as const

describe("Fuzz: damaged export manifests", () => {
  it("generated exports: ExportManifestInvalid before any event, the data file's error, or exactly the events", () =>
    fc.assert(
      fc.asyncProperty(
        exportSpec,
        ...arbitraries,
        (spec, fileSeed, mutation, options) =>
          run(Effect.flatMap(generated(spec), (source) => damageManifest(source, fileSeed, mutation, options)))
      ),
      { numRuns: runs(30) }
    ))

  it.skipIf(!Fixtures.realExportPresent)(
    Fixtures.realExportSuite("the real AWS export sample: the same for its manifests"),
    () =>
      fc.assert(
        fc.asyncProperty(fc.nat(), ...arbitraries, (which, fileSeed, mutation, options) =>
          run(Effect.flatMap(real(which), (source) =>
            damageManifest(source, fileSeed, mutation, options)))),
        { numRuns: runs(15) }
      )
  )
})
