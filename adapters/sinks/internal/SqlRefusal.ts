/**
 * A batch refused for its data: Postgres's SQLSTATE class 22 (a data exception) or 23 (an integrity constraint the
 * user added to the replica table: a CHECK, a NOT NULL column, a unique index, a foreign key). The item refused is
 * found by applying the batch's items one at a time, each under a savepoint, in a transaction that is always rolled
 * back; the message names it (its key, as DynamoDB JSON), the constraint or column, and what to do. It never shows
 * Postgres's `detail`, which holds the refused row's values.
 */
import type { Item } from "../../../core/AttributeValue.ts"
import type { ChangeEvent } from "../../../core/ChangeEvent.ts"
import * as DynamoJson from "../../../core/DynamoJson.ts"
import type { KeySchema } from "../../../core/ItemKey.ts"
import { collapse, plan, type Statement } from "./SqlBatch.ts"
import { type SqlClient, sqlState, type SqlTransaction } from "./SqlClient.ts"
import * as SqlIdentifier from "./SqlIdentifier.ts"
import * as SqlTable from "./SqlTable.ts"

/** A data exception (class 22) or an integrity constraint violation (class 23): the rows, not the connection. */
export const isDataError = (error: unknown): boolean => {
  const code = sqlState(error)
  return code !== undefined && (code.startsWith("22") || code.startsWith("23"))
}

/** The item the table refused, and the error it refused it with. */
export interface Refused {
  readonly key: Item
  readonly error: unknown
}

export interface Attempt {
  /** The layout before the batch. */
  readonly layout: SqlTable.Layout
  readonly keySchema: KeySchema
  readonly events: ReadonlyArray<ChangeEvent>
  readonly sinkTable: string
  readonly bulkRows?: number | undefined
}

/** Ends the search's transaction, which is never committed. */
class Outcome {
  constructor(readonly refused: Refused | undefined) {}
}

const apply = async (tx: SqlTransaction, statements: ReadonlyArray<Statement>) => {
  for (const statement of statements) {
    if (statement._tag === "copy") await tx.copyIn(statement.table, statement.data)
    else await tx.query(statement.text, statement.params)
  }
}

/**
 * The first item of the batch that the table refuses for its data, applied alone after the items before it (so that
 * a unique value two items share names the second); `undefined` when each item passes alone (the batch as a whole
 * was refused) or when the search itself fails. Nothing it does is committed.
 */
export const find = async (client: SqlClient, attempt: Attempt): Promise<Refused | undefined> => {
  const { events, keySchema, layout, sinkTable } = attempt
  try {
    await client.transaction(async (tx) => {
      await tx.query("SET CONSTRAINTS ALL IMMEDIATE")
      const whole = plan(layout, keySchema, events, sinkTable, attempt.bulkRows)
      await SqlTable.addColumns(tx, layout.table, whole.newColumns)
      const { beforeDelete, winners } = collapse(keySchema, events)
      const changeBefore = new Map(beforeDelete.map((change) => [change.encodedKey, change.event]))
      for (const winner of winners) {
        const before = changeBefore.get(winner.encodedKey)
        const item = plan(
          whole.layout,
          keySchema,
          before === undefined ? [winner.event] : [before, winner.event],
          sinkTable,
          attempt.bulkRows
        )
        await tx.query("SAVEPOINT backstream_item")
        try {
          await apply(tx, item.statements)
        } catch (error) {
          if (isDataError(error)) throw new Outcome({ key: winner.key, error })
          throw error
        }
        await tx.query("RELEASE SAVEPOINT backstream_item")
      }
      throw new Outcome(undefined)
    })
  } catch (outcome) {
    if (outcome instanceof Outcome) return outcome.refused
  }
  return undefined
}

const text = (value: unknown): string | undefined => typeof value === "string" && value !== "" ? value : undefined

/** A name as SQL: bare when Postgres reads it as written, double-quoted otherwise. */
const sqlName = (name: string) => /^[a-z_][a-z0-9_$]*$/.test(name) ? name : SqlIdentifier.quote(name)

export interface Explained {
  /** The sink's table. */
  readonly table: SqlIdentifier.TableName
  readonly events: number
  /** The database's error. */
  readonly error: unknown
  /** The error as one line without secrets (its message, hint and SQLSTATE: never its detail). */
  readonly described: string
  /** The item refused, when the search found it. */
  readonly key?: Item | undefined
}

/** What a refusal's message says: which table refused which item, by which constraint or column, and what to do. */
export const reason = (explained: Explained): string => {
  const e = explained.error as { constraint?: unknown; column?: unknown; table?: unknown; schema?: unknown }
  const constraint = text(e?.constraint)
  const column = text(e?.column)
  const relationName = text(e?.table)
  const relation = relationName === undefined
    ? explained.table
    : { schema: text(e?.schema) ?? explained.table.schema, name: relationName }
  const target = `${sqlName(relation.schema)}.${sqlName(relation.name)}`
  const code = sqlState(explained.error) ?? ""
  const what = constraint !== undefined
    ? ` (constraint ${sqlName(constraint)})`
    : column !== undefined
    ? ` (column ${sqlName(column)})`
    : ""
  const example = code === "23502" && column !== undefined
    ? `ALTER TABLE ${target} ALTER COLUMN ${sqlName(column)} DROP NOT NULL`
    : constraint !== undefined
    ? `ALTER TABLE ${target} DROP CONSTRAINT ${sqlName(constraint)}${
      code === "23505" ? `, or DROP INDEX ${sqlName(relation.schema)}.${sqlName(constraint)} for a unique index` : ""
    }`
    : code.startsWith("22")
    ? `ALTER TABLE ${target} ALTER COLUMN ${column === undefined ? "…" : sqlName(column)} TYPE …`
    : `ALTER TABLE ${target} DROP CONSTRAINT … / ALTER COLUMN … DROP NOT NULL`
  const refused = explained.key === undefined
    ? `cannot apply a batch of ${explained.events} events to ${SqlIdentifier.display(relation)}${what}`
    : `${SqlIdentifier.display(relation)} refuses the item ${
      JSON.stringify(DynamoJson.encodeItem(explained.key))
    }${what}, in a batch of ${explained.events} events`
  return `${refused}: ${explained.described}. Nothing of this batch was written; the checkpoint stays at the last `
    + `batch applied: change the table (for example ${example}), then run again: it resumes from there`
}
