/**
 * Crashes at chosen moments: the engine runs until it reports a phase (or a later one), a little longer, and is then
 * interrupted, as a process killed there would stop; then it starts again on the same sink, checkpoint and spool.
 */
import { Cause, Deferred, Duration, Effect, Exit, Fiber, type Scope } from "effect"
import type * as Engine from "../../../core/Engine.ts"

export type Phase = Engine.Progress["_tag"]

export const phases: ReadonlyArray<Phase> = ["ExportWaiting", "ExportLoading", "SpoolDraining", "Streaming"]

/** Where to crash: once the engine reports `phase` or a later one, `delayMs` later. */
export interface Crash {
  readonly phase: Phase
  readonly delayMs: number
}

export type Runner<E, R> = (onProgress: (progress: Engine.Progress) => Effect.Effect<void>) => Effect.Effect<
  Engine.Summary,
  E,
  R
>

/**
 * Runs the engine once per crash and interrupts it there (after `patienceMs` at most, should the phase never come),
 * then starts the last run, forked in the scope, and returns its fiber. A run that fails, rather than being
 * interrupted, dies with its cause.
 */
export const withCrashes = <E, R>(
  run: Runner<E, R>,
  crashes: ReadonlyArray<Crash>,
  patienceMs = 1500
): Effect.Effect<Fiber.RuntimeFiber<Engine.Summary, E>, never, R | Scope.Scope> =>
  Effect.gen(function* () {
    for (const [i, crash] of crashes.entries()) {
      const reached = yield* Deferred.make<void>()
      const threshold = phases.indexOf(crash.phase)
      const fiber = yield* Effect.fork(run((progress) =>
        phases.indexOf(progress._tag) >= threshold ? Effect.asVoid(Deferred.succeed(reached, undefined)) : Effect.void
      ))
      yield* Effect.raceFirst(Deferred.await(reached), Effect.asVoid(Fiber.await(fiber))).pipe(
        Effect.timeout(Duration.millis(patienceMs)),
        Effect.ignore
      )
      yield* Effect.sleep(Duration.millis(crash.delayMs))
      const exit = yield* Fiber.interrupt(fiber)
      if (Exit.isFailure(exit) && !Cause.isInterruptedOnly(exit.cause)) {
        return yield* Effect.dieMessage(`run ${i} (to crash at ${crash.phase}) failed:\n${Cause.pretty(exit.cause)}`)
      }
    }
    return yield* Effect.forkScoped(run(() =>
      Effect.void
    ))
  })

/** Dies if the fiber has failed (a run that should go on must not have stopped). */
export const stillRunning = <A, E>(fiber: Fiber.RuntimeFiber<A, E>) =>
  Effect.flatMap(
    Fiber.poll(fiber),
    (exit) =>
      exit._tag === "Some" && Exit.isFailure(exit.value)
        ? Effect.dieMessage(`the engine stopped:\n${Cause.pretty(exit.value.cause)}`)
        : Effect.void
  )
