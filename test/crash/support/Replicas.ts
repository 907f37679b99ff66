/**
 * The sinks the crash loop replicates into, each with its change log: PGlite (a database folder, opened only while
 * the engine is stopped), a Postgres server, a JSON-lines file with its checkpoint file.
 */
import * as fs from "node:fs"
import pg from "pg"
import * as PgliteTemplate from "../../../adapters/cli/PgliteTemplate.ts"
import * as SqlIdentifier from "../../../adapters/sinks/internal/SqlIdentifier.ts"
import * as SqlTable from "../../../adapters/sinks/internal/SqlTable.ts"
import * as PgliteSink from "../../../adapters/sinks/PgliteSink.ts"
import type { Item } from "../../../core/AttributeValue.ts"
import * as Checkpoint from "../../../core/Checkpoint.ts"
import * as ChangeLog from "./ChangeLog.ts"
import { KEY_SCHEMA, readEvents, replayFile } from "../../support/CliProcess.ts"
import * as ReplicaModel from "../../support/ReplicaModel.ts"
import { ATTRIBUTES } from "./Workload.ts"

export interface LogReport {
  /** Changes the log holds: rows written (SQL), lines (JSONL). */
  readonly changes: number
  /** SQL: changes applied twice. JSONL: lines that repeat an earlier run's (re-sends). */
  readonly duplicates: number
  /** Broken rules: a SQL duplicate, a JSONL re-send out of order or covered by its checkpoint. */
  readonly problems: ReadonlyArray<string>
}

export interface Replica {
  readonly name: string
  /** The sink's flags for `run` (`--sink …`, `--checkpoint …`). */
  readonly flags: ReadonlyArray<string>
  /** Whether a duplicate is an error (transactional sinks) or an allowed re-send. */
  readonly exactlyOnce: boolean
  /** Called before the first run. */
  readonly prepare: () => Promise<void>
  /** Called after every kill, with the engine dead (`kill` counts from 1). */
  readonly afterKill: (kill: number) => Promise<void>
  readonly items: () => Promise<Map<string, Item>>
  readonly log: () => Promise<LogReport>
}

const sqlReplica = (
  name: string,
  flags: ReadonlyArray<string>,
  table: string,
  withDatabase: <A>(use: (query: ReplicaModel.Query) => Promise<A>) => Promise<A>,
  prepare: () => Promise<void> = async () => undefined
): Replica => {
  // The table made as the sink makes it, before the first run, so that the log sees every write.
  const makeTable = (query: ReplicaModel.Query) =>
    SqlTable.prepare({ query }, {
      table: SqlIdentifier.defaultTable(table),
      mode: "columns",
      deletes: "hard",
      keys: SqlTable.keyColumns(KEY_SCHEMA)
    })
  return {
    name,
    flags,
    exactlyOnce: true,
    prepare: async () => {
      await prepare()
      await withDatabase(async (query) => {
        await makeTable(query)
        await ChangeLog.installSqlLog(query, table)
      })
    },
    afterKill: async () => undefined,
    items: () => withDatabase((query) => ReplicaModel.read({ sql: query }, table, KEY_SCHEMA, ATTRIBUTES)),
    log: () =>
      withDatabase(async (query) => {
        const log = await ChangeLog.readSqlLog(query)
        return {
          changes: log.changes,
          duplicates: log.duplicates,
          problems: log.examples.map((example) => `applied twice: ${example}`)
        }
      })
  }
}

/**
 * `pglite:DIR`, the checkpoint in the database. The empty database is made beforehand from the command line's cached
 * template (initdb in WebAssembly takes a minute on a busy machine): the loop measures restarts, not initdb.
 */
export const pglite = (dataDir: string, table: string): Replica =>
  sqlReplica(
    "pglite",
    ["--sink", `pglite:${dataDir}`],
    table,
    async (use) => {
      const db = await PgliteSink.openDatabase(dataDir)
      try {
        return await use(async (text, params) =>
          (await db.query<Record<string, unknown>>(text, params === undefined ? [] : [...params])).rows
        )
      } finally {
        await db.close()
      }
    },
    async () => {
      const db = await PgliteTemplate.openNew(dataDir)
      await db.close()
    }
  )

/** A Postgres server's URL, the checkpoint in the database. */
export const postgres = (url: string, table: string): Replica =>
  sqlReplica("postgres", ["--sink", url], table, async (use) => {
    const client = new pg.Client({ connectionString: url })
    client.setTypeParser(1700, (text) => text)
    await client.connect()
    try {
      return await use(async (text, params) => (await client.query(text, params === undefined ? [] : [...params])).rows)
    } finally {
      await client.end()
    }
  })

const completeLines = (file: string) => {
  if (!fs.existsSync(file)) return 0
  const bytes = fs.readFileSync(file)
  let lines = 0
  for (const byte of bytes) if (byte === 0x0a) lines++
  return lines
}

/** `jsonl:FILE` with `--checkpoint file:FILE.checkpoint.json`. */
export const jsonl = (file: string): Replica => {
  const checkpointFile = `${file}.checkpoint.json`
  const starts = [0]
  const checkpoints: Array<Checkpoint.Checkpoint | undefined> = [undefined]
  return {
    name: "jsonl",
    flags: ["--sink", `jsonl:${file}`, "--checkpoint", `file:${checkpointFile}`],
    exactlyOnce: false,
    prepare: async () => undefined,
    afterKill: async () => {
      // A torn last line is cut when the sink opens the file again: the next run starts after the complete ones.
      starts.push(completeLines(file))
      if (!fs.existsSync(checkpointFile)) return void checkpoints.push(undefined)
      const decoded = Checkpoint.decode(fs.readFileSync(checkpointFile, "utf8"))
      if (decoded._tag === "Left") throw new Error(`${checkpointFile}: ${decoded.left.message}`)
      checkpoints.push(decoded.right)
    },
    items: async () => replayFile(file),
    log: async () => {
      const checked = ChangeLog.checkJsonl(readEvents(file), starts, checkpoints)
      return { changes: checked.lines, duplicates: checked.resent, problems: checked.problems }
    }
  }
}
