/**
 * Stopping `run` on SIGINT or SIGTERM. The runtime (`NodeRuntime.runMain`) interrupts the program on the first
 * signal: the engine stops at its next safe point (a batch in flight is written and checkpointed first). This module
 * adds what the runtime does not: the exit code says which signal stopped the run (130 for SIGINT, 143 for SIGTERM,
 * through {@link teardown}), a second signal exits at once, and a run that has not stopped within the grace period
 * exits anyway (what it had not checkpointed comes again on the next run).
 */
import { Runtime } from "@effect/platform"
import { Effect } from "effect"

const CODES = { SIGINT: 130, SIGTERM: 143 } as const
type Signal = keyof typeof CODES

let received: Signal | undefined
let installed = false

/** The signal that stopped the program, if one did (and {@link install} was called). */
export const signal = (): Signal | undefined => received

/** The exit code for a signal: 128 plus its number. */
export const exitCode = (signal: Signal): number => CODES[signal]

/**
 * From now on, the first SIGINT or SIGTERM is recorded for the exit code and starts a `graceMs` watchdog; a second
 * one exits at once. Idempotent.
 */
export const install = (graceMs = 9_000): Effect.Effect<void> =>
  Effect.sync(() => {
    if (installed) return
    installed = true
    const onSignal = (signal: Signal) => {
      if (received !== undefined) {
        process.stderr.write(`${signal} again: exiting now\n`)
        process.exit(CODES[signal])
      }
      received = signal
      process.stderr.write(`${signal}: stopping after the batch in flight (${signal} again to exit at once)\n`)
      setTimeout(() => {
        process.stderr.write(
          `did not stop within ${Math.round(graceMs / 1000)} s: exiting; changes not yet checkpointed come again `
            + "on the next run\n"
        )
        process.exit(CODES[signal])
      }, graceMs).unref()
    }
    process.on("SIGINT", onSignal)
    process.on("SIGTERM", onSignal)
  })

/** The runtime's teardown, with 130 or 143 as the exit code once a signal was recorded. */
export const teardown: Runtime.Teardown = (exit, onExit) =>
  Runtime.defaultTeardown(exit, (code) => onExit(received === undefined ? code : CODES[received]))
