/**
 * The emulator's clock: real by default; in virtual mode it stands still until told to move (through the admin API
 * or in-process), so 24-hour retention, 15-minute iterator expiry, 4-hour shard rollover and 30-hour exports are
 * testable in milliseconds. It is an Effect `Clock`: everything in the emulator reads time through it.
 */
import { Clock, Duration, Effect } from "effect"

export type ClockMode = "real" | "virtual"

const realClock = Clock.make()

interface Sleeper {
  readonly wakeAt: number
  readonly wake: () => void
}

export class EmulatorClock implements Clock.Clock {
  readonly [Clock.ClockTypeId]: Clock.ClockTypeId = Clock.ClockTypeId
  private virtualNow: number
  private sleepers: Array<Sleeper> = []

  constructor(readonly mode: ClockMode, startMs: number) {
    this.virtualNow = startMs
  }

  /** A clock that follows the wall clock, or a virtual one that starts at `startMs` (default: the wall clock now). */
  static make(mode: ClockMode, startMs?: number): Effect.Effect<EmulatorClock> {
    return Effect.map(Clock.currentTimeMillis, (now) => new EmulatorClock(mode, startMs ?? now))
  }

  unsafeCurrentTimeMillis(): number {
    return this.mode === "virtual" ? this.virtualNow : realClock.unsafeCurrentTimeMillis()
  }

  unsafeCurrentTimeNanos(): bigint {
    return this.mode === "virtual" ? BigInt(this.virtualNow) * 1_000_000n : realClock.unsafeCurrentTimeNanos()
  }

  get currentTimeMillis(): Effect.Effect<number> {
    return Effect.sync(() => this.unsafeCurrentTimeMillis())
  }

  get currentTimeNanos(): Effect.Effect<bigint> {
    return Effect.sync(() => this.unsafeCurrentTimeNanos())
  }

  sleep(duration: Duration.Duration): Effect.Effect<void> {
    if (this.mode === "real") return realClock.sleep(duration)
    return Effect.async<void>((resume) => {
      const sleeper: Sleeper = {
        wakeAt: this.virtualNow + Duration.toMillis(duration),
        wake: () => resume(Effect.void)
      }
      if (sleeper.wakeAt <= this.virtualNow) return resume(Effect.void)
      this.sleepers.push(sleeper)
      return Effect.sync(() => {
        this.sleepers = this.sleepers.filter((s) => s !== sleeper)
      })
    })
  }

  /** Moves a virtual clock forward (never back), waking the sleepers that are due. */
  advance(duration: Duration.DurationInput): Effect.Effect<number, ClockNotVirtual> {
    return Effect.suspend(() => this.setTime(this.virtualNow + Duration.toMillis(Duration.decode(duration))))
  }

  /** Sets a virtual clock to a time at or after its current one. */
  setTime(ms: number): Effect.Effect<number, ClockNotVirtual> {
    return Effect.suspend(() => {
      if (this.mode !== "virtual") return Effect.fail(new ClockNotVirtual())
      this.virtualNow = Math.max(this.virtualNow, Math.floor(ms))
      const due = this.sleepers.filter((s) => s.wakeAt <= this.virtualNow)
      this.sleepers = this.sleepers.filter((s) => s.wakeAt > this.virtualNow)
      for (const sleeper of due) sleeper.wake()
      return Effect.succeed(this.virtualNow)
    })
  }
}

export class ClockNotVirtual {
  readonly _tag = "ClockNotVirtual"
  readonly message = "the emulator's clock is real: start it with --clock virtual to move time"
}
