/**
 * Waiting, on the wall clock, for what the engine does in the background: a condition, or a replica equal to the
 * table. Never a measurement: the bounds only keep a broken run from hanging.
 */
import { Duration, Effect, Schedule } from "effect"
import * as EngineHarness from "./EngineHarness.ts"

/** Waits until `done()` holds, checking every 10 ms, for `seconds` at most (then dies naming `what`). */
export const until = (done: () => boolean, what: string, seconds = 30) =>
  Effect.gen(function* () {
    const attempts = seconds * 100
    for (let i = 0; i < attempts; i++) {
      if (done()) return
      yield* Effect.sleep("10 millis")
    }
    return yield* Effect.dieMessage(`gave up waiting for ${what}`)
  })

const syncOr = <A>(value: (() => A) | Effect.Effect<A>): Effect.Effect<A> =>
  Effect.isEffect(value) ? value : Effect.sync(value)

/**
 * Waits until the replica equals the table item by item and `also` gives no complaint; dies with the last
 * differences after `seconds`. Returns the table's size.
 */
export const converged = (
  harness: EngineHarness.Harness,
  replica: (() => EngineHarness.Items) | Effect.Effect<EngineHarness.Items>,
  also: (() => ReadonlyArray<string>) | Effect.Effect<ReadonlyArray<string>> = () => [],
  seconds = 30
) =>
  Effect.gen(function* () {
    const expected = yield* harness.tableItems
    const problems = [...EngineHarness.differences(expected, yield* syncOr(replica)), ...(yield* syncOr(also))]
    if (problems.length > 0) return yield* Effect.fail(problems)
    return expected.size
  }).pipe(
    Effect.retry(Schedule.spaced("25 millis").pipe(Schedule.upTo(Duration.seconds(seconds)))),
    Effect.catchAll((problems) =>
      Effect.dieMessage(`the replica does not converge: ${problems.slice(0, 12).join("; ")}`)
    )
  )
