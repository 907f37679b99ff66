/**
 * Judging what a read of a damaged export gave: a typed error where the damage is, every event before it exactly, and
 * nothing after it; or, where the damage left the export valid, exactly the events it holds now (none dropped).
 */
import { Effect, type Scope } from "effect"
import type { ChangeEvent } from "../../../core/ChangeEvent.ts"
import type { ExportError } from "../../../core/Errors.ts"
import type * as Fixtures from "../../support/fixtures.ts"
import { assertSameEvents, assertTyped, type Source } from "./ExportSources.ts"
import type { Expect } from "./LineMutations.ts"
import { eventText } from "./Values.ts"

const fileOf = (event: ChangeEvent): string => (event.position._tag === "Export" ? event.position.file : "")

const atLine = (event: ChangeEvent, line: number): ChangeEvent => ({
  ...event,
  position: { ...event.position, line } as ChangeEvent["position"]
})

const describeError = (error: ExportError | undefined) => (error === undefined ? "no error" : error.message)

/** The events of the files before `index`, then what follows them. */
const split = (outcome: Fixtures.ReadOutcome, source: Source, index: number) => {
  const keys = source.fixture.entries.map((entry) => entry.dataFileS3Key)
  const before = source.expected.filter((event) => keys.indexOf(fileOf(event)) < index)
  const after = source.expected.filter((event) => keys.indexOf(fileOf(event)) > index)
  assertSameEvents(outcome.events.slice(0, before.length), before, "the files before the damaged one")
  return { key: keys[index]!, rest: outcome.events.slice(before.length), after }
}

/**
 * Checks a read of an export whose data file `index` now holds lines that must give `expects` and whose manifest
 * says it holds `itemCount` items. The reader decodes lines in order: the first line past the count, or the first
 * invalid one, ends the read with its typed error, after exactly the events before it.
 */
export const checkLines = (
  outcome: Fixtures.ReadOutcome,
  source: Source,
  index: number,
  expects: ReadonlyArray<Expect>,
  itemCount: number
): void => {
  assertTyped(outcome.error)
  const { after, key, rest } = split(outcome, source, index)
  const error = outcome.error
  const endsWith = (
    tag: ExportError["_tag"],
    emitted: number,
    detail: (error: ExportError) => boolean,
    what: string
  ) => {
    if (error === undefined || error._tag !== tag || error.file !== key || !detail(error)) {
      throw new Error(`expected ${tag} (${what}) in ${key}, got ${describeError(error)}`)
    }
    if (rest.length !== emitted) {
      throw new Error(`expected ${emitted} events of ${key} before ${tag}, got ${rest.length}`)
    }
  }
  const isCount = (error: ExportError) => error._tag === "ExportFileMismatch" && error.what === "itemCount"
  const isLine = (line: number) => (error: ExportError) => error._tag === "ExportLineInvalid" && error.line === line
  for (let line = 1; line <= expects.length; line++) {
    if (line > itemCount) return endsWith("ExportFileMismatch", line - 1, isCount, `line ${line} is past the count`)
    const expect = expects[line - 1]!
    if (expect._tag === "Invalid") return endsWith("ExportLineInvalid", line - 1, isLine(line), `line ${line}`)
    if (expect._tag === "Either" && error !== undefined && isLine(line)(error) && rest.length === line - 1) return
    const actual = rest[line - 1]
    if (actual === undefined) {
      throw new Error(`line ${line} of ${key} gave no event (${describeError(error)}); expected ${expect._tag}`)
    }
    if (expect.event === undefined) {
      if (fileOf(actual) !== key || actual.position._tag !== "Export" || actual.position.line !== line) {
        throw new Error(`line ${line} of ${key}: an event of another line: ${eventText(actual)}`)
      }
      continue
    }
    const [a, e] = [eventText(actual), eventText(atLine(expect.event, line))]
    if (a !== e) throw new Error(`line ${line} of ${key}: ${expect._tag}\n  actual:   ${a}\n  expected: ${e}`)
  }
  if (expects.length !== itemCount) {
    return endsWith("ExportFileMismatch", expects.length, isCount, `${expects.length} lines, count ${itemCount}`)
  }
  if (error !== undefined) throw new Error(`the damaged file read whole, then: ${error.message}`)
  assertSameEvents(rest.slice(expects.length), after, "the files after the damaged one")
}

/**
 * Checks a read of an export whose data file `index` was damaged in a way that may or may not leave it valid: either
 * exactly the expected events, or a typed error naming that file after exactly the events of the files before it
 * (and, of that file, events the reader could not know were damaged yet: a consumer applies a file only when it ends
 * without error), and none after. `mustFail`: the damage cannot go unnoticed (an MD5 the manifest still has).
 */
export const checkDamagedFile = (
  outcome: Fixtures.ReadOutcome,
  source: Source,
  index: number,
  mustFail: boolean
): void => {
  assertTyped(outcome.error)
  const error = outcome.error
  if (error === undefined) {
    if (mustFail) throw new Error(`damaged bytes whose MD5 differs from the manifest's were read without error`)
    assertSameEvents(outcome.events, source.expected, "a read without error")
    return
  }
  const { key, rest } = split(outcome, source, index)
  if (error.file !== key) throw new Error(`the error names ${error.file}, the damaged file is ${key}: ${error.message}`)
  const stray = rest.find((event) => fileOf(event) !== key)
  if (stray !== undefined) throw new Error(`an event of another file after the damaged one: ${eventText(stray)}`)
}

/**
 * Checks a read of an export whose manifests were damaged: a typed error before any event was emitted, or (the damage
 * left them valid) the expected events, compared after `adjust` (for what the manifests decide, such as the export's
 * ARN and time) — exactly as many, none dropped.
 */
export const checkManifestDamage = (
  outcome: Fixtures.ReadOutcome,
  expected: ReadonlyArray<ChangeEvent>,
  options: { readonly mustFail?: boolean; readonly tags?: ReadonlyArray<ExportError["_tag"]> } = {}
): void => {
  assertTyped(outcome.error)
  const error = outcome.error
  if (error === undefined) {
    if (options.mustFail === true) throw new Error(`damaged manifests were read without error`)
    assertSameEvents(outcome.events, expected, "a read without error")
    return
  }
  if (options.tags !== undefined && !options.tags.includes(error._tag)) {
    throw new Error(`expected one of ${options.tags.join(", ")}, got ${error.message}`)
  }
  if (error._tag === "ExportManifestInvalid" && outcome.events.length > 0) {
    throw new Error(`${outcome.events.length} events were emitted before the manifests were found invalid`)
  }
}

/** Runs a property's effect with its own scope (temporary folders), as a promise for fast-check. */
export const run = <A>(effect: Effect.Effect<A, never, Scope.Scope>): Promise<A> =>
  Effect.runPromise(Effect.scoped(effect))
