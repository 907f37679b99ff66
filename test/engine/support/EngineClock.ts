/**
 * The engine's clock for runs against an emulator on a virtual clock: the time is the emulator's (so the engine's
 * "now", the export's time and the records' times agree, and 30 hours pass in a second), the sleeps are real (so the
 * engine polls, batches and backs off on the wall clock while the test moves time).
 */
import { Clock } from "effect"
import type { EmulatorClock } from "../../../emulator/EmulatorClock.ts"

const wallClock = Clock.make()

export const virtualTime = (emulator: EmulatorClock): Clock.Clock => ({
  [Clock.ClockTypeId]: Clock.ClockTypeId,
  unsafeCurrentTimeMillis: () => emulator.unsafeCurrentTimeMillis(),
  unsafeCurrentTimeNanos: () => emulator.unsafeCurrentTimeNanos(),
  currentTimeMillis: emulator.currentTimeMillis,
  currentTimeNanos: emulator.currentTimeNanos,
  sleep: (duration) => wallClock.sleep(duration)
})
