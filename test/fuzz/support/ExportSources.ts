/**
 * Exports for the fuzz tests: generated with {@link LocalExportWriter} (full and incremental, random items and
 * partitions) or copied from the real AWS sample; what reading each must give; and reading with a time limit, so that
 * a hang fails the test instead of blocking it.
 */
import { Effect, FastCheck as fc, type Scope } from "effect"
import * as fs from "node:fs/promises"
import * as zlib from "node:zlib"
import type { IncrementalChange } from "../../../adapters/node/LocalExportWriter.ts"
import * as AV from "../../../core/AttributeValue.ts"
import { itemArbitrary } from "../../../core/AttributeValueSchema.ts"
import type { ChangeEvent } from "../../../core/ChangeEvent.ts"
import type { ExportError } from "../../../core/Errors.ts"
import type * as ExportReader from "../../../core/ExportReader.ts"
import * as ItemKey from "../../../core/ItemKey.ts"
import * as Fixtures from "../../support/fixtures.ts"
import { eventText } from "./Values.ts"

export const keySchema = ItemKey.make("pk", "sk")

/** The `_tag`s of {@link ExportError}. */
export const EXPORT_ERROR_TAGS: ReadonlySet<string> = new Set([
  "ExportManifestInvalid",
  "ExportFileMissing",
  "ExportFileUnreadable",
  "ExportLineInvalid",
  "ExportFileMismatch"
])

/** A generated export: its type and its partitions (one data file each). */
export type ExportSpec =
  | { readonly type: "FULL_EXPORT"; readonly partitions: ReadonlyArray<ReadonlyArray<AV.Item>> }
  | {
    readonly type: "INCREMENTAL_EXPORT"
    readonly view: "NEW_AND_OLD_IMAGES" | "NEW_IMAGE"
    readonly partitions: ReadonlyArray<ReadonlyArray<IncrementalChange>>
  }

const pkArbitrary = fc.string({ minLength: 1, maxLength: 6 })
const skArbitrary = fc.oneof(fc.integer({ min: -1000, max: 1000 }).map(String), fc.constantFrom("1.5", "-0.25", "1E+3"))
const restArbitrary = itemArbitrary(2).map((item) =>
  new Map([...item].filter(([name]) => name !== "pk" && name !== "sk"))
)

const keyOf = (pk: string, sk: string): AV.Item => AV.item([["pk", AV.s(pk)], ["sk", AV.n(sk)]])
const withKey = (key: AV.Item, rest: AV.Item): AV.Item => new Map([...key, ...rest])

const fullItem = fc.tuple(pkArbitrary, skArbitrary, restArbitrary).map(([pk, sk, rest]) => withKey(keyOf(pk, sk), rest))

const change = (view: "NEW_AND_OLD_IMAGES" | "NEW_IMAGE"): fc.Arbitrary<IncrementalChange> =>
  fc.record({
    pk: pkArbitrary,
    sk: skArbitrary,
    micros: fc.bigInt({ min: 10n ** 15n, max: 2n * 10n ** 15n }).map(String),
    kind: view === "NEW_IMAGE" ? fc.constantFrom("upsert", "delete") : fc.constantFrom("insert", "modify", "remove"),
    before: restArbitrary,
    after: restArbitrary
  }).map(({ after, before, kind, micros, pk, sk }) => {
    const keys = keyOf(pk, sk)
    return {
      writeTimestampMicros: micros,
      keys,
      ...(kind === "insert" || kind === "modify" || kind === "upsert" ? { newImage: withKey(keys, after) } : {}),
      ...(kind === "modify" || kind === "remove" ? { oldImage: withKey(keys, before) } : {})
    }
  })

const partitions = <A>(element: fc.Arbitrary<A>) =>
  fc.array(fc.array(element, { maxLength: 4 }), { minLength: 1, maxLength: 3 }).filter((files) =>
    files.some((file) => file.length > 0)
  )

/** Full and incremental exports (both views) of one to three data files, at least one item in all. */
export const exportSpec: fc.Arbitrary<ExportSpec> = fc.oneof(
  partitions(fullItem).map((partitions): ExportSpec => ({ type: "FULL_EXPORT", partitions })),
  fc.constantFrom("NEW_AND_OLD_IMAGES" as const, "NEW_IMAGE" as const).chain((view) =>
    partitions(change(view)).map((partitions): ExportSpec => ({ type: "INCREMENTAL_EXPORT", view, partitions }))
  )
)

/** An export on disk and the events reading it must give. */
export interface Source {
  readonly fixture: Fixtures.Fixture
  readonly expected: ReadonlyArray<ChangeEvent>
  readonly type: "FULL_EXPORT" | "INCREMENTAL_EXPORT"
  readonly newImageOnly: boolean
  /** The `ts_ms` of a full export's events. */
  readonly exportTimeMs: number
}

const expectedOf = (fixture: Fixtures.Fixture, spec: ExportSpec): Array<ChangeEvent> =>
  spec.type === "FULL_EXPORT"
    ? spec.partitions.flatMap((items, file) =>
      items.map((item, i): ChangeEvent => ({
        op: "r",
        key: keyOf((item.get("pk") as AV.S).value, (item.get("sk") as AV.N).value),
        newImage: item,
        timestampMs: Fixtures.EXPORT_TIME_MS,
        position: {
          _tag: "Export",
          exportArn: fixture.exportArn,
          file: fixture.entries[file]!.dataFileS3Key,
          line: i + 1
        }
      }))
    )
    : spec.partitions.flatMap((changes, file) =>
      changes.map((change, i): ChangeEvent => ({
        op: change.newImage === undefined
          ? "d"
          : change.oldImage !== undefined || spec.view === "NEW_IMAGE"
          ? "u"
          : "c",
        key: change.keys,
        ...(change.oldImage === undefined ? {} : { oldImage: change.oldImage }),
        ...(change.newImage === undefined ? {} : { newImage: change.newImage }),
        timestampMs: Math.floor(Number(change.writeTimestampMicros) / 1000),
        position: {
          _tag: "Export",
          exportArn: fixture.exportArn,
          file: fixture.entries[file]!.dataFileS3Key,
          line: i + 1,
          writeTimestampMicros: change.writeTimestampMicros
        }
      }))
    )

/** Asserts that two event lists are equal exactly (items compared name by name, whatever the order). */
export const assertSameEvents = (
  actual: ReadonlyArray<ChangeEvent>,
  expected: ReadonlyArray<ChangeEvent>,
  what: string
): void => {
  if (actual.length !== expected.length) {
    throw new Error(`${what}: ${actual.length} events, expected ${expected.length}`)
  }
  actual.forEach((event, i) => {
    const [a, e] = [eventText(event), eventText(expected[i]!)]
    if (a !== e) throw new Error(`${what}: event ${i} differs\n  actual:   ${a}\n  expected: ${e}`)
  })
}

/** Writes a generated export in a fresh folder of the scope and checks that it reads back as generated. */
export const generated = (spec: ExportSpec): Effect.Effect<Source, never, Scope.Scope> =>
  Effect.gen(function* () {
    const root = yield* Fixtures.tempDirectory
    const fixture = spec.type === "FULL_EXPORT"
      ? yield* Fixtures.writeFull(root, spec.partitions)
      : yield* Fixtures.writeIncremental(root, spec.partitions, { view: spec.view })
    const expected = expectedOf(fixture, spec)
    const baseline = yield* readWithin(fixture, { keySchema })
    if (baseline.error !== undefined) throw new Error(`the generated export does not read: ${baseline.error.message}`)
    assertSameEvents(baseline.events, expected, "the generated export")
    return {
      fixture,
      expected,
      type: spec.type,
      newImageOnly: spec.type === "INCREMENTAL_EXPORT" && spec.view === "NEW_IMAGE",
      exportTimeMs: Fixtures.EXPORT_TIME_MS
    }
  })

/** A copy of the real AWS export sample in a fresh folder of the scope: export `index` of its three. */
export const real = (index: number): Effect.Effect<Source, never, Scope.Scope> =>
  Effect.gen(function* () {
    const root = yield* Fixtures.tempDirectory
    yield* Effect.promise(() => fs.cp(Fixtures.realExportRoot, root, { recursive: true }))
    const { id, itemCount, type } = Fixtures.REAL_EXPORTS[index % Fixtures.REAL_EXPORTS.length]!
    const summaryKey = Fixtures.realSummaryKey(id)
    const filesKey = `AWSDynamoDB/${id}/manifest-files.json`
    const summary = JSON.parse(yield* Effect.promise(() => fs.readFile(Fixtures.localPath(root, summaryKey), "utf8")))
    const entries = (yield* Effect.promise(() => fs.readFile(Fixtures.localPath(root, filesKey), "utf8")))
      .split("\n").filter((line) => line !== "").map((line) => JSON.parse(line))
    const fixture: Fixtures.Fixture = {
      root,
      summaryKey,
      summaryPath: Fixtures.localPath(root, summaryKey),
      filesKey,
      entries,
      exportArn: summary.exportArn,
      exportId: id,
      directory: Fixtures.localPath(root, `AWSDynamoDB/${id}`),
      itemCount
    }
    const baseline = yield* readWithin(fixture, { keySchema })
    if (baseline.error !== undefined) throw new Error(`the real export does not read: ${baseline.error.message}`)
    if (baseline.events.length !== itemCount) throw new Error(`the real export gave ${baseline.events.length} events`)
    return {
      fixture,
      expected: baseline.events,
      type,
      newImageOnly: summary.outputView === "NEW_IMAGE",
      exportTimeMs: Date.parse(summary.exportTime ?? summary.exportToTime)
    }
  })

/** Reads an export; more than 20 s is a hang, and fails the test (so does a defect). */
export const readWithin = (
  fixture: Fixtures.Fixture,
  options: ExportReader.ReadOptions
): Effect.Effect<Fixtures.ReadOutcome> =>
  Fixtures.read(fixture, options).pipe(
    Effect.timeoutFail({ duration: "20 seconds", onTimeout: () => new Error("the read did not end within 20 s") }),
    Effect.orDie
  )

/** Read options drawn at random: either gunzip and MD5, 1 to 4 files open at once. */
export const readOptions: fc.Arbitrary<ExportReader.ReadOptions> = fc.record({
  variant: fc.constantFrom(...Fixtures.variants),
  concurrency: fc.integer({ min: 1, max: 4 })
}).map(({ concurrency, variant }) => ({ keySchema, concurrency, decompress: variant.decompress, md5: variant.md5 }))

/** Fails unless the error, if any, is one of the reader's typed errors. */
export const assertTyped = (error: ExportError | undefined): void => {
  if (error === undefined) return
  const tag = (error as { readonly _tag?: unknown })._tag
  if (typeof tag !== "string" || !EXPORT_ERROR_TAGS.has(tag) || !(error instanceof Error)) {
    throw new Error(`not a typed export error: ${String(error)} (${(error as Error)?.stack ?? ""})`)
  }
}

/** The expected events of data file `index` of a source. */
export const eventsOfFile = (source: Source, index: number): ReadonlyArray<ChangeEvent> => {
  const key = source.fixture.entries[index]!.dataFileS3Key
  return source.expected.filter((event) => event.position._tag === "Export" && event.position.file === key)
}

/** The decompressed bytes of data file `index`. */
export const dataFileContent = (source: Source, index: number): Effect.Effect<Uint8Array> =>
  Effect.map(
    Fixtures.readBytes(source.fixture, source.fixture.entries[index]!.dataFileS3Key),
    (gzip) => new Uint8Array(zlib.gunzipSync(gzip))
  )
