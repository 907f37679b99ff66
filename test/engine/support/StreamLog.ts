/**
 * Every record the emulator's stream ever held, collected from its shards now and then (before the 24-hour trim takes
 * them): the truth that "no loss" is checked against.
 */
import type { ChangeEvent } from "../../../core/ChangeEvent.ts"
import type { EmulatorInstance } from "../../../emulator/EmulatorInstance.ts"

export interface LoggedRecord {
  readonly shardId: string
  readonly sequenceNumber: string
  /** When the emulator wrote it (ms; its ApproximateCreationDateTime is this, in whole seconds). */
  readonly timeMs: number
}

/** The identity of a stream record or of a stream event: its shard and sequence number. */
export const recordId = (shardId: string, sequenceNumber: string): string => `${shardId}/${sequenceNumber}`

/** The record identity of a stream event (undefined for a snapshot read). */
export const eventRecordId = (event: ChangeEvent): string | undefined =>
  event.position._tag === "Stream" ? recordId(event.position.shardId, event.position.sequenceNumber) : undefined

export interface StreamLog {
  /** Takes in the records the stream holds now. */
  readonly collect: () => void
  readonly records: () => ReadonlyArray<LoggedRecord>
  /** The ids of the records the stream still holds now (untrimmed). */
  readonly heldNow: () => ReadonlySet<string>
}

export const make = (instance: EmulatorInstance, streamArn: string): StreamLog => {
  const seen = new Map<string, LoggedRecord>()
  const shardsNow = () => instance.streams.stream(streamArn, instance.clock.unsafeCurrentTimeMillis())?.shards ?? []
  return {
    collect: () => {
      for (const shard of shardsNow()) {
        for (const record of shard.records) {
          const sequenceNumber = record.sequenceNumber.toString()
          const id = recordId(shard.id, sequenceNumber)
          if (!seen.has(id)) seen.set(id, { shardId: shard.id, sequenceNumber, timeMs: record.timeMs })
        }
      }
    },
    records: () => [...seen.values()],
    heldNow: () =>
      new Set(shardsNow().flatMap((shard) => shard.records.map((r) => recordId(shard.id, r.sequenceNumber.toString()))))
  }
}
