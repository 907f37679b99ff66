/**
 * The backfill's export: reuse a completed one that the captured stream still covers, or start one (idempotent with a
 * client token), then wait for it with back-off.
 */
import { Duration, Effect, Option } from "effect"
import { ExportFailed, type TableControlError } from "../Errors.ts"
import { type ExportDescription, TableControl } from "../TableControl.ts"

/** Where exports go. */
export interface Destination {
  readonly bucket: string
  readonly prefix?: string
}

const samePrefix = (a: string | undefined, b: string | undefined) => (a ?? "") === (b ?? "")

/**
 * The most recent completed full export of the table into `destination` whose time is at least `notBeforeMs`; looks
 * at the `maxLooked` most recent exports at most.
 */
export const findReusable = (
  tableArn: string,
  destination: Destination,
  notBeforeMs: number,
  maxLooked = 25
): Effect.Effect<Option.Option<ExportDescription>, TableControlError, TableControl> =>
  Effect.gen(function* () {
    const control = yield* TableControl
    let best: ExportDescription | undefined
    let nextToken: string | undefined
    let looked = 0
    do {
      const page = yield* control.listExports({ tableArn, maxResults: 25, ...(nextToken ? { nextToken } : {}) })
      for (const summary of page.exports) {
        if (looked++ >= maxLooked) break
        if (summary.status !== "COMPLETED" || summary.exportType === "INCREMENTAL_EXPORT") continue
        const described = yield* control.describeExport(summary.exportArn)
        if (
          described.status === "COMPLETED" && described.exportType === "FULL_EXPORT"
          && described.tableArn === tableArn && described.s3Bucket === destination.bucket
          && samePrefix(described.s3Prefix, destination.prefix) && described.exportTimeMs !== undefined
          && described.exportTimeMs >= notBeforeMs && described.exportManifest !== undefined
          && (best === undefined || described.exportTimeMs > best.exportTimeMs!)
        ) best = described
      }
      nextToken = page.nextToken
    } while (nextToken !== undefined && looked < maxLooked)
    return Option.fromNullable(best)
  })

/** A stable client token for the table and destination: a restart within AWS's 8 hours gets the same export. */
export const clientToken = async (tableArn: string, destination: Destination): Promise<string> => {
  const bytes = new TextEncoder().encode(`${tableArn}\n${destination.bucket}\n${destination.prefix ?? ""}`)
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))
  return "backstream-" + Array.from(digest.slice(0, 16), (b) => b.toString(16).padStart(2, "0")).join("")
}

/** Starts a full export of the table as it is now. */
export const start = (
  tableArn: string,
  destination: Destination
): Effect.Effect<ExportDescription, TableControlError, TableControl> =>
  Effect.gen(function* () {
    const control = yield* TableControl
    const token = yield* Effect.promise(() => clientToken(tableArn, destination))
    return yield* control.exportTableToPointInTime({
      tableArn,
      s3Bucket: destination.bucket,
      ...(destination.prefix === undefined || destination.prefix === "" ? {} : { s3Prefix: destination.prefix }),
      clientToken: token
    })
  })

/** Polling intervals while an export runs. */
export interface Poll {
  readonly min: Duration.Duration
  readonly max: Duration.Duration
}

/**
 * Waits until the export completes: DescribeExport every `min`, the interval growing by half up to `max`. `onWait`
 * hears every answer. A failed export fails with {@link ExportFailed}.
 */
export const waitFor = (
  exportArn: string,
  poll: Poll,
  onWait: (description: ExportDescription) => Effect.Effect<void> = () => Effect.void
): Effect.Effect<ExportDescription, TableControlError | ExportFailed, TableControl> =>
  Effect.gen(function* () {
    const control = yield* TableControl
    let interval = poll.min
    for (;;) {
      const described = yield* control.describeExport(exportArn)
      yield* onWait(described)
      if (described.status === "COMPLETED") return described
      if (described.status === "FAILED") {
        return yield* new ExportFailed({
          exportArn,
          code: described.failureCode ?? "Unknown",
          reason: described.failureMessage ?? "no reason given"
        })
      }
      yield* Effect.sleep(interval)
      interval = Duration.min(Duration.times(interval, 1.5), poll.max)
    }
  })
