/**
 * Fault injection: rules that make requests fail or slow down, scoped by action (and by shard for the Streams reads),
 * and rules that damage the data files of exports as they are written. A rule applies to every matching request
 * (or export) unless `times` bounds it, each time with probability `probability`.
 *
 * A delay sleeps on the emulator's clock before the operation runs: on a virtual clock the request waits until the
 * clock is moved past it (admin `POST /clock/advance` or in-process), so a test decides when a slow answer arrives;
 * the clock never moves by itself. The delays of every matching rule add up; then the first matching error rule (in
 * the order the rules were added) answers instead of the operation, and only it counts as applied.
 */
import { Duration, Effect } from "effect"
import * as AwsError from "./AwsError.ts"

export type RequestFaultKind = "throttle" | "error500" | "error503" | "access-denied" | "delay"
export type ExportFaultKind = "truncate-export" | "corrupt-export"

interface Bounds {
  /** How many requests (or exports) it applies to; unlimited when absent. */
  readonly times?: number
  /** The chance, from 0 to 1, that it applies to a matching request (default 1). */
  readonly probability?: number
}

export interface RequestFault extends Bounds {
  readonly kind: RequestFaultKind
  /** `GetRecords`, `dynamodb:PutItem`, `s3:GetObject`, `s3:*`, or `*`. */
  readonly action: string
  /** Only GetShardIterator (its ShardId) and GetRecords (its iterator's shard) for this shard. */
  readonly shardId?: string
  /** For `delay`. */
  readonly delayMs?: number
}

export interface ExportFault extends Bounds {
  readonly kind: ExportFaultKind
  /** Only this export; every export when absent. */
  readonly exportArn?: string
}

export type FaultRule = RequestFault | ExportFault

/** A rule as listed: its id and how many times it has applied. */
export type ActiveFault = FaultRule & { readonly id: string; readonly applied: number }

/** The protocol a request came in with: it decides the shape of a throttling error. */
export type Service = "dynamodb" | "streams" | "s3"

/** The shard of a Streams iterator issued by this emulator, if it is one. */
export type ShardOfIterator = (iterator: string) => Effect.Effect<string | undefined>

const REQUEST_KINDS: ReadonlyArray<string> = ["throttle", "error500", "error503", "access-denied", "delay"]
const EXPORT_KINDS: ReadonlyArray<string> = ["truncate-export", "corrupt-export"]

const DATA_PLANE = new Set(
  ("GetItem PutItem UpdateItem DeleteItem Query Scan BatchGetItem BatchWriteItem TransactGetItems TransactWriteItems "
    + "ExecuteStatement BatchExecuteStatement ExecuteTransaction").split(" ")
)

const isExportFault = (rule: FaultRule): rule is ExportFault => EXPORT_KINDS.includes(rule.kind)

/** Checks a rule given to the admin API; the message says what is wrong. */
export const parseRule = (input: Record<string, unknown>): FaultRule | string => {
  const { kind, action, shardId, delayMs, times, probability, exportArn } = input
  if (typeof kind !== "string" || ![...REQUEST_KINDS, ...EXPORT_KINDS].includes(kind)) {
    return `kind must be one of ${[...REQUEST_KINDS, ...EXPORT_KINDS].join(", ")}`
  }
  if (times !== undefined && !(Number.isInteger(times) && (times as number) > 0)) {
    return "times must be a positive integer"
  }
  if (probability !== undefined && !(typeof probability === "number" && probability >= 0 && probability <= 1)) {
    return "probability must be a number from 0 to 1"
  }
  const bounds = {
    ...(times === undefined ? {} : { times: times as number }),
    ...(probability === undefined ? {} : { probability })
  }
  if (EXPORT_KINDS.includes(kind)) {
    if (exportArn !== undefined && typeof exportArn !== "string") return "exportArn must be a string"
    return { kind: kind as ExportFaultKind, ...(exportArn === undefined ? {} : { exportArn }), ...bounds }
  }
  if (typeof action !== "string" || action === "") return 'action is required (an action name or "*")'
  if (shardId !== undefined && typeof shardId !== "string") return "shardId must be a string"
  if (kind === "delay" && !(typeof delayMs === "number" && Number.isFinite(delayMs) && delayMs >= 0)) {
    return "delayMs must be a number of milliseconds"
  }
  return {
    kind: kind as RequestFaultKind,
    action,
    ...(shardId === undefined ? {} : { shardId }),
    ...(kind === "delay" ? { delayMs: delayMs as number } : {}),
    ...bounds
  }
}

/** `GetRecords` and `dynamodb:GetRecords` name the same action; `s3:*` names all of S3's. */
const actionMatches = (pattern: string, action: string): boolean =>
  pattern === "*" || pattern === action || action.endsWith(`:${pattern}`)
  || (pattern.endsWith(":*") && action.startsWith(pattern.slice(0, -1)))

const errorOf = (kind: RequestFaultKind, service: Service, action: string): AwsError.AwsError => {
  const name = action.slice(action.indexOf(":") + 1)
  const error = (code: string, status: number, message: string, namespace?: string) =>
    new AwsError.AwsError(namespace === undefined ? { code, status, message } : { code, status, message, namespace })
  if (kind === "access-denied") {
    const message = `User: arn:aws:iam::000000000000:user/emulator is not authorized to perform: ${action} `
      + `because no identity-based policy allows the ${action} action (injected fault)`
    return service === "s3"
      ? error("AccessDenied", 403, "Access Denied")
      : error("AccessDeniedException", 400, message, "com.amazon.coral.service")
  }
  if (service === "s3") {
    return kind === "throttle"
      ? error("SlowDown", 503, "Please reduce your request rate.")
      : kind === "error500"
      ? error("InternalError", 500, "We encountered an internal error. Please try again.")
      : error("ServiceUnavailable", 503, "Service is unable to handle request.")
  }
  if (kind === "error500") return AwsError.internal("Internal server error (injected fault)")
  if (kind === "error503") return error("ServiceUnavailable", 503, "Service unavailable (injected fault)")
  if (service === "streams") return error("LimitExceededException", 400, "Rate exceeded (injected fault)")
  return DATA_PLANE.has(name)
    ? error(
      "ProvisionedThroughputExceededException",
      400,
      "The level of configured provisioned throughput for the table was exceeded (injected fault)"
    )
    : error(
      "ThrottlingException",
      400,
      "Rate of requests exceeds the allowed throughput (injected fault)",
      "com.amazon.coral.availability"
    )
}

export class Faults {
  private rules: Array<{ id: string; rule: FaultRule; applied: number }> = []
  private next = 1

  constructor(private readonly shardOfIterator: ShardOfIterator = () => Effect.succeed(undefined)) {}

  add(rule: FaultRule): string {
    const id = `fault-${this.next++}`
    this.rules.push({ id, rule, applied: 0 })
    return id
  }

  /** Whether a rule was removed. */
  remove(id: string): boolean {
    const before = this.rules.length
    this.rules = this.rules.filter((entry) => entry.id !== id)
    return this.rules.length < before
  }

  clear(): void {
    this.rules = []
  }

  /** Whether any rule applies to requests (rather than to export files). */
  hasRequestRules(): boolean {
    return this.rules.some(({ rule }) => !isExportFault(rule))
  }

  list(): ReadonlyArray<ActiveFault> {
    return this.rules.map(({ id, rule, applied }) => ({ id, ...rule, applied }))
  }

  /**
   * The request rules that apply to one request, counted as applied. `shardId` is the request's shard, when known;
   * a rule scoped to a shard never applies to a request whose shard is unknown.
   */
  match(action: string, context: { readonly shardId?: string | undefined } = {}): ReadonlyArray<RequestFault> {
    const taken: Array<RequestFault> = []
    let failing = false
    for (const entry of this.rules) {
      const rule = entry.rule
      if (isExportFault(rule) || !actionMatches(rule.action, action)) continue
      if (rule.shardId !== undefined && rule.shardId !== context.shardId) continue
      if ((rule.kind !== "delay" && failing) || !this.fires(entry)) continue
      failing ||= rule.kind !== "delay"
      taken.push(rule)
    }
    return taken
  }

  /** The export rule that applies to an export being written, if any, counted as applied. */
  matchExport(exportArn: string): ExportFault | undefined {
    for (const entry of this.rules) {
      const rule = entry.rule
      if (isExportFault(rule) && (rule.exportArn === undefined || rule.exportArn === exportArn) && this.fires(entry)) {
        return rule
      }
    }
    return undefined
  }

  /**
   * Applies the request rules to one request, before its operation runs: sleeps the delays on the current `Clock`,
   * then fails with the first error rule's AWS error. `input` is the JSON request (for its shard), if any.
   */
  check(
    action: string,
    service: Service,
    input: Record<string, unknown> = {}
  ): Effect.Effect<void, AwsError.AwsError> {
    return Effect.suspend(() => {
      if (this.rules.length === 0) return Effect.void
      const scoped = this.rules.some(({ rule }) => !isExportFault(rule) && rule.shardId !== undefined)
      const shard = !scoped
        ? Effect.succeed(undefined)
        : typeof input.ShardId === "string"
        ? Effect.succeed(input.ShardId)
        : typeof input.ShardIterator === "string"
        ? this.shardOfIterator(input.ShardIterator)
        : Effect.succeed(undefined)
      return Effect.flatMap(shard, (shardId) => {
        const rules = this.match(action, { shardId })
        const delayMs = rules.reduce((sum, rule) => sum + (rule.kind === "delay" ? rule.delayMs ?? 0 : 0), 0)
        const failing = rules.find((rule) => rule.kind !== "delay")
        const sleep = delayMs > 0 ? Effect.sleep(Duration.millis(delayMs)) : Effect.void
        if (failing === undefined) return sleep
        return Effect.zipRight(sleep, Effect.fail(errorOf(failing.kind, service, action)))
      })
    })
  }

  /** Whether a matching rule applies this time (its `times` not used up, its `probability` drawn); counts it. */
  private fires(entry: { readonly rule: FaultRule; applied: number }): boolean {
    const { rule } = entry
    if (rule.times !== undefined && entry.applied >= rule.times) return false
    if (rule.probability !== undefined && Math.random() >= rule.probability) return false
    entry.applied++
    return true
  }
}

/** An export data file damaged as a fault rule says; the manifest keeps the intact file's checksums. */
export const damage = (kind: ExportFaultKind, bytes: Uint8Array): Uint8Array => {
  if (kind === "truncate-export") return bytes.slice(0, Math.floor(bytes.length / 2))
  const out = bytes.slice()
  const middle = Math.floor(out.length / 2)
  for (let i = Math.max(0, middle - 4); i < Math.min(out.length, middle + 4); i++) out[i] = out[i]! ^ 0xff
  return out
}
