/**
 * The merge's invariants (DESIGN.md, "The merge — what must always hold"), checked on what the engine emitted run by
 * run: per-item order, dedup (nothing twice within a run, nothing again that the checkpoint a run resumed from
 * covers), no loss. Each check returns the violations it found, as sentences for an assertion message.
 */
import { Effect, Option } from "effect"
import * as fs from "node:fs"
import type { ChangeEvent } from "../../../core/ChangeEvent.ts"
import * as Checkpoint from "../../../core/Checkpoint.ts"
import * as Envelope from "../../../core/Envelope.ts"
import * as ItemKey from "../../../core/ItemKey.ts"
import * as SequenceNumber from "../../../core/SequenceNumber.ts"
import * as Version from "../../../core/Version.ts"
import type { EmulatorInstance } from "../../../emulator/EmulatorInstance.ts"
import { KEY_SCHEMA } from "./EngineHarness.ts"
import { eventRecordId, type LoggedRecord, recordId } from "./StreamLog.ts"

/** One run of the engine: the checkpoint it resumed from, and the events it emitted, in order. */
export interface Run {
  readonly loaded: Option.Option<Checkpoint.Checkpoint>
  readonly events: ReadonlyArray<ChangeEvent>
}

/** Where an event was read, as text: a stream record or an export's line. */
export const positionOf = (event: ChangeEvent): string =>
  event.position._tag === "Stream"
    ? `record ${recordId(event.position.shardId, event.position.sequenceNumber)}`
    : `export line ${event.position.file}:${event.position.line}`

const itemOf = (event: ChangeEvent) => ItemKey.encode(KEY_SCHEMA, event.key!)

/** Whether the checkpoint covers the event: it had been applied when the checkpoint was saved. */
export const covers = (
  checkpoint: Checkpoint.Checkpoint,
  event: ChangeEvent,
  fileIndex: (file: string) => number
): boolean => {
  const position = event.position
  if (position._tag === "Stream") {
    if (checkpoint.capture.finished.has(position.shardId)) return true
    const at = checkpoint.capture.positions.get(position.shardId)
    return at !== undefined && SequenceNumber.compare(position.sequenceNumber, at.sequenceNumber) <= 0
  }
  const backfill = checkpoint.backfill
  if (backfill._tag === "None" || backfill.exportArn !== position.exportArn) return false
  if (backfill._tag === "Done") return true
  const index = fileIndex(position.file)
  return index < backfill.filesDone || (index === backfill.filesDone && position.line <= backfill.linesDone)
}

/**
 * Per-item order and dedup over runs:
 * - within a run, no position is emitted twice, and each item's versions go strictly up;
 * - a run emits nothing that the checkpoint it resumed from covers;
 * - an event older than (or as old as) what an earlier run emitted for its item is a duplicate of an event an earlier
 *   run emitted (at-least-once after a crash), never a change seen for the first time after a newer one.
 */
export const orderAndDedup = (runs: ReadonlyArray<Run>, fileIndex: (file: string) => number): Array<string> => {
  const out: Array<string> = []
  const emitted = new Set<string>()
  const highest = new Map<string, Version.Version>()
  runs.forEach((run, r) => {
    const inRun = new Set<string>()
    const last = new Map<string, Version.Version>()
    for (const event of run.events) {
      const position = positionOf(event)
      const item = itemOf(event)
      const version = Version.of(event)
      if (inRun.has(position)) out.push(`run ${r} emitted ${position} twice`)
      inRun.add(position)
      if (Option.isSome(run.loaded) && covers(run.loaded.value, event, fileIndex)) {
        out.push(`run ${r} emitted ${position}, which the checkpoint it resumed from covers`)
      }
      const previous = last.get(item)
      if (previous !== undefined && Version.compare(version, previous) <= 0) {
        out.push(`run ${r} emitted ${item} at version ${version} after version ${previous}`)
      }
      last.set(item, version)
      const before = highest.get(item)
      if (before !== undefined && Version.compare(version, before) <= 0 && !emitted.has(position)) {
        out.push(
          `run ${r} emitted ${item} at version ${version} (${position}) for the first time, after an earlier `
            + `run emitted version ${before}`
        )
      }
    }
    for (const position of inRun) emitted.add(position)
    for (const [item, version] of last) {
      const before = highest.get(item)
      if (before === undefined || Version.compare(version, before) > 0) highest.set(item, version)
    }
  })
  return out
}

/** The stream records written after `afterMs` that no event carries: lost. */
export const lost = (
  records: ReadonlyArray<LoggedRecord>,
  afterMs: number,
  events: Iterable<ChangeEvent>
): Array<string> => {
  const carried = new Set<string>()
  for (const event of events) {
    const id = eventRecordId(event)
    if (id !== undefined) carried.add(id)
  }
  return records.filter((record) =>
    record.timeMs > afterMs && !carried.has(recordId(record.shardId, record.sequenceNumber))
  )
    .map((record) => `record ${recordId(record.shardId, record.sequenceNumber)} of ${record.timeMs} was lost`)
}

/** The events of a JSON-lines file, in file order. */
export const readJsonl = (file: string): ReadonlyArray<ChangeEvent> =>
  fs.existsSync(file)
    ? fs.readFileSync(file, "utf8").split("\n").filter((line) => line !== "").map((line) => {
      const decoded = Envelope.decode(line)
      if (decoded._tag === "Left") throw new Error(`${file}: ${decoded.left.message}`)
      return decoded.right
    })
    : []

/** The lines a JSON-lines file holds now (complete ones). */
export const lineCount = (file: string): number =>
  fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").length - 1 : 0

/** Splits a JSON-lines feed into runs, given each run's first line and loaded checkpoint, in order. */
export const splitRuns = (
  events: ReadonlyArray<ChangeEvent>,
  starts: ReadonlyArray<{ readonly line: number; readonly loaded: Option.Option<Checkpoint.Checkpoint> }>
): ReadonlyArray<Run> =>
  starts.map((start, i) => ({
    loaded: start.loaded,
    events: events.slice(start.line, starts[i + 1]?.line ?? events.length)
  }))

/** The data files of every export in the bucket, each export's in manifest order, with their item counts. */
export const exportFiles = (instance: EmulatorInstance, bucket: string) =>
  Effect.gen(function* () {
    const files: Array<{ readonly key: string; readonly index: number; readonly itemCount: number }> = []
    const keys = yield* Effect.orDie(instance.s3.listKeys(bucket))
    for (const key of keys.filter((key) => key.endsWith("/manifest-files.json"))) {
      const object = yield* Effect.orDie(instance.s3.getObject(bucket, key))
      new TextDecoder().decode(object.bytes).split("\n").filter((line) => line !== "").forEach((line, index) => {
        const entry = JSON.parse(line) as { dataFileS3Key: string; itemCount: number }
        files.push({ key: entry.dataFileS3Key, index, itemCount: entry.itemCount })
      })
    }
    return files
  })

/** A data file's index in its manifest, as `filesDone` counts them. */
export const exportFileOrder = (instance: EmulatorInstance, bucket: string) =>
  Effect.map(exportFiles(instance, bucket), (files) => {
    const order = new Map(files.map((file) => [file.key, file.index]))
    return (file: string): number => {
      const index = order.get(file)
      if (index === undefined) throw new Error(`data file ${file} is in no manifest`)
      return index
    }
  })

const byText = (a: string, b: string) => a < b ? -1 : a > b ? 1 : 0

/**
 * A checkpoint as text, the same for equal checkpoints whatever order its shards were stored in: `jsonb` keeps an
 * object's keys in its own order (by length, then bytes), so a checkpoint read back from the database may list its
 * shard positions and finished shards in another order than the engine's map.
 */
export const canonical = (checkpoint: Checkpoint.Checkpoint): string =>
  Checkpoint.encode({
    ...checkpoint,
    capture: {
      positions: new Map([...checkpoint.capture.positions].sort(([a], [b]) => byText(a, b))),
      finished: new Set([...checkpoint.capture.finished].sort(byText))
    }
  })

const backfillRank = (backfill: Checkpoint.Backfill): ReadonlyArray<number> =>
  backfill._tag === "None" ? [0] : backfill._tag === "Loading" ? [1, backfill.filesDone, backfill.linesDone] : [2]

const lexicographic = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): number => {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0)
    if (d !== 0) return d
  }
  return 0
}

/**
 * Where a checkpoint moved back from the one before: the backfill (none, loading file by file and line by line,
 * done), a shard's position, a finished shard read again.
 */
export const regressions = (checkpoints: ReadonlyArray<Checkpoint.Checkpoint>): Array<string> => {
  const out: Array<string> = []
  for (let i = 1; i < checkpoints.length; i++) {
    const a = checkpoints[i - 1]!, b = checkpoints[i]!
    if (
      lexicographic(backfillRank(b.backfill), backfillRank(a.backfill)) < 0
      || (a.backfill._tag !== "None" && b.backfill._tag !== "None" && a.backfill.exportArn !== b.backfill.exportArn)
    ) {
      out.push(`checkpoint ${i}: backfill ${JSON.stringify(b.backfill)} after ${JSON.stringify(a.backfill)}`)
    }
    for (const [shardId, position] of a.capture.positions) {
      const next = b.capture.positions.get(shardId)
      if (next !== undefined && SequenceNumber.compare(next.sequenceNumber, position.sequenceNumber) < 0) {
        out.push(`checkpoint ${i}: ${shardId} at ${next.sequenceNumber} after ${position.sequenceNumber}`)
      }
    }
    for (const shardId of a.capture.finished) {
      if (b.capture.positions.has(shardId)) out.push(`checkpoint ${i}: finished ${shardId} has a position again`)
    }
  }
  return out
}
