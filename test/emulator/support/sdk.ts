import { DynamoDBClient } from "@aws-sdk/client-dynamodb"
import { DynamoDBStreamsClient } from "@aws-sdk/client-dynamodb-streams"
import { S3Client } from "@aws-sdk/client-s3"
import { Layer } from "effect"
import * as AwsClients from "../../../adapters/aws/AwsClients.ts"
import * as AwsObjectStore from "../../../adapters/aws/AwsObjectStore.ts"
import type { ObjectStore } from "../../../core/ObjectStore.ts"

/** The credentials the tests give the SDK (the emulator and moto check no signature). */
export const credentials = { accessKeyId: "test", secretAccessKey: "test" }

/** The real AWS SDK clients, pointed at an emulator's URL. */
export const clients = (url: string) => ({
  dynamodb: new DynamoDBClient({ endpoint: url, region: "us-east-1", credentials }),
  streams: new DynamoDBStreamsClient({ endpoint: url, region: "us-east-1", credentials }),
  s3: new S3Client({ endpoint: url, region: "us-east-1", credentials, forcePathStyle: true })
})

/** The AWS clients layer of the adapters, pointed at an endpoint. */
export const awsClients = (url: string) => AwsClients.layer({ endpoint: url, region: "us-east-1", credentials })

/** The engine's S3 `ObjectStore` over one bucket, through an existing S3 client (which the caller destroys). */
export const s3ObjectStore = (s3: S3Client, bucket: string): Layer.Layer<ObjectStore> =>
  AwsObjectStore.layer({ bucket }).pipe(Layer.provide(Layer.succeed(AwsClients.S3, s3)))
