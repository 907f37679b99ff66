/**
 * Change capture against the emulator, in-process on a virtual clock, served over HTTP and read through the real AWS
 * adapter: the table written with the SDK, time, splits, iterator expiry and faults driven in-process, and the
 * emulator's own log (its shards' records, its tables' history) to compare with.
 */
import {
  CreateTableCommand,
  DeleteItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  UpdateTableCommand
} from "@aws-sdk/client-dynamodb"
import { Chunk, Clock, Effect, Layer, Stream, TestClock } from "effect"
import * as AwsClients from "../../../adapters/aws/AwsClients.ts"
import * as AwsStreamSource from "../../../adapters/aws/AwsStreamSource.ts"
import type { AttributeValue } from "../../../core/AttributeValue.ts"
import * as Capture from "../../../core/Capture.ts"
import { StreamSource } from "../../../core/StreamSource.ts"
import type * as EmulatorConfig from "../../../emulator/EmulatorConfig.ts"
import * as EmulatorInstance from "../../../emulator/EmulatorInstance.ts"
import type { FaultRule } from "../../../emulator/Faults.ts"
import * as NodeServer from "../../../emulator/NodeServer.ts"
import { clients } from "../../emulator/support/sdk.ts"

export const T0 = Date.UTC(2026, 0, 14, 10, 18, 50, 622)
export const MINUTE = 60_000
export const HOUR = 60 * MINUTE
export const TABLE = "captured"

const credentials = { accessKeyId: "test", secretAccessKey: "test" }

/** Capture settings for tests on a live clock: idle polling, back-off and listing in milliseconds. */
export const quick = {
  idleDelay: { min: "1 millis", max: "8 millis" },
  retry: { base: "1 millis", max: "4 millis", retries: 30 },
  discoveryInterval: "20 millis"
} as const

/** One shard as the emulator holds it: its parent and the sequence numbers of its records, in order. */
export interface EmulatorShard {
  readonly shardId: string
  readonly parentShardId: string | undefined
  readonly sequenceNumbers: ReadonlyArray<string>
}

/** A StreamSource that counts the calls in flight and made, around the real adapter. */
export interface Counted {
  readonly layer: Layer.Layer<StreamSource>
  readonly inFlight: () => number
  readonly calls: () => number
  /** The most GetRecords calls that were in flight at once. */
  readonly mostGetRecordsInFlight: () => number
}

export const make = (overrides: Partial<EmulatorConfig.EmulatorConfig> = {}) =>
  Effect.gen(function* () {
    const instance = yield* EmulatorInstance.make({ clock: "virtual", startTimeMs: T0, ...overrides })
    const server = yield* NodeServer.serve(instance.emulator)
    const sdk = clients(server.url)
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        sdk.dynamodb.destroy()
        sdk.streams.destroy()
        sdk.s3.destroy()
      })
    )
    const source: Layer.Layer<StreamSource> = AwsStreamSource.layer.pipe(
      Layer.provide(
        Layer.scoped(
          AwsClients.DynamoDBStreams,
          AwsClients.makeDynamoDBStreams({ endpoint: server.url, region: "us-east-1", credentials })
        )
      )
    )
    const send = <A>(run: () => Promise<A>) => Effect.promise(run)
    let version = 0

    const createTable = (viewType: "NEW_AND_OLD_IMAGES" | "NEW_IMAGE" | "KEYS_ONLY" = "NEW_AND_OLD_IMAGES") =>
      send(() =>
        sdk.dynamodb.send(
          new CreateTableCommand({
            TableName: TABLE,
            AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
            KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
            BillingMode: "PAY_PER_REQUEST",
            StreamSpecification: { StreamEnabled: true, StreamViewType: viewType }
          })
        )
      ).pipe(Effect.map((out) => out.TableDescription!.LatestStreamArn!))

    /** Writes `v` = a new version number to an item: PutItem, UpdateItem or DeleteItem. */
    const write = (key: string, kind: "put" | "update" | "delete") =>
      Effect.suspend(() => {
        const v = String(++version)
        const Key = { pk: { S: key } }
        return kind === "put"
          ? send(() => sdk.dynamodb.send(new PutItemCommand({ TableName: TABLE, Item: { ...Key, v: { N: v } } })))
          : kind === "update"
          ? send(() =>
            sdk.dynamodb.send(
              new UpdateItemCommand({
                TableName: TABLE,
                Key,
                UpdateExpression: "SET v = :v",
                ExpressionAttributeValues: { ":v": { N: v } }
              })
            )
          )
          : send(() => sdk.dynamodb.send(new DeleteItemCommand({ TableName: TABLE, Key })))
      }).pipe(Effect.asVoid)

    const disableStream = send(() =>
      sdk.dynamodb.send(new UpdateTableCommand({ TableName: TABLE, StreamSpecification: { StreamEnabled: false } }))
    ).pipe(Effect.asVoid)

    const advance = (ms: number) => Effect.orDie(instance.clock.advance(ms))

    const split = (streamArn: string) =>
      Effect.ignore(instance.streams.splitShard(streamArn).pipe(Effect.withClock(instance.clock)))

    const fault = (rule: FaultRule) => Effect.sync(() => instance.faults.add(rule))

    /** The stream's shards and records as the emulator holds them now. */
    const shards = (streamArn: string): ReadonlyArray<EmulatorShard> =>
      (instance.streams.stream(streamArn, instance.clock.unsafeCurrentTimeMillis())?.shards ?? []).map((shard) => ({
        shardId: shard.id,
        parentShardId: shard.parentId,
        sequenceNumbers: shard.records.map((record) => record.sequenceNumber.toString())
      }))

    /** Every change of the table, in the order it was made, as `key:old>new` of the version attribute. */
    const history = () =>
      instance.tables.history.changesBetween(TABLE, -Infinity, Infinity).map((entry) => ({
        key: (entry.keys.pk as { S: string }).S,
        change: `${(entry.oldImage?.v as { N: string } | undefined)?.N ?? "-"}>${
          (entry.newImage?.v as { N: string } | undefined)?.N ?? "-"
        }`
      }))

    /** The real adapter, counting calls in flight: a test waits for quiet before moving a test clock. */
    const counted = (): Counted => {
      let inFlight = 0, calls = 0, reading = 0, mostReading = 0
      const track = <A, E>(effect: Effect.Effect<A, E>, getRecords = false) =>
        Effect.acquireUseRelease(
          Effect.sync(() => {
            inFlight++
            calls++
            if (getRecords) mostReading = Math.max(mostReading, ++reading)
          }),
          () => effect,
          () =>
            Effect.sync(() => {
              inFlight--
              if (getRecords) reading--
            })
        )
      const layer = Layer.effect(
        StreamSource,
        Effect.map(StreamSource, (real) =>
          StreamSource.of({
            listStreams: (request) => track(real.listStreams(request)),
            describeStream: (request) => track(real.describeStream(request)),
            getShardIterator: (request) => track(real.getShardIterator(request)),
            getRecords: (request) => track(real.getRecords(request), true)
          }))
      ).pipe(Layer.provide(source))
      return { layer, inFlight: () => inFlight, calls: () => calls, mostGetRecordsInFlight: () => mostReading }
    }

    return {
      instance,
      server,
      sdk,
      source,
      createTable,
      write,
      disableStream,
      advance,
      split,
      fault,
      shards,
      history,
      counted
    }
  })

export type Harness = Effect.Effect.Success<ReturnType<typeof make>>

/** Runs capture to its end (the stream disabled and read) and returns what it emitted. */
export const collect = (
  harness: Harness,
  options: Capture.Options
): Effect.Effect<ReadonlyArray<Capture.Element>, Capture.CaptureError> =>
  Capture.stream({ ...quick, ...options }).pipe(
    Stream.runCollect,
    Effect.map(Chunk.toReadonlyArray),
    Effect.provide(harness.source)
  )

/** Waits, on the real clock, until `done` holds: for I/O to settle, never as a measurement. */
export const eventually = (done: () => boolean, what: string, attempts = 2000) =>
  Effect.gen(function* () {
    for (let i = 0; i < attempts; i++) {
      if (done()) return
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 5)))
    }
    return yield* Effect.dieMessage(`gave up waiting for ${what}`)
  })

/** Lets pending I/O and the fibers it wakes run: `quiet` must hold over several turns of the event loop. */
export const settle = (quiet: () => boolean) =>
  Effect.gen(function* () {
    let calm = 0
    for (let i = 0; i < 10_000 && calm < 4; i++) {
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 0)))
      calm = quiet() ? calm + 1 : 0
    }
  })

/**
 * Moves the test clock forward by `ms`, one wake-up at a time: to the next sleep that is due, then waits until the
 * calls it started are answered, so every sleeper wakes at its time, as on a real clock with instant I/O.
 */
export const runFor = (ms: number, quiet: () => boolean) =>
  Effect.gen(function* () {
    const end = (yield* Clock.currentTimeMillis) + ms
    for (;;) {
      yield* settle(quiet)
      const due = Chunk.reduce(yield* TestClock.sleeps(), Infinity, (min, at) => Math.min(min, at))
      if (due > end) return yield* TestClock.setTime(end)
      yield* TestClock.setTime(due)
    }
  })

/** The text of an S or N value (undefined for any other). */
export const text = (value: AttributeValue | undefined): string | undefined =>
  value?._tag === "S" || value?._tag === "N" ? value.value : undefined
