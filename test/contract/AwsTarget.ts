/**
 * What the adapter contract suites run against: an AWS-compatible endpoint (the emulator in-process or as a process,
 * or moto_server), the AWS adapters' clients pointed at it, a small setup API over the plain AWS SDK (tables, items,
 * buckets) and, for the emulator only, its admin API (virtual clock, faults).
 */
import {
  type AttributeValue as SdkValue,
  CreateTableCommand,
  DeleteItemCommand,
  PutItemCommand,
  UpdateContinuousBackupsCommand
} from "@aws-sdk/client-dynamodb"
import { CreateBucketCommand } from "@aws-sdk/client-s3"
import type { StreamViewType } from "@aws-sdk/client-dynamodb-streams"
import { Layer } from "effect"
import type * as AwsClients from "../../adapters/aws/AwsClients.ts"
import * as AwsObjectStore from "../../adapters/aws/AwsObjectStore.ts"
import type { ObjectStoreTarget } from "./ObjectStoreContract.ts"
import { awsClients, clients } from "../emulator/support/sdk.ts"

/** The servers the suites know, to skip what one of them does not model. */
export type Server = "emulator" | "moto"

/** The emulator's admin API (see `emulator/AdminApi.ts`). */
export interface EmulatorAdmin {
  readonly now: () => Promise<number>
  readonly advance: (ms: number) => Promise<void>
  /** Adds a fault rule (`emulator/Faults.ts`); its id. */
  readonly addFault: (rule: Record<string, unknown>) => Promise<string>
  readonly faults: () => Promise<ReadonlyArray<{ readonly id: string; readonly applied: number }>>
  readonly clearFaults: () => Promise<void>
}

export interface AwsTarget {
  readonly url: string
  /** Present for the emulator: its clock and faults. */
  readonly admin?: EmulatorAdmin
}

/** The emulator's admin API at `url`. */
export const emulatorAdmin = (url: string): EmulatorAdmin => {
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${url}/_backstream${path}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } })
    })
    const text = await response.text()
    if (!response.ok) throw new Error(`admin ${method} ${path}: ${response.status} ${text}`)
    return JSON.parse(text) as Record<string, unknown>
  }
  return {
    now: async () => (await call("GET", "/clock")).nowMs as number,
    advance: async (ms) => void (await call("POST", "/clock/advance", { ms })),
    addFault: async (rule) => (await call("POST", "/faults", rule)).id as string,
    faults: async () => (await call("GET", "/faults")).faults as Array<{ id: string; applied: number }>,
    clearFaults: async () => void (await call("DELETE", "/faults"))
  }
}

/** The adapters' clients for a target. */
export const clientsLayer = (
  target: AwsTarget
): Layer.Layer<AwsClients.DynamoDB | AwsClients.DynamoDBStreams | AwsClients.S3> => awsClients(target.url)

let counter = 0
/** A name no other test uses, on a server shared by several suites. */
export const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${(counter++).toString(36)}`

export interface CreatedTable {
  readonly name: string
  readonly arn: string
  readonly streamArn?: string
}

/** Tables, items and buckets, made with the plain AWS SDK. */
export interface Setup {
  readonly createTable: (options?: {
    readonly view?: StreamViewType | undefined
    readonly pitr?: boolean
  }) => Promise<CreatedTable>
  readonly put: (table: string, item: Record<string, SdkValue>) => Promise<void>
  readonly remove: (table: string, key: Record<string, SdkValue>) => Promise<void>
  readonly createBucket: (name: string) => Promise<void>
  readonly destroy: () => void
}

/** A table keyed by `pk` (S) and `sk` (N). */
export const setup = (url: string): Setup => {
  const sdk = clients(url)
  return {
    createTable: async (options = {}) => {
      const name = unique("table")
      const created = await sdk.dynamodb.send(
        new CreateTableCommand({
          TableName: name,
          AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }, {
            AttributeName: "sk",
            AttributeType: "N"
          }],
          KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }, { AttributeName: "sk", KeyType: "RANGE" }],
          BillingMode: "PAY_PER_REQUEST",
          ...(options.view === undefined
            ? {}
            : { StreamSpecification: { StreamEnabled: true, StreamViewType: options.view } })
        })
      )
      if (options.pitr === true) {
        await sdk.dynamodb.send(
          new UpdateContinuousBackupsCommand({
            TableName: name,
            PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true }
          })
        )
      }
      const description = created.TableDescription!
      return {
        name,
        arn: description.TableArn!,
        ...(description.LatestStreamArn === undefined ? {} : { streamArn: description.LatestStreamArn })
      }
    },
    put: async (table, item) => void (await sdk.dynamodb.send(new PutItemCommand({ TableName: table, Item: item }))),
    remove: async (table, key) => void (await sdk.dynamodb.send(new DeleteItemCommand({ TableName: table, Key: key }))),
    createBucket: async (name) => void (await sdk.s3.send(new CreateBucketCommand({ Bucket: name }))),
    destroy: () => {
      sdk.dynamodb.destroy()
      sdk.streams.destroy()
      sdk.s3.destroy()
    }
  }
}

/** The test name of a case one server does not model, saying why it is skipped there. */
export const unlessOn = (server: Server, skipped: Server, name: string, why: string) =>
  server === skipped ? `${name} (skipped on ${skipped}: ${why})` : name

/** The ObjectStore contract's target for the S3 adapter: a store per bucket, buckets made with the plain SDK. */
export const objectStoreTarget = (target: AwsTarget): ObjectStoreTarget => ({
  store: (bucket) => AwsObjectStore.layer({ bucket }).pipe(Layer.provide(clientsLayer(target))),
  createBucket: async (bucket) => {
    const sdk = clients(target.url)
    await sdk.s3.send(new CreateBucketCommand({ Bucket: bucket })).finally(() => sdk.s3.destroy())
  },
  location: "us-east-1",
  ...(target.admin === undefined ? {} : { admin: target.admin })
})
