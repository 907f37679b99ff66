/**
 * The DynamoDB control and data plane of the emulator: dynalite's operations, plus what dynalite lacks — streams on
 * tables (StreamSpecification), point-in-time recovery (UpdateContinuousBackups, DescribeContinuousBackups) and
 * time to live — and the capture of every change into the stream and the PITR history. A write that changes nothing
 * (an identical put, a delete of an absent item, a failed condition) records nothing, as on AWS.
 */
import { Clock, Effect } from "effect"
import * as AV from "../../core/AttributeValue.ts"
import * as DynamoJson from "../../core/DynamoJson.ts"
import * as AwsError from "../AwsError.ts"
import type { DirectOperation, DirectOperations, Operation, Operations } from "../Emulator.ts"
import type { EmulatorClock } from "../EmulatorClock.ts"
import type { EmulatorConfig } from "../EmulatorConfig.ts"
import { DATA_PLANE, DynaliteStore, type StoredChange, type WireItem } from "./DynaliteStore.ts"
import { TableHistory } from "./TableHistory.ts"
import * as Transactions from "./Transactions.ts"
import { WriteGate } from "./WriteGate.ts"

export interface KeySchemaElement {
  readonly AttributeName: string
  readonly KeyType: "HASH" | "RANGE"
}

/** What the tables need of the streams side. */
export interface TableStreams {
  enable(
    table: { readonly name: string; readonly arn: string; readonly keySchema: ReadonlyArray<KeySchemaElement> },
    viewType: string
  ): { readonly arn: string; readonly label: string }
  disable(tableName: string): void
  current(tableName: string): { readonly arn: string; readonly label: string; readonly viewType: string } | undefined
  append(
    tableName: string,
    change: {
      readonly keys: WireItem
      readonly oldImage?: WireItem
      readonly newImage?: WireItem
      readonly routingKey: string
      readonly ttl?: boolean
    }
  ): void
}

export interface TableMeta {
  readonly name: string
  readonly arn: string
  readonly keySchema: ReadonlyArray<KeySchemaElement>
  pitr?: { readonly enabledAtMs: number }
  ttl?: { readonly attributeName: string }
}

const WRITES = new Set(["PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"])

/** The item operations that take the fast path. */
const DIRECT = ["PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "GetItem", "BatchGetItem", "Query", "Scan"]

const VIEW_TYPES = ["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"]

const sameItem = (a: WireItem, b: WireItem): boolean => {
  try {
    return AV.itemEquals(DynamoJson.decodeItemUnsafe(a), DynamoJson.decodeItemUnsafe(b))
  } catch {
    return JSON.stringify(a) === JSON.stringify(b)
  }
}

export class Tables {
  readonly history = new TableHistory()
  readonly dynalite: DynaliteStore
  private readonly meta = new Map<string, TableMeta>()
  /** The items the TTL sweeper is deleting, so that their deletes carry the service's identity. */
  private readonly ttlDeletes = new Set<string>()
  /** Writes pass this gate; a transaction passes it alone. */
  private readonly gate = new WriteGate()
  /** A transaction's changes, held back until it commits. */
  private pending: Array<StoredChange> | undefined = undefined

  constructor(
    private readonly config: EmulatorConfig,
    private readonly clock: EmulatorClock,
    private readonly streams: TableStreams
  ) {
    this.dynalite = new DynaliteStore({
      region: config.region,
      accountId: config.accountId,
      maxItemSizeKb: config.maxItemSizeKb,
      onWrite: (change) => this.onWrite(change)
    })
  }

  private onWrite(change: StoredChange): void {
    if (this.pending !== undefined) this.pending.push(change)
    else this.capture(change)
  }

  /**
   * Runs a write that other writes must not interleave with (a transaction): it waits for the writes in flight, holds
   * back its own changes while it runs, and records them only when it succeeds.
   */
  exclusively<A, E>(write: Effect.Effect<A, E>): Effect.Effect<A, E> {
    return this.gate.exclusive(
      Effect.acquireUseRelease(
        Effect.sync(() => (this.pending = [])),
        () => write,
        (pending, exit) =>
          Effect.sync(() => {
            this.pending = undefined
            if (exit._tag === "Success") { for (const change of pending) this.capture(change) }
          })
      )
    )
  }

  private capture(change: StoredChange): void {
    const table = this.meta.get(change.tableName)
    if (table === undefined) return
    if (change.oldImage !== undefined && change.newImage !== undefined && sameItem(change.oldImage, change.newImage)) {
      return
    }
    const image = (change.newImage ?? change.oldImage)!
    const keys: WireItem = {}
    for (const { AttributeName } of table.keySchema) keys[AttributeName] = image[AttributeName]
    const ttl = change.newImage === undefined && this.ttlDeletes.has(`${table.name}\u0000${JSON.stringify(keys)}`)
    const timeMs = this.clock.unsafeCurrentTimeMillis()
    this.history.record(change.tableName, {
      timeMs,
      key: change.key,
      keys,
      ...(change.oldImage === undefined ? {} : { oldImage: change.oldImage }),
      ...(change.newImage === undefined ? {} : { newImage: change.newImage })
    })
    if (this.streams.current(change.tableName) !== undefined) {
      this.streams.append(change.tableName, {
        keys,
        routingKey: change.key,
        ...(change.oldImage === undefined ? {} : { oldImage: change.oldImage }),
        ...(change.newImage === undefined ? {} : { newImage: change.newImage }),
        ...(ttl ? { ttl: true } : {})
      })
    }
  }

  /** A table's metadata, or ResourceNotFoundException. */
  table(name: unknown): Effect.Effect<TableMeta, AwsError.AwsError> {
    const table = typeof name === "string" ? this.meta.get(name) : undefined
    return table === undefined
      ? Effect.fail(AwsError.resourceNotFound(`Requested resource not found: Table: ${String(name)} not found`))
      : Effect.succeed(table)
  }

  private describe(description: Record<string, unknown>): Record<string, unknown> {
    const name = description.TableName as string
    const stream = this.streams.current(name)
    const described = { DeletionProtectionEnabled: false, ...description }
    return stream === undefined ? described : {
      ...described,
      StreamSpecification: { StreamEnabled: true, StreamViewType: stream.viewType },
      LatestStreamArn: stream.arn,
      LatestStreamLabel: stream.label
    }
  }

  private streamSpecification(input: Record<string, unknown>) {
    const spec = input.StreamSpecification as { StreamEnabled?: unknown; StreamViewType?: unknown } | undefined
    if (spec === undefined) return Effect.succeed(undefined)
    if (typeof spec.StreamEnabled !== "boolean") {
      return Effect.fail(AwsError.validation("StreamSpecification.StreamEnabled is required"))
    }
    if (spec.StreamEnabled && !VIEW_TYPES.includes(spec.StreamViewType as string)) {
      return Effect.fail(
        AwsError.validation(`StreamViewType must be one of ${VIEW_TYPES.join(", ")} when StreamEnabled is true`)
      )
    }
    return Effect.succeed({ enabled: spec.StreamEnabled, viewType: spec.StreamViewType as string })
  }

  private readonly createTable: Operation = (input) =>
    Effect.gen(this, function* () {
      const spec = yield* this.streamSpecification(input)
      const { StreamSpecification: _, ...rest } = input
      const output = yield* this.dynalite.run("CreateTable", rest)
      const description = output.TableDescription as Record<string, unknown>
      const table: TableMeta = {
        name: description.TableName as string,
        arn: description.TableArn as string,
        keySchema: description.KeySchema as ReadonlyArray<KeySchemaElement>
      }
      this.meta.set(table.name, table)
      if (spec?.enabled) this.streams.enable(table, spec.viewType)
      return { TableDescription: this.describe({ ...description, TableStatus: "ACTIVE" }) }
    })

  private readonly describeTable: Operation = (input) =>
    Effect.map(this.dynalite.run("DescribeTable", input), (output) => ({
      Table: this.describe(output.Table as Record<string, unknown>)
    }))

  private readonly updateTable: Operation = (input) =>
    Effect.gen(this, function* () {
      const table = yield* this.table(input.TableName)
      const spec = yield* this.streamSpecification(input)
      const { StreamSpecification: _, ...rest } = input
      if (Object.keys(rest).length > 1) yield* this.dynalite.run("UpdateTable", rest)
      if (spec !== undefined) {
        const current = this.streams.current(table.name)
        if (spec.enabled && current !== undefined) {
          return yield* AwsError.validation(`Table already has an enabled stream: ${current.arn}`)
        }
        if (!spec.enabled && current === undefined) {
          return yield* AwsError.validation("Table does not have an enabled stream")
        }
        if (spec.enabled) this.streams.enable(table, spec.viewType)
        else this.streams.disable(table.name)
      }
      const output = yield* this.dynalite.run("DescribeTable", { TableName: table.name })
      return { TableDescription: this.describe(output.Table as Record<string, unknown>) }
    })

  private readonly deleteTable: Operation = (input) =>
    Effect.gen(this, function* () {
      const table = yield* this.table(input.TableName)
      const description = yield* this.describeTable({ TableName: table.name })
      if (this.streams.current(table.name) !== undefined) this.streams.disable(table.name)
      yield* this.dynalite.run("DeleteTable", { TableName: table.name })
      this.meta.delete(table.name)
      this.dynalite.forget(table.name)
      return { TableDescription: { ...(description as { Table: object }).Table, TableStatus: "DELETING" } }
    })

  private continuousBackups(table: TableMeta) {
    return Effect.map(Clock.currentTimeMillis, (now) => ({
      ContinuousBackupsDescription: {
        ContinuousBackupsStatus: "ENABLED",
        PointInTimeRecoveryDescription: table.pitr === undefined ? { PointInTimeRecoveryStatus: "DISABLED" } : {
          PointInTimeRecoveryStatus: "ENABLED",
          EarliestRestorableDateTime: Math.floor(table.pitr.enabledAtMs / 1000),
          LatestRestorableDateTime: Math.floor(Math.max(table.pitr.enabledAtMs, now - this.config.pitrLagMs) / 1000)
        }
      }
    }))
  }

  private readonly updateContinuousBackups: Operation = (input) =>
    Effect.gen(this, function* () {
      const table = yield* this.table(input.TableName)
      const spec = input.PointInTimeRecoverySpecification as { PointInTimeRecoveryEnabled?: unknown } | undefined
      if (typeof spec?.PointInTimeRecoveryEnabled !== "boolean") {
        return yield* AwsError.validation("PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled is required")
      }
      if (spec.PointInTimeRecoveryEnabled && table.pitr === undefined) {
        table.pitr = { enabledAtMs: yield* Clock.currentTimeMillis }
      } else if (!spec.PointInTimeRecoveryEnabled) {
        delete table.pitr
      }
      return yield* this.continuousBackups(table)
    })

  private readonly describeContinuousBackups: Operation = (input) =>
    Effect.flatMap(
      Effect.mapError(this.table(input.TableName), () =>
        new AwsError.AwsError({
          code: "TableNotFoundException",
          message: `Table not found: ${String(input.TableName)}`,
          status: 400
        })),
      (table) => this.continuousBackups(table)
    )

  private readonly updateTimeToLive: Operation = (input) =>
    Effect.gen(this, function* () {
      const table = yield* this.table(input.TableName)
      const spec = input.TimeToLiveSpecification as { Enabled?: unknown; AttributeName?: unknown } | undefined
      if (typeof spec?.Enabled !== "boolean" || typeof spec.AttributeName !== "string" || spec.AttributeName === "") {
        return yield* AwsError.validation("TimeToLiveSpecification needs Enabled and AttributeName")
      }
      if (spec.Enabled && table.ttl !== undefined) {
        return yield* AwsError.validation("TimeToLive is already enabled")
      }
      if (spec.Enabled) table.ttl = { attributeName: spec.AttributeName }
      else delete table.ttl
      return { TimeToLiveSpecification: { Enabled: spec.Enabled, AttributeName: spec.AttributeName } }
    })

  private readonly describeTimeToLive: Operation = (input) =>
    Effect.map(this.table(input.TableName), (table) => ({
      TimeToLiveDescription: table.ttl === undefined
        ? { TimeToLiveStatus: "DISABLED" }
        : { TimeToLiveStatus: "ENABLED", AttributeName: table.ttl.attributeName }
    }))

  /**
   * Deletes the items whose TTL attribute (epoch seconds) is in the past, as DynamoDB's TTL process does: each
   * delete's stream record carries the service's `userIdentity`.
   */
  expireItems(): Effect.Effect<number, AwsError.AwsError> {
    return Effect.gen(this, function* () {
      const now = yield* Clock.currentTimeMillis
      let deleted = 0
      for (const table of this.meta.values()) {
        if (table.ttl === undefined) continue
        // Only the expired items, page by page; each deleted only if still expired (it may have been updated since).
        const expired = {
          ExpressionAttributeNames: { "#ttl": table.ttl.attributeName },
          ExpressionAttributeValues: { ":now": { N: String(Math.floor(now / 1000)) } }
        }
        let start: WireItem | undefined
        do {
          const output = yield* this.dynalite.run("Scan", {
            TableName: table.name,
            FilterExpression: "#ttl <= :now",
            ...expired,
            ...(start === undefined ? {} : { ExclusiveStartKey: start })
          })
          start = output.LastEvaluatedKey as WireItem | undefined
          for (const item of (output.Items ?? []) as Array<WireItem>) {
            const key: WireItem = {}
            for (const { AttributeName } of table.keySchema) key[AttributeName] = item[AttributeName]
            const marker = `${table.name}\u0000${JSON.stringify(key)}`
            this.ttlDeletes.add(marker)
            const removed = yield* this.gate.write(
              this.dynalite.run("DeleteItem", {
                TableName: table.name,
                Key: key,
                ConditionExpression: "#ttl <= :now",
                ...expired
              })
            ).pipe(
              Effect.as(true),
              Effect.catchIf((error) => error.code === "ConditionalCheckFailedException", () => Effect.succeed(false)),
              Effect.ensuring(Effect.sync(() => this.ttlDeletes.delete(marker)))
            )
            if (removed) deleted++
          }
        } while (start !== undefined)
      }
      return deleted
    })
  }

  /**
   * The data-plane operations that dynalite serves as they are, with plain callbacks: the fast path the endpoint
   * takes when no fault rule is set. Same validations, same capture, same gate as {@link operations}.
   */
  get directOperations(): DirectOperations {
    const direct: Record<string, DirectOperation> = {}
    for (const name of DIRECT) {
      direct[name] = WRITES.has(name)
        ? (input, done) =>
          this.gate.enter(() =>
            this.dynalite.runDirect(name, input, (error, output) => {
              this.gate.leave()
              done(error, output)
            })
          )
        : (input, done) => this.dynalite.runDirect(name, input, done)
    }
    return direct
  }

  get operations(): Operations {
    const passThrough: Record<string, Operation> = {}
    for (const name of DATA_PLANE) {
      passThrough[name] = WRITES.has(name)
        ? (input) => this.gate.write(this.dynalite.run(name, input))
        : (input) => this.dynalite.run(name, input)
    }
    return {
      ...passThrough,
      CreateTable: this.createTable,
      DescribeTable: this.describeTable,
      UpdateTable: this.updateTable,
      DeleteTable: this.deleteTable,
      UpdateContinuousBackups: this.updateContinuousBackups,
      DescribeContinuousBackups: this.describeContinuousBackups,
      UpdateTimeToLive: this.updateTimeToLive,
      DescribeTimeToLive: this.describeTimeToLive,
      TransactWriteItems: Transactions.transactWriteItems(this)
    }
  }

  reset(): void {
    this.meta.clear()
    this.history.reset()
  }

  /**
   * Every table as stored, for persistence: dynalite's description, tags and items (read with Scan) and the emulator's
   * metadata (PITR, TTL). Run it inside {@link exclusively} for a view that no write changes halfway.
   */
  snapshot(): Effect.Effect<ReadonlyArray<TableState>, AwsError.AwsError> {
    return Effect.forEach([...this.meta.values()], (meta) =>
      Effect.gen(this, function* () {
        const described = yield* this.dynalite.run("DescribeTable", { TableName: meta.name })
        const tagged = yield* this.dynalite.run("ListTagsOfResource", { ResourceArn: meta.arn })
        const items: Array<WireItem> = []
        let start: unknown = undefined
        do {
          const page = yield* this.dynalite.run(
            "Scan",
            start === undefined ? { TableName: meta.name } : { TableName: meta.name, ExclusiveStartKey: start }
          )
          items.push(...(page.Items ?? []) as Array<WireItem>)
          start = page.LastEvaluatedKey
        } while (start !== undefined)
        return {
          description: described.Table as Record<string, unknown>,
          tags: (tagged.Tags ?? []) as TableState["tags"],
          items,
          meta: { ...meta }
        }
      }))
  }

  /**
   * Restores saved tables into tables that have none: each description goes back into dynalite as it was, then its
   * tags and items. The items go in before the table is known here, so they record no history and no stream record:
   * the saved history and streams are restored as they were.
   */
  restore(tables: ReadonlyArray<TableState>): Effect.Effect<void, AwsError.AwsError> {
    const tableDb = this.dynalite.store.tableDb as unknown as {
      put(key: string, value: unknown, cb: (err: Error | null) => void): void
    }
    return Effect.forEach(tables, ({ description, items, meta, tags }) =>
      Effect.gen(this, function* () {
        const active = (index: unknown) => ({ ...(index as object), IndexStatus: "ACTIVE" })
        const stored = {
          ...description,
          TableStatus: "ACTIVE",
          ...(Array.isArray(description.GlobalSecondaryIndexes)
            ? { GlobalSecondaryIndexes: description.GlobalSecondaryIndexes.map(active) }
            : {})
        }
        yield* Effect.async<void, AwsError.AwsError>((resume) =>
          tableDb.put(meta.name, stored, (err) =>
            resume(err ? Effect.fail(AwsError.internal(`cannot restore table ${meta.name}: ${err}`)) : Effect.void))
        )
        if (tags.length > 0) {
          yield* this.dynalite.run("TagResource", { ResourceArn: meta.arn, Tags: tags })
        }
        for (let from = 0; from < items.length; from += 25) {
          const requests = items.slice(from, from + 25).map((Item) => ({ PutRequest: { Item } }))
          yield* this.dynalite.run("BatchWriteItem", { RequestItems: { [meta.name]: requests } })
        }
        this.meta.set(meta.name, { ...meta })
      }), { discard: true })
  }
}

/** A table as saved: what dynalite stores of it and the emulator's metadata. */
export interface TableState {
  readonly description: Record<string, unknown>
  readonly tags: ReadonlyArray<{ readonly Key: string; readonly Value: string }>
  readonly items: ReadonlyArray<WireItem>
  readonly meta: TableMeta
}
