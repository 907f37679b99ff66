/**
 * The gate that writes pass: any number of ordinary writes at once, or one exclusive write (a transaction) alone.
 * Plain callbacks, so that the data plane's fast path runs without a fiber per request; `write` and `exclusive` give
 * the same gate to Effect code. A waiting transaction stops new writes from entering, so it cannot be starved.
 */
import { Effect } from "effect"

export class WriteGate {
  private active = 0
  private exclusiveHeld = false
  private readonly exclusiveQueue: Array<() => void> = []
  private readonly writeQueue: Array<() => void> = []

  /** Runs `enter` once an ordinary write may proceed; the write must call {@link leave} when it is done. */
  enter(enter: () => void): void {
    if (this.exclusiveHeld || this.exclusiveQueue.length > 0) this.writeQueue.push(enter)
    else {
      this.active++
      enter()
    }
  }

  /** Ends an ordinary write. */
  leave(): void {
    this.active--
    this.next()
  }

  /** An ordinary write as an effect. */
  write<A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E> {
    return Effect.acquireUseRelease(
      Effect.async<void>((resume) => this.enter(() => resume(Effect.void))),
      () => effect,
      () => Effect.sync(() => this.leave())
    )
  }

  /** A write that runs alone: it waits for the writes in flight, and holds new ones back until it ends. */
  exclusive<A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E> {
    return Effect.acquireUseRelease(
      Effect.async<void>((resume) => {
        this.exclusiveQueue.push(() => resume(Effect.void))
        this.next()
      }),
      () => effect,
      () =>
        Effect.sync(() => {
          this.exclusiveHeld = false
          this.next()
        })
    )
  }

  private next(): void {
    if (this.exclusiveHeld || this.active > 0) return
    const exclusive = this.exclusiveQueue.shift()
    if (exclusive !== undefined) {
      this.exclusiveHeld = true
      exclusive()
      return
    }
    const waiting = this.writeQueue.splice(0)
    this.active += waiting.length
    for (const enter of waiting) enter()
  }
}
