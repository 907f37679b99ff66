/**
 * The emulator: one endpoint for DynamoDB (`X-Amz-Target: DynamoDB_20120810.*`), DynamoDB Streams
 * (`DynamoDBStreams_20120810.*`), S3 (path-style REST) and an admin API under `/_backstream/`. This file routes
 * requests to the services and owns what they share: the configuration, the clock and the request log.
 */
import { Effect, Fiber, FiberRef, Option } from "effect"
import * as AwsError from "./AwsError.ts"
import type { EmulatorConfig } from "./EmulatorConfig.ts"
import type { EmulatorClock } from "./EmulatorClock.ts"
import { Faults } from "./Faults.ts"
import { type EmulatorRequest, type EmulatorResponse, json, JSON_1_0 } from "./Http.ts"

/** A JSON 1.0 operation: parsed input in, output object out. */
export type Operation = (input: Record<string, unknown>) => Effect.Effect<unknown, AwsError.AwsError>

/** A service's operations by name (`PutItem`, `GetRecords`, …). */
export type Operations = Readonly<Record<string, Operation>>

/** An operation with a plain callback, for the data plane's fast path: `done` is called once. */
export type DirectOperation = (
  input: Record<string, unknown>,
  done: (error: AwsError.AwsError | undefined, output?: unknown) => void
) => void

/** The DynamoDB operations that have a fast path, by name. */
export type DirectOperations = Readonly<Record<string, DirectOperation>>

/** A REST service (S3): a whole request in, a whole response out. */
export type RestService = (request: EmulatorRequest) => Effect.Effect<EmulatorResponse>

/** One entry of the request log: who called which AWS action, on which resource, and how it ended. */
export interface LoggedRequest {
  readonly timeMs: number
  /** IAM-style action: `dynamodb:PutItem`, `dynamodb:GetRecords`, `s3:GetObject`, `s3:ListBucket`, … */
  readonly action: string
  readonly resource?: string
  /**
   * The caller's access key id, from its SigV4 signature (`Credential=AKID/…` of the `Authorization` header, or the
   * `X-Amz-Credential` of a presigned URL), as CloudTrail records it; absent for an unsigned request. Never the secret
   * key nor the session token.
   */
  readonly accessKeyId?: string
  readonly status: number
  readonly errorCode?: string
}

/** The access key id a request was signed with, if it was signed (the signature itself is not checked). */
export const accessKeyIdOf = (authorization: string | undefined, query?: URLSearchParams): string | undefined => {
  const credential = authorization === undefined
    ? query?.get("X-Amz-Credential") ?? undefined
    : /\bCredential=([^,\s]*)/.exec(authorization)?.[1]
  const id = credential?.split("/")[0]
  return id === undefined || id === "" ? undefined : id
}

/** The caller of the request a fiber serves: read by {@link RequestLog.add} for the services that log themselves. */
const currentCaller = FiberRef.unsafeMake<string | undefined>(undefined)

/** The request log, shared by the services (S3 logs its own requests, with S3's action names). */
export class RequestLog {
  readonly entries: Array<LoggedRequest> = []
  constructor(private readonly clock: EmulatorClock) {}

  /** Adds an entry; without an `accessKeyId`, it takes the caller of the request being served (see `handle`). */
  add(entry: Omit<LoggedRequest, "timeMs">): void {
    const accessKeyId = entry.accessKeyId ?? Option.match(Fiber.getCurrentFiber(), {
      onNone: () => undefined,
      onSome: (fiber) => fiber.getFiberRef(currentCaller)
    })
    this.entries.push({
      timeMs: this.clock.unsafeCurrentTimeMillis(),
      ...entry,
      ...(accessKeyId === undefined ? {} : { accessKeyId })
    })
  }

  clear(): void {
    this.entries.length = 0
  }
}

export interface Services {
  readonly dynamodb: Operations
  /** Fast paths of some `dynamodb` operations, taken while no fault rule is set. */
  readonly direct?: DirectOperations
  readonly streams: Operations
  readonly s3: RestService
  /**
   * The admin API's routes, by `METHOD /path` below `/_backstream` (`POST /clock/advance`); a last segment `*` matches
   * any one segment (`DELETE /faults/*`).
   */
  readonly admin: Readonly<
    Record<string, (request: EmulatorRequest) => Effect.Effect<EmulatorResponse, AwsError.AwsError>>
  >
}

export const ADMIN_PREFIX = "/_backstream"

const decoder = new TextDecoder()

const resourceOf = (input: Record<string, unknown>): string | undefined => {
  for (const field of ["TableName", "StreamArn", "ExportArn", "TableArn", "ShardIterator", "ResourceArn"]) {
    const value = input[field]
    if (typeof value === "string") return field === "ShardIterator" ? "iterator" : value
  }
  return undefined
}

export class Emulator {
  constructor(
    readonly config: EmulatorConfig,
    readonly clock: EmulatorClock,
    readonly requestLog: RequestLog,
    private readonly services: Services,
    readonly faults: Faults = new Faults()
  ) {}

  /** Serves one request. Never fails: every error becomes AWS's error response. */
  handle(request: EmulatorRequest): Effect.Effect<EmulatorResponse> {
    return this.route(request).pipe(
      Effect.catchAllDefect((defect) =>
        Effect.succeed(this.jsonError(AwsError.internal(`internal error in the emulator: ${String(defect)}`)))
      ),
      Effect.withClock(this.clock),
      Effect.locally(currentCaller, accessKeyIdOf(request.headers["authorization"], request.query))
    )
  }

  /**
   * Serves a DynamoDB data-plane request on its fast path, without a fiber, when it has one and no fault rule is set:
   * then it returns true and calls `respond` once. Otherwise it returns false and the caller uses {@link handle}.
   * `authorization` is the request's `Authorization` header, for the caller in the request log.
   */
  handleDirect(
    target: string,
    body: Uint8Array,
    respond: (response: EmulatorResponse) => void,
    authorization?: string
  ): boolean {
    if (!target.startsWith("DynamoDB_20120810.") || this.faults.hasRequestRules()) return false
    const name = target.slice("DynamoDB_20120810.".length)
    const direct = this.services.direct
    const operation = direct !== undefined && Object.hasOwn(direct, name) ? direct[name] : undefined
    if (operation === undefined) return false
    let input: unknown
    try {
      input = body.length === 0 ? {} : JSON.parse(decoder.decode(body))
    } catch {
      return false
    }
    if (typeof input !== "object" || input === null || Array.isArray(input)) return false
    const fields = input as Record<string, unknown>
    const action = `dynamodb:${name}`
    const resource = resourceOf(fields)
    const accessKeyId = accessKeyIdOf(authorization)
    const entry = {
      action,
      ...(resource === undefined ? {} : { resource }),
      ...(accessKeyId === undefined ? {} : { accessKeyId })
    }
    try {
      operation(fields, (error, output) => {
        if (error === undefined) {
          this.requestLog.add({ ...entry, status: 200 })
          respond(json(output ?? {}))
        } else {
          this.requestLog.add({ ...entry, status: error.status, errorCode: error.code })
          respond(this.jsonError(error))
        }
      })
    } catch (defect) {
      respond(this.jsonError(AwsError.internal(`internal error in the emulator: ${String(defect)}`)))
    }
    return true
  }

  private route(request: EmulatorRequest): Effect.Effect<EmulatorResponse> {
    if (request.path === ADMIN_PREFIX || request.path.startsWith(`${ADMIN_PREFIX}/`)) return this.admin(request)
    const target = request.headers["x-amz-target"]
    if (target !== undefined) return this.json(request, target)
    return this.services.s3(request)
  }

  private admin(request: EmulatorRequest): Effect.Effect<EmulatorResponse> {
    const route = `${request.method} ${request.path.slice(ADMIN_PREFIX.length) || "/"}`
    const handler = this.services.admin[route] ?? this.services.admin[`${route.slice(0, route.lastIndexOf("/"))}/*`]
    if (handler === undefined) {
      return Effect.succeed(json({ message: `no admin route ${route}` }, 404))
    }
    return handler(request).pipe(Effect.catchAll((error) => Effect.succeed(this.jsonError(error))))
  }

  private json(request: EmulatorRequest, target: string): Effect.Effect<EmulatorResponse> {
    const dot = target.indexOf(".")
    const prefix = target.slice(0, dot), name = target.slice(dot + 1)
    const service = prefix === "DynamoDB_20120810"
      ? this.services.dynamodb
      : prefix === "DynamoDBStreams_20120810"
      ? this.services.streams
      : undefined
    const operation = dot > 0 && service !== undefined && Object.hasOwn(service, name) ? service[name] : undefined
    const action = `dynamodb:${name}`
    if (operation === undefined) {
      return this.logged(action, undefined, Effect.fail(AwsError.unknownOperation(`unknown operation ${target}`)))
    }
    let input: unknown
    try {
      input = request.body.length === 0 ? {} : JSON.parse(new TextDecoder().decode(request.body))
    } catch {
      return this.logged(action, undefined, Effect.fail(AwsError.serialization("the request body is not valid JSON")))
    }
    if (typeof input !== "object" || input === null || Array.isArray(input)) {
      return this.logged(
        action,
        undefined,
        Effect.fail(AwsError.serialization("the request body is not a JSON object"))
      )
    }
    const fields = input as Record<string, unknown>
    const faulted = this.faults.check(action, service === this.services.streams ? "streams" : "dynamodb", fields)
    return this.logged(action, resourceOf(fields), Effect.zipRight(faulted, Effect.suspend(() => operation(fields))))
  }

  private logged(
    action: string,
    resource: string | undefined,
    effect: Effect.Effect<unknown, AwsError.AwsError>
  ): Effect.Effect<EmulatorResponse> {
    const entry = resource === undefined ? { action } : { action, resource }
    return effect.pipe(
      Effect.map((output) => {
        this.requestLog.add({ ...entry, status: 200 })
        return json(output ?? {})
      }),
      Effect.catchAll((error) => {
        this.requestLog.add({ ...entry, status: error.status, errorCode: error.code })
        return Effect.succeed(this.jsonError(error))
      })
    )
  }

  private jsonError(error: AwsError.AwsError): EmulatorResponse {
    return { status: error.status, headers: { "content-type": JSON_1_0 }, body: AwsError.toJson(error) }
  }
}
