/**
 * What a SQL database committed, recorded by the database itself: triggers, inside the transaction of the batch, log
 * every checkpoint saved (`_backstream_checkpoints`), every row a batch inserts or updates in a watched replica table
 * (its key and `_backstream_version`) and every tombstone raised by a delete (its key and version). A batch rolled
 * back leaves no entry, so the log is what the database holds, not what the engine meant to write.
 */
import { afterAll, beforeAll } from "@effect/vitest"
import { Effect } from "effect"
import * as AV from "../../../core/AttributeValue.ts"
import type { ChangeEvent } from "../../../core/ChangeEvent.ts"
import * as Checkpoint from "../../../core/Checkpoint.ts"
import * as ItemKey from "../../../core/ItemKey.ts"
import { Sink } from "../../../core/Sink.ts"
import * as Version from "../../../core/Version.ts"
import { keySchema } from "../../contract/SinkContract.ts"
import * as SqlIdentifier from "../../../adapters/sinks/internal/SqlIdentifier.ts"
import * as EngineHarness from "./EngineHarness.ts"
import type { SqlDatabase } from "./SqlDatabase.ts"

const TRIGGERS = `
CREATE TABLE IF NOT EXISTS checkpoint_log (id bigserial PRIMARY KEY, sink_table text NOT NULL, checkpoint text NOT NULL);
CREATE TABLE IF NOT EXISTS change_log (
  id bigserial PRIMARY KEY, sink_table text NOT NULL, op text NOT NULL, pk text, sk text, item_key text,
  version numeric NOT NULL
);
CREATE OR REPLACE FUNCTION log_checkpoint() RETURNS trigger AS $$
BEGIN
  INSERT INTO checkpoint_log (sink_table, checkpoint) VALUES (NEW.sink_table, NEW.checkpoint::text);
  RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE OR REPLACE TRIGGER log_checkpoint AFTER INSERT OR UPDATE ON _backstream_checkpoints
  FOR EACH ROW EXECUTE FUNCTION log_checkpoint();
CREATE OR REPLACE FUNCTION log_tombstone() RETURNS trigger AS $$
BEGIN
  INSERT INTO change_log (sink_table, op, item_key, version) VALUES (NEW.sink_table, 'd', NEW.item_key, NEW.version);
  RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE OR REPLACE TRIGGER log_tombstone AFTER INSERT OR UPDATE ON _backstream_tombstones
  FOR EACH ROW EXECUTE FUNCTION log_tombstone();
CREATE OR REPLACE FUNCTION log_change() RETURNS trigger AS $$
BEGIN
  INSERT INTO change_log (sink_table, op, pk, sk, version)
    VALUES (TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, 'u', NEW.pk, NEW.sk::text, NEW._backstream_version);
  RETURN NEW;
END $$ LANGUAGE plpgsql;`

/** Creates `table` as the sink would on a first run (key `pk` text, `sk` numeric), in the `public` schema. */
export const createTable = (db: SqlDatabase, table: string) =>
  Effect.gen(function* () {
    const sink = yield* Sink
    yield* sink.open({ name: "setup", arn: "arn:aws:dynamodb:us-east-1:000000000000:table/setup", keySchema })
  }).pipe(Effect.provide(db.sink({ table })), Effect.orDie)

/** Installs the logs (the engine's tables are made by a first sink). */
export const install = (db: SqlDatabase) =>
  Effect.gen(function* () {
    yield* createTable(db, "log_setup")
    yield* Effect.promise(() => db.exec(TRIGGERS))
  })

/** For a suite: opens a database before it, with the logs installed, and closes it after; gives the database. */
export const suiteDatabase = (open: () => Promise<SqlDatabase>): () => SqlDatabase => {
  let db: SqlDatabase | undefined
  beforeAll(async () => {
    db = await open()
    await Effect.runPromise(install(db))
  }, 120_000)
  afterAll(async () => {
    await db?.close()
  })
  return () => db!
}

/** Logs the changes committed to `table` (created first if missing). */
export const watch = (db: SqlDatabase, table: string) =>
  Effect.gen(function* () {
    yield* createTable(db, table)
    yield* Effect.promise(() =>
      db.exec(
        `CREATE OR REPLACE TRIGGER log_change AFTER INSERT OR UPDATE ON ${SqlIdentifier.quote(table)}
  FOR EACH ROW EXECUTE FUNCTION log_change()`
      )
    )
  })

const decode = (text: string): Checkpoint.Checkpoint => {
  const decoded = Checkpoint.decode(text)
  if (decoded._tag === "Left") throw new Error(`a logged checkpoint does not decode: ${decoded.left.message}`)
  const { version: _, ...checkpoint } = decoded.right
  return checkpoint
}

/** The checkpoints committed for `table`, in order. */
export const checkpoints = (db: SqlDatabase, table: string) =>
  Effect.promise(async () =>
    (await db.sql("SELECT checkpoint FROM checkpoint_log WHERE sink_table = $1 ORDER BY id", [`public.${table}`]))
      .map((row) => decode(String(row.checkpoint)))
  )

/** The checkpoint `_backstream_checkpoints` holds for `table` now, if any. */
export const saved = (db: SqlDatabase, table: string) =>
  Effect.promise(async () =>
    (await db.sql("SELECT checkpoint::text AS checkpoint FROM _backstream_checkpoints WHERE sink_table = $1", [
      `public.${table}`
    ])).map((row) => decode(String(row.checkpoint)))
  )

export interface Change {
  /** `u`: a row inserted or updated; `d`: a tombstone raised. */
  readonly op: "u" | "d"
  /** ItemKey.encode of the item's key. */
  readonly key: string
  readonly version: Version.Version
}

/** The changes committed to `table`, in order. */
export const changes = (db: SqlDatabase, table: string) =>
  Effect.promise(async () =>
    (await db.sql(
      "SELECT op, pk, sk, item_key, version::text AS version FROM change_log WHERE sink_table = $1 ORDER BY id",
      [`public.${table}`]
    )).map((row): Change => ({
      op: row.op === "d" ? "d" : "u",
      key: typeof row.item_key === "string" ? row.item_key : keyOf(row),
      version: String(row.version)
    }))
  )

const keyOf = (row: Readonly<Record<string, unknown>>) =>
  ItemKey.encode(EngineHarness.KEY_SCHEMA, AV.item({ pk: AV.s(String(row.pk)), sk: AV.n(String(row.sk)) }))

/** Where the log and the table disagree: each row of the table is the last change logged for its item. */
export const disagreements = (db: SqlDatabase, table: string, log: ReadonlyArray<Change>) =>
  Effect.promise(async () => {
    const last = new Map(log.map((change) => [change.key, change]))
    const rows = await db.sql(
      `SELECT pk, sk::text AS sk, _backstream_version::text AS version FROM ${SqlIdentifier.quote(table)}`
    )
    const out: Array<string> = []
    for (const row of rows) {
      const key = keyOf(row)
      const change = last.get(key)
      if (change?.op !== "u" || change.version !== String(row.version)) {
        out.push(
          `row ${key}@${row.version}: the log's last change is ${change === undefined ? "none" : describe(change)}`
        )
      }
    }
    return out
  })

const describe = (change: Change) => `${change.op} ${change.key}@${change.version}`

/**
 * What is wrong with a change log, given the events of the batches committed: a change committed twice (the same
 * item and version), an item whose versions do not rise (an older image applied after a newer one, across restarts),
 * a change from no committed batch.
 */
export const problems = (log: ReadonlyArray<Change>, committed: ReadonlyArray<ChangeEvent>): Array<string> => {
  const out: Array<string> = []
  const known = new Set(
    committed.map((event) => `${ItemKey.encode(EngineHarness.KEY_SCHEMA, event.key!)}@${Version.of(event)}`)
  )
  const seen = new Set<string>()
  const held = new Map<string, Version.Version>()
  for (const change of log) {
    const id = `${change.key}@${change.version}`
    if (seen.has(id)) out.push(`${describe(change)} committed twice`)
    seen.add(id)
    const before = held.get(change.key)
    if (before !== undefined && Version.compare(change.version, before) <= 0) {
      out.push(`${describe(change)} committed after version ${before}`)
    }
    held.set(change.key, change.version)
    if (!known.has(id)) out.push(`${describe(change)} is in no committed batch`)
  }
  return out
}
