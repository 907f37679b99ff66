/**
 * Duplicates in a sink's change log.
 *
 * - SQL sinks: triggers log every row the sink writes, `(item key, _backstream_version)` of each insert or update of
 *   the replica table and of each tombstone (a hard delete), into `crash_changes`; a pair logged twice is a change
 *   applied twice.
 * - JSON lines: the file is the log. A `(key, version)` line may come again only as a re-send after a restart (the
 *   events after the last checkpoint), never twice in one run, never when the checkpoint of the kill covered it (a
 *   stream record at or before its shard's position, a snapshot read once the backfill was done), and every run
 *   writes each item's versions in increasing order.
 */
import type { ChangeEvent } from "../../../core/ChangeEvent.ts"
import type * as Checkpoint from "../../../core/Checkpoint.ts"
import * as ItemKey from "../../../core/ItemKey.ts"
import * as SequenceNumber from "../../../core/SequenceNumber.ts"
import * as Version from "../../../core/Version.ts"
import * as SqlIdentifier from "../../../adapters/sinks/internal/SqlIdentifier.ts"
import { KEY_SCHEMA } from "../../support/CliProcess.ts"
import type { Query } from "../../support/ReplicaModel.ts"

export interface SqlLog {
  /** Rows written (inserts and updates of the replica, tombstones raised). */
  readonly changes: number
  /** Changes logged more than once (each extra copy counts). */
  readonly duplicates: number
  readonly examples: ReadonlyArray<string>
}

/** Installs the log on the sink's table (which the sink has created) and its tombstones, in schema `public`. */
export const installSqlLog = async (query: Query, table: string) => {
  const replica = SqlIdentifier.quote(table)
  const literal = `'${table.replaceAll("'", "''")}'`
  await query(`CREATE TABLE IF NOT EXISTS crash_changes (
    id bigserial PRIMARY KEY, kind text NOT NULL, item_key text NOT NULL, version numeric(40,0) NOT NULL)`)
  await query(`CREATE OR REPLACE FUNCTION crash_log_row() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO crash_changes (kind, item_key, version) VALUES ('w', NEW.pk || '/' || NEW.sk::text, NEW._backstream_version);
      RETURN NULL;
    END $$`)
  await query(`CREATE OR REPLACE FUNCTION crash_log_tombstone() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.sink_table = ${literal} THEN
        INSERT INTO crash_changes (kind, item_key, version) VALUES ('d', NEW.item_key, NEW.version);
      END IF;
      RETURN NULL;
    END $$`)
  await query(`DROP TRIGGER IF EXISTS crash_log ON ${replica}`)
  await query(
    `CREATE TRIGGER crash_log AFTER INSERT OR UPDATE ON ${replica} FOR EACH ROW EXECUTE FUNCTION crash_log_row()`
  )
  await query(`CREATE TABLE IF NOT EXISTS _backstream_tombstones (
    sink_table text NOT NULL, item_key text NOT NULL, version numeric(40,0) NOT NULL, PRIMARY KEY (sink_table, item_key))`)
  await query(`DROP TRIGGER IF EXISTS crash_log ON _backstream_tombstones`)
  await query(
    `CREATE TRIGGER crash_log AFTER INSERT OR UPDATE ON _backstream_tombstones FOR EACH ROW EXECUTE FUNCTION crash_log_tombstone()`
  )
}

export const readSqlLog = async (query: Query): Promise<SqlLog> => {
  const total = await query(`SELECT count(*)::int AS n FROM crash_changes`)
  const repeated = await query(
    `SELECT kind, item_key, version::text AS version, count(*)::int AS n FROM crash_changes
     GROUP BY kind, item_key, version HAVING count(*) > 1 ORDER BY item_key`
  )
  return {
    changes: Number(total[0]!.n),
    duplicates: repeated.reduce((sum, row) => sum + Number(row.n) - 1, 0),
    examples: repeated.slice(0, 5).map((row) => `${row.kind} ${row.item_key} v${row.version} ×${row.n}`)
  }
}

export interface JsonlLog {
  readonly lines: number
  /** Lines that repeat an earlier run's (key, version): re-sends after a restart. */
  readonly resent: number
  /** What breaks the rules above; empty when the file keeps them. */
  readonly problems: ReadonlyArray<string>
}

const keyOf = (event: ChangeEvent) => ItemKey.encode(KEY_SCHEMA, event.newImage ?? event.oldImage ?? event.key!)

/** Whether the checkpoint saved before a restart covers the event (so that it must not come again). */
const covered = (checkpoint: Checkpoint.Checkpoint | undefined, event: ChangeEvent): boolean => {
  if (checkpoint === undefined) return false
  const position = event.position
  if (position._tag === "Export") return checkpoint.backfill._tag === "Done"
  if (checkpoint.capture.finished.has(position.shardId)) return true
  const held = checkpoint.capture.positions.get(position.shardId)
  return held !== undefined && SequenceNumber.compare(position.sequenceNumber, held.sequenceNumber) <= 0
}

/**
 * Checks a JSON-lines file run by run: `starts[i]` is the first line of run `i` (`starts[0] = 0`), `checkpoints[i]`
 * what the checkpoint file held when run `i` started (after the kill of run `i - 1`).
 */
export const checkJsonl = (
  events: ReadonlyArray<ChangeEvent>,
  starts: ReadonlyArray<number>,
  checkpoints: ReadonlyArray<Checkpoint.Checkpoint | undefined>
): JsonlLog => {
  const problems: Array<string> = []
  const earlier = new Set<string>()
  let resent = 0
  starts.forEach((start, run) => {
    const end = starts[run + 1] ?? events.length
    const inRun = new Set<string>()
    const newest = new Map<string, string>()
    for (let line = start; line < end; line++) {
      const event = events[line]!
      const key = keyOf(event)
      const version = Version.of(event)
      const id = `${key} v${version}`
      if (inRun.has(id)) problems.push(`run ${run}, line ${line + 1}: ${id} twice in one run`)
      inRun.add(id)
      if (earlier.has(id)) {
        resent++
        if (covered(checkpoints[run], event)) {
          problems.push(`run ${run}, line ${line + 1}: ${id} re-sent although the checkpoint covered it`)
        }
      }
      const held = newest.get(key)
      if (held !== undefined && Version.compare(version, held) <= 0) {
        problems.push(`run ${run}, line ${line + 1}: ${id} after v${held} of the same item`)
      }
      newest.set(key, version)
    }
    for (const id of inRun) earlier.add(id)
  })
  return { lines: events.length, resent, problems }
}
