/**
 * The fault matrix (README, "Fault matrix"): every fault the emulator can inject, in every phase of the engine where
 * it can happen, one test per cell. A cell either recovers (the engine retries, renews, follows, and the replica
 * converges with nothing lost) or stops with a typed error that says what to fix, having committed nothing past its
 * last checkpoint; after the fix, a rerun on the same sink, checkpoint and spool converges with nothing lost.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import type { RequestFault, RequestFaultKind } from "../../emulator/Faults.ts"
import * as EngineHarness from "../engine/support/EngineHarness.ts"
import { type Cell, type Context, type Phase, play } from "./support/FaultRun.ts"

type Fault =
  | "throttling"
  | "throttling that does not end"
  | "HTTP 500"
  | "HTTP 503"
  | "iterator expiry"
  | "trim"
  | "shard split"
  | "slow responses"
  | "truncated export file"
  | "corrupt export file"
  | "S3 NoSuchKey"
  | "AccessDenied"

/** The calls each phase makes (capture runs into the spool while the export is waited for and loaded). */
const phaseActions: Record<Phase, ReadonlyArray<string>> = {
  waiting: [
    "ListExports",
    "ExportTableToPointInTime",
    "DescribeExport",
    "DescribeStream",
    "GetShardIterator",
    "GetRecords",
    "s3:PutObject"
  ],
  loading: ["s3:GetObject", "GetRecords"],
  draining: ["s3:GetObject", "s3:PutObject"],
  streaming: ["GetRecords", "DescribeStream"]
}

/** The call a phase cannot do without: a permission it lacks stops it there. */
const keyAction: Record<Phase, string> = {
  waiting: "DescribeExport",
  loading: "s3:GetObject",
  draining: "s3:GetObject",
  streaming: "GetRecords"
}

const rules = (kind: RequestFaultKind, phase: Phase, extra: Partial<RequestFault> = {}): Array<RequestFault> =>
  phaseActions[phase].map((action) => ({ kind, action, times: 2, ...extra }))

/** Request faults, a couple of times on each call of the phase: every rule must have applied. */
const transient = (kind: RequestFaultKind, phase: Phase, extra: Partial<RequestFault> = {}): Cell => {
  const add = (context: Context) => Effect.sync(() => void context.addRules(rules(kind, phase, extra)))
  return {
    phase,
    spool: phase === "streaming" ? "folder" : "s3",
    // The export is found or started before the first wait is reported: the waiting phase's faults come earlier.
    ...(phase === "waiting" ? { before: add, inject: () => Effect.void } : { inject: add }),
    outcome: { _tag: "Recovers" },
    ...spoolHolds(phase)
  }
}

/** A spool that holds something by the time it drains, and that is written to while the export runs. */
const spoolHolds = (phase: Phase) => phase === "waiting" || phase === "draining" ? { exportMs: 60_000 } : {}

/** Holds the load (its first GetObject answers 10 virtual seconds late) so that capture meets the fault meanwhile. */
const holdLoad = (context: Context, phase: Phase) =>
  Effect.sync(() => {
    if (phase === "loading") context.addRules([{ kind: "delay", action: "s3:GetObject", delayMs: 10_000, times: 1 }])
  })

const streamEvent = (phase: Phase, event: (context: Context) => Effect.Effect<void>): Cell => ({
  phase,
  spool: "folder",
  inject: (context) => Effect.zipRight(holdLoad(context, phase), event(context)),
  outcome: { _tag: "Recovers" },
  ...spoolHolds(phase)
})

const expireIterators = (context: Context) => Effect.sync(() => context.harness.instance.streams.expireIterators())

const split = (context: Context) =>
  Effect.asVoid(Effect.orDie(
    context.harness.instance.streams.splitShard(context.streamArn).pipe(
      Effect.withClock(context.harness.instance.clock)
    )
  ))

/** The stream trims what capture has read (its 24-hour retention, early): nothing unread is lost. */
const trim = (phase: Phase) => (context: Context) =>
  Effect.gen(function* () {
    if (phase === "streaming") yield* context.converged
    else yield* context.captured
    context.harness.instance.streams.trimNow()
  })

const removeRules = (context: Context) => Effect.sync(() => context.harness.instance.faults.clear())

/** A fault on the phase's key call that does not go away: once the retries are spent, the engine stops. */
const lasting = (
  kind: "access-denied" | "throttle",
  phase: Phase,
  error: string,
  message: ReadonlyArray<string>
): Cell => ({
  phase,
  ...spoolHolds(phase),
  spool: phase === "draining" ? "s3" : "folder",
  inject: (context) => Effect.sync(() => void context.addRules([{ kind, action: keyAction[phase] }])),
  outcome: { _tag: "Stops", error, message, fix: removeRules }
})

/** The export written damaged; the fix is a new export (into a new prefix), the checkpoint of the damaged one gone. */
const damagedExport = (
  kind: "truncate-export" | "corrupt-export",
  error: string,
  message: ReadonlyArray<string>
): Cell => ({
  phase: "loading",
  spool: "folder",
  before: (context) => Effect.sync(() => void context.harness.instance.faults.add({ kind })),
  inject: () => Effect.void,
  outcome: {
    _tag: "Stops",
    error,
    message,
    // A rerun would resume the same export: the way out (the fix below) is logged.
    logged: ["a rerun resumes this same export", "start over with a new export (another --export-prefix)"],
    fix: (context) =>
      Effect.sync(() => {
        context.harness.instance.faults.clear()
        context.discardCheckpoint()
        context.rerunWith({ export: { bucket: EngineHarness.BUCKET, prefix: "backfill-again" } })
      })
  }
})

/** An object deleted before it is read; the fix puts it back (copies it again). */
const missingObject = (
  phase: Phase,
  what: string,
  pick: (context: Context) => Effect.Effect<string | undefined>,
  error: string,
  message: ReadonlyArray<string>
): Cell => {
  let restore: () => Effect.Effect<void> = () => Effect.void
  return {
    phase,
    spool: phase === "draining" ? "s3" : "folder",
    ...spoolHolds(phase),
    inject: (context) =>
      Effect.gen(function* () {
        const key = yield* pick(context)
        if (key === undefined) return yield* Effect.dieMessage(`no ${what} to delete`)
        restore = yield* context.takeObject(key)
      }),
    outcome: { _tag: "Stops", error, message, fix: () => restore() }
  }
}

const notApplicable = (reason: string) => ({ _tag: "NotApplicable", reason }) as const

type NotApplicable = ReturnType<typeof notApplicable>

type Entry = Cell | NotApplicable

const isNotApplicable = (entry: Entry): entry is NotApplicable => "reason" in entry

const matrix: Record<Fault, Record<Phase, Entry>> = {
  throttling: {
    waiting: transient("throttle", "waiting"),
    loading: transient("throttle", "loading"),
    draining: transient("throttle", "draining"),
    streaming: transient("throttle", "streaming")
  },
  "throttling that does not end": {
    waiting: lasting("throttle", "waiting", "Throttled", ["dynamodb:DescribeExport was throttled"]),
    loading: lasting("throttle", "loading", "Throttled", ["s3:GetObject was throttled"]),
    draining: lasting("throttle", "draining", "SpoolFailure", ["s3:GetObject was throttled"]),
    streaming: lasting("throttle", "streaming", "Throttled", ["dynamodb:GetRecords was throttled"])
  },
  "HTTP 500": {
    waiting: transient("error500", "waiting"),
    loading: transient("error500", "loading"),
    draining: transient("error500", "draining"),
    streaming: transient("error500", "streaming")
  },
  "HTTP 503": {
    waiting: transient("error503", "waiting"),
    loading: transient("error503", "loading"),
    draining: transient("error503", "draining"),
    streaming: transient("error503", "streaming")
  },
  "iterator expiry": {
    waiting: streamEvent("waiting", expireIterators),
    loading: streamEvent("loading", expireIterators),
    draining: notApplicable(
      "no iterator is held while the spool drains: capture into the spool has stopped and the live capture starts after"
    ),
    streaming: streamEvent("streaming", expireIterators)
  },
  trim: {
    waiting: streamEvent("waiting", trim("waiting")),
    loading: streamEvent("loading", trim("loading")),
    draining: notApplicable("the stream is not read while the spool drains; a trim then is met by the streaming phase"),
    streaming: streamEvent("streaming", trim("streaming"))
  },
  "shard split": {
    waiting: streamEvent("waiting", split),
    loading: streamEvent("loading", split),
    draining: notApplicable(
      "the stream is not read while the spool drains; a split then is met by the streaming phase"
    ),
    streaming: streamEvent("streaming", split)
  },
  "slow responses": {
    waiting: transient("delay", "waiting", { delayMs: 5_000 }),
    loading: transient("delay", "loading", { delayMs: 5_000 }),
    draining: transient("delay", "draining", { delayMs: 5_000 }),
    streaming: transient("delay", "streaming", { delayMs: 5_000 })
  },
  "truncated export file": {
    waiting: notApplicable("the export's files are not read before it completes"),
    loading: damagedExport("truncate-export", "ExportFileUnreadable", ["truncated"]),
    draining: notApplicable("the export is read already"),
    streaming: notApplicable("the export is read already")
  },
  "corrupt export file": {
    waiting: notApplicable("the export's files are not read before it completes"),
    loading: damagedExport("corrupt-export", "ExportFileUnreadable", ["cannot be read"]),
    draining: notApplicable("the export is read already"),
    streaming: notApplicable("the export is read already")
  },
  "S3 NoSuchKey": {
    waiting: notApplicable("nothing is read from S3 while the export runs (the spool only writes)"),
    loading: missingObject(
      "loading",
      "export data file",
      (context) => Effect.map(context.exportFiles, (files) => files.find((file) => file.itemCount > 0)?.key),
      "ExportFileMissing",
      ["missing", "copy the whole export"]
    ),
    draining: missingObject(
      "draining",
      "spool segment",
      (context) => Effect.map(context.bucketKeys("spool/segment-"), (keys) => keys[0]),
      "SpoolFailure",
      ["is missing", "clear it and start again"]
    ),
    streaming: notApplicable("no S3 object is read while streaming")
  },
  AccessDenied: {
    waiting: lasting("access-denied", "waiting", "AccessDenied", [
      "dynamodb:DescribeExport",
      "add dynamodb:DescribeExport to the policy"
    ]),
    loading: lasting("access-denied", "loading", "AccessDenied", [
      "s3:GetObject",
      "add s3:GetObject to the policy"
    ]),
    draining: lasting("access-denied", "draining", "SpoolFailure", ["s3:GetObject", "add s3:GetObject to the policy"]),
    streaming: lasting("access-denied", "streaming", "AccessDenied", [
      "dynamodb:GetRecords",
      "add dynamodb:GetRecords to the policy"
    ])
  }
}

const title = (entry: Entry): string =>
  isNotApplicable(entry)
    ? `does not apply: ${entry.reason}`
    : entry.outcome._tag === "Recovers"
    ? "recovers, nothing lost"
    : `stops with ${entry.outcome.error}; after the fix the rerun converges, nothing lost`

describe.each(Object.keys(matrix) as Array<Fault>)("fault matrix: %s", (fault) => {
  for (const phase of ["waiting", "loading", "draining", "streaming"] as const) {
    const entry = matrix[fault][phase]
    if (isNotApplicable(entry)) {
      it(`${phase}: ${title(entry)}`, () => assert.isAbove(entry.reason.length, 0))
      continue
    }
    const cell = entry
    it.scopedLive(`${phase}: ${title(cell)}`, () =>
      Effect.gen(function* () {
        const { rules, error, logged } = yield* play(cell)
        for (const rule of rules) {
          if ("action" in rule) assert.isAbove(rule.applied, 0, `the fault on ${rule.action} applied`)
        }
        if (cell.outcome._tag === "Stops") {
          assert.strictEqual(error?._tag, cell.outcome.error, error?.message)
          for (const text of cell.outcome.message) assert.include(error!.message, text)
          for (const text of cell.outcome.logged ?? []) {
            assert.isTrue(logged.some((line) => line.includes(text)), `an error logged holds ${text}: ${logged}`)
          }
        }
      }), 60_000)
  }
})
