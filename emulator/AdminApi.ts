/**
 * The admin API, under `/_backstream/`: the clock, faults, a full reset and the request log, so that tests (and users
 * of the `emulator` command) can drive time, break things on purpose and audit exactly which AWS actions a client
 * used.
 *
 * | route | body | answer |
 * |---|---|---|
 * | `GET /health` | | `{ok, clock, nowMs}` |
 * | `GET /clock` | | `{mode, nowMs}` |
 * | `POST /clock/advance` | `{ms}` | `{nowMs}` (virtual clock only) |
 * | `POST /clock/set` | `{timeMs}` | `{nowMs}` (virtual clock only; never backwards) |
 * | `POST /reset` | | every table, stream, export, bucket, fault rule and log entry dropped |
 * | `GET /requests`, `DELETE /requests` | | `{requests}`: the request log (below), or clear it |
 * | `POST /ttl/expire` | | delete expired TTL items now: `{deleted}` |
 * | `POST /streams/split` | `{streamArn, shardId?}` | `{children}` |
 * | `POST /streams/expire-iterators` | | every iterator issued so far expires |
 * | `POST /streams/trim` | | trim every stream up to now |
 * | `POST /faults` | a rule (below) | `{id}` |
 * | `GET /faults` | | `{faults}`: the rules, each with its `id` and how many times it `applied` |
 * | `DELETE /faults`, `DELETE /faults/<id>` | | clear every rule, or remove one (404 if unknown) |
 *
 * An entry of the request log: `{timeMs, action, resource?, accessKeyId?, status, errorCode?}`, with `action` IAM-style
 * (`dynamodb:GetRecords`, `s3:PutObject`) and `accessKeyId` the caller's, from its SigV4 signature (never its secret):
 * give each client its own access key id to tell their requests apart.
 *
 * A fault rule (see `Faults.ts`): `{kind, action, shardId?, delayMs?, times?, probability?}` with `kind` one of
 * `throttle`, `error500`, `error503`, `access-denied`, `delay` and `action` like `GetRecords`, `s3:GetObject`, `s3:*` or `*`; or
 * `{kind: "truncate-export" | "corrupt-export", exportArn?, times?, probability?}` for exports' data files.
 */
import { Effect } from "effect"
import * as AwsError from "./AwsError.ts"
import type { Services } from "./Emulator.ts"
import { type EmulatorRequest, json } from "./Http.ts"
import type { EmulatorInstance } from "./EmulatorInstance.ts"
import { parseRule } from "./Faults.ts"

const body = (request: EmulatorRequest): Effect.Effect<Record<string, unknown>, AwsError.AwsError> => {
  if (request.body.length === 0) return Effect.succeed({})
  try {
    const parsed = JSON.parse(new TextDecoder().decode(request.body))
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)
      ? Effect.succeed(parsed)
      : Effect.fail(AwsError.serialization("the body must be a JSON object"))
  } catch {
    return Effect.fail(AwsError.serialization("the body is not JSON"))
  }
}

const number = (input: Record<string, unknown>, field: string) =>
  typeof input[field] === "number" && Number.isFinite(input[field])
    ? Effect.succeed(input[field] as number)
    : Effect.fail(AwsError.validation(`${field} must be a number`))

export const make = (instance: () => EmulatorInstance): Services["admin"] => {
  const now = () => ({ nowMs: instance().clock.unsafeCurrentTimeMillis() })
  const moved = (effect: Effect.Effect<number, { readonly message: string }>) =>
    effect.pipe(
      Effect.mapError((error) => AwsError.validation(error.message)),
      Effect.zipRight(instance().tick),
      Effect.map(() => json(now()))
    )
  return {
    "GET /health": () => Effect.succeed(json({ ok: true, clock: instance().clock.mode, ...now() })),
    "GET /clock": () => Effect.succeed(json({ mode: instance().clock.mode, ...now() })),
    "POST /clock/advance": (request) =>
      Effect.flatMap(
        body(request),
        (input) => Effect.flatMap(number(input, "ms"), (ms) => moved(instance().clock.advance(ms)))
      ),
    "POST /clock/set": (request) =>
      Effect.flatMap(
        body(request),
        (input) => Effect.flatMap(number(input, "timeMs"), (ms) => moved(instance().clock.setTime(ms)))
      ),
    "POST /reset": () => Effect.map(instance().reset, () => json({ ok: true })),
    "GET /requests": () => Effect.succeed(json({ requests: instance().emulator.requestLog.entries })),
    "DELETE /requests": () =>
      Effect.sync(() => {
        instance().emulator.requestLog.clear()
        return json({ ok: true })
      }),
    "POST /ttl/expire": () => Effect.map(instance().tables.expireItems(), (deleted) => json({ deleted })),
    "POST /streams/split": (request) =>
      Effect.flatMap(
        body(request),
        (input) =>
          typeof input.streamArn !== "string" ? Effect.fail(AwsError.validation("streamArn is required")) : Effect.map(
            instance().streams.splitShard(
              input.streamArn,
              typeof input.shardId === "string" ? input.shardId : undefined
            ),
            (children) => json({ children })
          )
      ),
    "POST /streams/expire-iterators": () =>
      Effect.sync(() => {
        instance().streams.expireIterators()
        return json({ ok: true })
      }),
    "POST /streams/trim": () =>
      Effect.sync(() => {
        instance().streams.trimNow()
        return json({ ok: true })
      }),
    "POST /faults": (request) =>
      Effect.flatMap(body(request), (input) => {
        const rule = parseRule(input)
        return typeof rule === "string"
          ? Effect.fail(AwsError.validation(rule))
          : Effect.sync(() => json({ id: instance().faults.add(rule) }))
      }),
    "GET /faults": () => Effect.sync(() => json({ faults: instance().faults.list() })),
    "DELETE /faults": () =>
      Effect.sync(() => {
        instance().faults.clear()
        return json({ ok: true })
      }),
    "DELETE /faults/*": (request) =>
      Effect.sync(() => {
        const id = request.path.slice(request.path.lastIndexOf("/") + 1)
        return instance().faults.remove(id) ? json({ ok: true }) : json({ message: `no fault ${id}` }, 404)
      })
  }
}
