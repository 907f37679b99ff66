/**
 * dynalite as the emulator's table data plane, in-process: its validations and actions run against a store whose
 * item databases are wrapped, so every write — PutItem, UpdateItem, DeleteItem, BatchWriteItem — is seen at the
 * storage layer, under dynalite's per-item lock, with its old and new image. No second HTTP hop, no extra round trip.
 */
import { Effect } from "effect"
import { createRequire } from "node:module"
import { AwsError } from "../AwsError.ts"

const require = createRequire(import.meta.url)

/** The parts of dynalite's storage layer the emulator uses (dynalite ships no types). */
interface ItemDb {
  lock(key: string, fn: (release: <F extends (...args: Array<any>) => void>(cb: F) => F) => void): void
  get(key: string, cb: (err: (Error & { name?: string }) | null, item?: Record<string, unknown>) => void): void
  put(key: string, item: Record<string, unknown>, cb: (err: Error | null) => void): void
  del(key: string, cb: (err: Error | null) => void): void
}

interface Store {
  tableDb: { awsAccountId: string; awsRegion: string }
  getItemDb(name: string): ItemDb
}

const dynalite: {
  create(options?: Record<string, unknown>): Store
  checkConditional(data: Record<string, unknown>, item: Record<string, unknown> | undefined): unknown
} = require("dynalite/db/index.js")

const validations: {
  checkTypes(data: unknown, types: unknown): Record<string, unknown>
  checkValidations(data: unknown, types: unknown, custom: unknown, store: unknown): void
} = require("dynalite/validations/index.js")

/** An item as DynamoDB JSON. */
export type WireItem = Record<string, unknown>

/** What a write did to one item, seen at the storage layer. */
export interface StoredChange {
  readonly tableName: string
  /** dynalite's key string: the same for the same item. */
  readonly key: string
  readonly oldImage?: WireItem
  readonly newImage?: WireItem
}

export interface DynaliteOptions {
  readonly region: string
  readonly accountId: string
  readonly maxItemSizeKb: number
  /** Called once per stored write, inside the item's lock, before the write's caller is answered. */
  readonly onWrite: (change: StoredChange) => void
}

const actions = new Map<string, { run: Function; types: unknown; custom: unknown }>()

const action = (name: string) => {
  let found = actions.get(name)
  if (found === undefined) {
    const file = name.charAt(0).toLowerCase() + name.slice(1)
    const validation = require(`dynalite/validations/${file}.js`)
    found = { run: require(`dynalite/actions/${file}.js`), types: validation.types, custom: validation.custom }
    actions.set(name, found)
  }
  return found
}

/** The dynalite operations the emulator serves as they are (or wraps). */
export const DATA_PLANE = [
  "BatchGetItem",
  "BatchWriteItem",
  "CreateTable",
  "DeleteItem",
  "DeleteTable",
  "DescribeTable",
  "GetItem",
  "ListTables",
  "PutItem",
  "Query",
  "Scan",
  "UpdateItem",
  "UpdateTable",
  "TagResource",
  "UntagResource",
  "ListTagsOfResource"
] as const

const toAwsError = (error: unknown): AwsError => {
  const e = error as { statusCode?: number; body?: { __type?: string; message?: string; Message?: string } }
  if (e?.statusCode !== undefined && e.body !== undefined) {
    const type = e.body.__type ?? "com.amazonaws.dynamodb.v20120810#InternalServerError"
    const hash = type.indexOf("#")
    return new AwsError({
      code: type.slice(hash + 1),
      namespace: type.slice(0, hash),
      message: e.body.message ?? e.body.Message ?? "",
      status: e.statusCode
    })
  }
  return new AwsError({ code: "InternalServerError", message: String(error), status: 500 })
}

export class DynaliteStore {
  readonly store: Store
  private readonly wrapped = new Map<string, ItemDb>()

  constructor(private readonly options: DynaliteOptions) {
    this.store = dynalite.create({
      createTableMs: 0,
      deleteTableMs: 0,
      updateTableMs: 0,
      maxItemSizeKb: options.maxItemSizeKb
    })
    this.store.tableDb.awsRegion = options.region
    this.store.tableDb.awsAccountId = options.accountId
    const getItemDb = this.store.getItemDb.bind(this.store)
    this.store.getItemDb = (name: string) => {
      let db = this.wrapped.get(name)
      if (db === undefined) {
        db = this.capture(name, getItemDb(name))
        this.wrapped.set(name, db)
      }
      return db
    }
  }

  private capture(tableName: string, db: ItemDb): ItemDb {
    const onWrite = this.options.onWrite
    const lock = db.lock.bind(db), get = db.get.bind(db), put = db.put.bind(db), del = db.del.bind(db)
    // Every dynalite write reads the item under the item's lock before it writes: that read is the old image, so it
    // is kept (while the lock is held) instead of reading the item a second time.
    const held = new Set<string>()
    const reads = new Map<string, WireItem | undefined>()
    const before = (key: string, then: (old: WireItem | undefined) => void) =>
      reads.has(key) ? then(reads.get(key)) : get(key, (_, old) => then(old))
    db.lock = (key, fn) =>
      lock(key, (release) => {
        held.add(key)
        fn((cb) =>
          release(
            ((...args: Array<unknown>) => {
              held.delete(key)
              reads.delete(key)
              return (cb as (...args: Array<unknown>) => void)(...args)
            }) as typeof cb
          )
        )
      })
    db.get = (key, cb) =>
      get(key, (err, item) => {
        if (held.has(key) && (!err || err.name === "NotFoundError")) reads.set(key, err ? undefined : item)
        cb(err, item)
      })
    db.put = (key: string, item: WireItem, cb: (err: Error | null) => void) =>
      before(key, (old) =>
        put(key, item, (err) => {
          reads.delete(key)
          if (!err) {
            onWrite(
              old === undefined ? { tableName, key, newImage: item } : { tableName, key, oldImage: old, newImage: item }
            )
          }
          cb(err)
        }))
    db.del = (key: string, cb: (err: Error | null) => void) =>
      before(key, (old) =>
        del(key, (err) => {
          reads.delete(key)
          if (!err && old !== undefined) onWrite({ tableName, key, oldImage: old })
          cb(err)
        }))
    return db
  }

  /** Forgets the wrapper of a deleted table's item database. */
  forget(tableName: string): void {
    this.wrapped.delete(tableName)
  }

  /** Runs a dynalite operation's validations, returning its input as the action takes it (expressions parsed). */
  validate(name: string, input: Record<string, unknown>): Effect.Effect<Record<string, unknown>, AwsError> {
    return Effect.try({
      try: () => {
        const { custom, types } = action(name)
        const data = validations.checkTypes(input, types)
        validations.checkValidations(data, types, custom, this.store)
        return data
      },
      catch: toAwsError
    })
  }

  /**
   * Runs a dynalite operation with a plain callback, without a fiber: the data plane's fast path. `done` is called
   * once, with an error or with the output.
   */
  runDirect(
    name: string,
    input: Record<string, unknown>,
    done: (error: AwsError | undefined, output?: Record<string, unknown>) => void
  ): void {
    let data: Record<string, unknown>
    const found = action(name)
    try {
      data = validations.checkTypes(input, found.types)
      validations.checkValidations(data, found.types, found.custom, this.store)
    } catch (error) {
      return done(toAwsError(error))
    }
    found.run(
      this.store,
      data,
      (error: unknown, output: Record<string, unknown>) =>
        error ? done(toAwsError(error)) : done(undefined, output ?? {})
    )
  }

  /** Runs a dynalite operation: its validations, then its action. */
  run(name: string, input: Record<string, unknown>): Effect.Effect<Record<string, unknown>, AwsError> {
    return Effect.flatMap(
      this.validate(name, input),
      (data) =>
        Effect.async<Record<string, unknown>, AwsError>((resume) => {
          action(name).run(
            this.store,
            data,
            (error: unknown, output: Record<string, unknown>) =>
              resume(error ? Effect.fail(toAwsError(error)) : Effect.succeed(output ?? {}))
          )
        })
    )
  }

  /** Whether a validated input's condition holds for an item (dynalite's own evaluation). */
  conditionHolds(data: Record<string, unknown>, item: WireItem | undefined): boolean {
    return dynalite.checkConditional(data, item) == null
  }

  /** Reads an item by its full DynamoDB JSON key (for the emulator's own operations). */
  getItem(tableName: string, key: WireItem): Effect.Effect<WireItem | undefined, AwsError> {
    return Effect.map(
      this.run("GetItem", { TableName: tableName, Key: key, ConsistentRead: true }),
      (out) => out.Item as WireItem | undefined
    )
  }
}
