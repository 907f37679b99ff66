/**
 * TransactWriteItems, which dynalite lacks: up to 100 ConditionCheck, Put, Update and Delete actions on distinct
 * items, all or nothing. Conditions are checked first, with no other write in flight; if one fails, nothing is
 * written and TransactionCanceledException lists a reason per action. Otherwise the writes are applied and each
 * changed item gets one stream record; a write that fails half-way is undone and records nothing.
 */
import { Effect } from "effect"
import * as AwsError from "../AwsError.ts"
import type { Operation } from "../Emulator.ts"
import type { WireItem } from "./DynaliteStore.ts"
import type { Tables } from "./Tables.ts"

const KINDS = ["ConditionCheck", "Put", "Update", "Delete"] as const
type Kind = typeof KINDS[number]

interface Action {
  readonly kind: Kind
  readonly tableName: string
  readonly key: WireItem
  /** The dynalite input of the write (without its condition, already checked), or none for a ConditionCheck. */
  readonly write?: { readonly operation: string; readonly input: Record<string, unknown> }
  /** The validated input whose condition to check. */
  readonly condition: Record<string, unknown>
}

const VALIDATION: Record<Kind, string> = {
  ConditionCheck: "DeleteItem",
  Put: "PutItem",
  Update: "UpdateItem",
  Delete: "DeleteItem"
}

const CONDITION_FIELDS = ["ConditionExpression", "ReturnValuesOnConditionCheckFailure"]

const withoutCondition = (input: Record<string, unknown>) => {
  const out: Record<string, unknown> = {}
  for (const [field, value] of Object.entries(input)) if (!CONDITION_FIELDS.includes(field)) out[field] = value
  if (out.ExpressionAttributeValues !== undefined || out.ExpressionAttributeNames !== undefined) {
    const text = `${String(out.UpdateExpression ?? "")} ${String(out.ProjectionExpression ?? "")}`
    const used = (map: unknown) =>
      map === undefined ? undefined : Object.fromEntries(
        Object.entries(map as Record<string, unknown>).filter(([name]) =>
          new RegExp(`${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?![A-Za-z0-9_])`).test(text)
        )
      )
    const values = used(out.ExpressionAttributeValues), names = used(out.ExpressionAttributeNames)
    delete out.ExpressionAttributeValues
    delete out.ExpressionAttributeNames
    if (values !== undefined && Object.keys(values).length > 0) out.ExpressionAttributeValues = values
    if (names !== undefined && Object.keys(names).length > 0) out.ExpressionAttributeNames = names
  }
  return out
}

const cancelled = (reasons: ReadonlyArray<{ Code: string; Message?: string }>) =>
  new AwsError.AwsError({
    code: "TransactionCanceledException",
    message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${
      reasons.map((r) => r.Code).join(", ")
    }]`,
    status: 400,
    fields: { CancellationReasons: reasons }
  })

const parse = (tables: Tables, input: Record<string, unknown>) =>
  Effect.gen(function* () {
    const items = input.TransactItems
    if (!Array.isArray(items) || items.length === 0 || items.length > 100) {
      return yield* AwsError.validation("TransactItems must hold between 1 and 100 actions")
    }
    const actions: Array<Action> = []
    const seen = new Set<string>()
    for (const [index, entry] of items.entries()) {
      const kinds = KINDS.filter((kind) => (entry as Record<string, unknown>)?.[kind] !== undefined)
      if (kinds.length !== 1) {
        return yield* AwsError.validation(
          `TransactItems[${index}] must hold exactly one of ConditionCheck, Put, Update, Delete`
        )
      }
      const kind = kinds[0]!
      const body = (entry as Record<string, Record<string, unknown>>)[kind]!
      const condition = yield* tables.dynalite.validate(
        VALIDATION[kind],
        Object.fromEntries(Object.entries(body).filter(([field]) => field !== "ReturnValuesOnConditionCheckFailure"))
      )
      const table = yield* tables.table(body.TableName)
      const source = (kind === "Put" ? body.Item : body.Key) as WireItem
      const key: WireItem = {}
      for (const { AttributeName } of table.keySchema) key[AttributeName] = source[AttributeName]
      const identity = `${table.name}\u0000${JSON.stringify(key)}`
      if (seen.has(identity)) {
        return yield* AwsError.validation("Transaction request cannot include multiple operations on one item")
      }
      seen.add(identity)
      actions.push({
        kind,
        tableName: table.name,
        key,
        condition,
        ...(kind === "ConditionCheck" ? {} : { write: { operation: VALIDATION[kind], input: withoutCondition(body) } })
      })
    }
    return actions
  })

export const transactWriteItems = (tables: Tables): Operation => (input) =>
  Effect.gen(function* () {
    const actions = yield* parse(tables, input)
    return yield* tables.exclusively(Effect.gen(function* () {
      const before: Array<WireItem | undefined> = []
      for (const action of actions) before.push(yield* tables.dynalite.getItem(action.tableName, action.key))
      const reasons = actions.map((action, i) =>
        tables.dynalite.conditionHolds(action.condition, before[i])
          ? { Code: "None" }
          : { Code: "ConditionalCheckFailed", Message: "The conditional request failed" }
      )
      if (reasons.some((reason) => reason.Code !== "None")) return yield* cancelled(reasons)
      let applied = 0
      const undo = () =>
        Effect.forEach(
          actions.slice(0, applied).map((action, i) => [action, before[i]] as const).reverse(),
          ([action, old]) =>
            Effect.ignore(
              old === undefined
                ? tables.dynalite.run("DeleteItem", { TableName: action.tableName, Key: action.key })
                : tables.dynalite.run("PutItem", { TableName: action.tableName, Item: old })
            )
        )
      for (const action of actions) {
        if (action.write !== undefined) {
          yield* tables.dynalite.run(action.write.operation, action.write.input).pipe(
            Effect.tapError(undo)
          )
        }
        applied++
      }
      return {}
    }))
  })
