/**
 * Transient failures of the AWS-facing ports (throttling, a service unavailable) retried with jittered exponential
 * back-off, for the calls outside change capture: the export's control plane, the export's files, the S3 spool.
 */
import { Duration, Effect, Schedule } from "effect"
import type { ObjectStore } from "../ObjectStore.ts"
import type { TableControl } from "../TableControl.ts"

/** Delays from `base`, doubling, jittered, capped at `max`; `retries` times at most. */
export interface Policy {
  readonly base: Duration.Duration
  readonly max: Duration.Duration
  readonly retries: number
}

/** Whether an error is worth retrying: the service throttled the call or could not answer it. */
export const isTransient = (error: unknown): boolean => {
  const tag = typeof error === "object" && error !== null ? (error as { readonly _tag?: unknown })._tag : undefined
  return tag === "Throttled" || tag === "Unavailable"
}

/** A spool failure caused by a transient failure of the store under it (an S3 spool throttled). */
export const isTransientSpoolFailure = (error: { readonly _tag: string; readonly cause?: unknown }): boolean =>
  error._tag === "SpoolFailure" && isTransient(error.cause)

/** Runs `effect` again after a back-off while it fails with an error `retryable` accepts, `policy.retries` times. */
export const retry = <A, E, R>(
  policy: Policy,
  effect: Effect.Effect<A, E, R>,
  retryable: (error: E) => boolean = isTransient
): Effect.Effect<A, E, R> =>
  Effect.retry(
    effect,
    Schedule.exponential(policy.base, 2).pipe(
      Schedule.union(Schedule.spaced(policy.max)),
      Schedule.jittered,
      Schedule.intersect(Schedule.recurs(policy.retries)),
      Schedule.whileInput(retryable)
    )
  )

/** The table's control plane with every call retried on throttling and unavailability. */
export const tableControl = (control: TableControl["Type"], policy: Policy): TableControl["Type"] => ({
  describeTable: (table) => retry(policy, control.describeTable(table)),
  describeContinuousBackups: (table) => retry(policy, control.describeContinuousBackups(table)),
  exportTableToPointInTime: (request) => retry(policy, control.exportTableToPointInTime(request)),
  describeExport: (exportArn) => retry(policy, control.describeExport(exportArn)),
  listExports: (request) => retry(policy, control.listExports(request))
})

/**
 * An object store whose reads (opening an object, listing) are retried on throttling and unavailability. A body that
 * fails once open is not read again here: its reader decides.
 */
export const objectStore = (store: ObjectStore["Type"], policy: Policy): ObjectStore["Type"] => ({
  ...store,
  getObject: (key) => retry(policy, store.getObject(key)),
  listObjects: (request) => retry(policy, store.listObjects(request)),
  bucketLocation: retry(policy, store.bucketLocation)
})
