/**
 * The `Spool` port: durable storage for the stream records captured while the backfill runs, so that an export that
 * takes longer than the stream's 24-hour retention loses nothing. Capture appends to it in bounded memory; once the
 * export is applied the engine reads it back in order, then clears it. Adapters: a local folder (the default) and S3
 * objects through the `ObjectStore` port.
 *
 * @module
 */
import { Context, type Effect, type Option, type Stream } from "effect"
import type { Element } from "./Capture.ts"
import type { CaptureState } from "./CaptureState.ts"
import type { SpoolFailure } from "./Errors.ts"

/** Durable storage of captured stream records. */
export class Spool extends Context.Tag("backstream/Spool")<Spool, {
  /** What it is, for messages (`folder /var/lib/backstream/spool`, `s3://bucket/prefix`). */
  readonly description: string
  /**
   * Appends capture elements durably, with the capture state they bring it to; on success both survive a crash.
   * Elements are appended in capture order.
   */
  readonly append: (elements: ReadonlyArray<Element>, state: CaptureState) => Effect.Effect<void, SpoolFailure>
  /** The state of the last durable append, if anything was spooled: capture resumes from it after a restart. */
  readonly state: Effect.Effect<Option.Option<CaptureState>, SpoolFailure>
  /** Every spooled element in append order, read piece by piece (memory does not grow with the spool's size). */
  readonly read: Stream.Stream<Element, SpoolFailure>
  /** Drops everything spooled, once it has been applied. */
  readonly clear: Effect.Effect<void, SpoolFailure>
}>() {}
