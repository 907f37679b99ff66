/**
 * The `Sink` port: where the change feed goes. The engine hands it ordered batches of events, each with the
 * checkpoint that covers it; when `write` succeeds the batch is durable. A transactional sink (SQL) commits the
 * checkpoint in the same transaction as the data — exactly-once — and serves as the checkpoint store; the others
 * (JSON lines) are at-least-once, their checkpoint saved by a `CheckpointStore` after the write.
 *
 * Every event carries its per-item {@link Version}: a sink applies an event only when its version is above the one it
 * holds for the item.
 *
 * @module
 */
import { Context, type Effect, type Option } from "effect"
import type { ChangeEvent } from "./ChangeEvent.ts"
import type { Checkpoint } from "./Checkpoint.ts"
import type { SinkFailure } from "./Errors.ts"
import type { KeySchema } from "./ItemKey.ts"

/** The table being replicated, as the sink needs it to prepare its side. */
export interface SourceTable {
  readonly name: string
  readonly arn: string
  /** With the key attributes' types (from DescribeTable). */
  readonly keySchema: KeySchema
}

/** Events in order (per item), with the checkpoint that holds once they are applied. */
export interface Batch {
  readonly events: ReadonlyArray<ChangeEvent>
  readonly checkpoint: Checkpoint
  /** What this sink's `prepare` made of these events, if it was asked: opaque to all but the sink. */
  readonly prepared?: unknown
}

/** A sink of change events. */
export class Sink extends Context.Tag("backstream/Sink")<Sink, {
  /** What it is, for messages and the summary (`postgres table public.orders`, `jsonl /tmp/out.jsonl`). */
  readonly description: string
  /** True when `write` commits the checkpoint with the data (then `loadCheckpoint` gives it back). */
  readonly transactional: boolean
  /** Prepares the sink for a table (creates its table, checks an existing one fits); called once before writes. */
  readonly open: (table: SourceTable) => Effect.Effect<void, SinkFailure>
  /** Applies a batch durably: on success, every event is applied (or skipped as older) and, if transactional, the
   * checkpoint is committed with them. */
  readonly write: (batch: Batch) => Effect.Effect<void, SinkFailure>
  /**
   * The part of `write` that needs no I/O (turning events into the sink's own form), done ahead: while the batch
   * before is still being written, so that the sink is not idle meanwhile. Its result goes back in the batch
   * (`Batch.prepared`), whose `write` may then skip that work, or redo it if it no longer fits. Called in order, once
   * a batch; never fails (a batch it cannot prepare is written as if it had not been asked). Absent: nothing to do
   * ahead.
   */
  readonly prepare?: (events: ReadonlyArray<ChangeEvent>) => unknown
  /** The checkpoint committed with the data, for a transactional sink; none for the others. */
  readonly loadCheckpoint: Effect.Effect<Option.Option<Checkpoint>, SinkFailure>
  /**
   * Whether the sink already holds items of the table (rows, or tombstones of deleted ones), once open. The engine
   * refuses to start a backfill from scratch into such a sink: a snapshot read never replaces what a sink holds (its
   * version is below every other), so items changed or deleted since would stay stale. Absent when the sink cannot
   * tell (JSON lines only append).
   */
  readonly holdsItems?: Effect.Effect<boolean, SinkFailure>
}>() {}
