/**
 * Per-item versions. Every event the engine hands a sink carries one, derived from where it was read: a snapshot
 * read (a full export's item) is version 0, below every stream position; a stream record's version is its sequence
 * number. A sink applies an event only when its version is above the one it holds for the item, so an older image
 * never overwrites a newer one and a snapshot row never resurrects a deleted item. Versions are decimal strings of
 * digits, compared as big integers (they exceed 2^53).
 *
 * @module
 */
import type { ChangeEvent } from "./ChangeEvent.ts"

/** A version: a non-negative integer as decimal digits, without leading zeros. */
export type Version = string

/** The version of snapshot reads: below every stream position. */
export const SNAPSHOT: Version = "0"

/** An event's version: {@link SNAPSHOT} for an export's event, the sequence number for a stream record. */
export const of = (event: ChangeEvent): Version =>
  event.position._tag === "Stream" ? event.position.sequenceNumber.replace(/^0+(?=\d)/, "") : SNAPSHOT

/** Compares two versions as integers. */
export const compare = (a: Version, b: Version): -1 | 0 | 1 =>
  a.length !== b.length ? (a.length < b.length ? -1 : 1) : a === b ? 0 : a < b ? -1 : 1

/** Whether `candidate` may replace what a sink holds at `held` (absent: nothing held). */
export const isNewer = (candidate: Version, held: Version | undefined): boolean =>
  held === undefined || compare(candidate, held) > 0
