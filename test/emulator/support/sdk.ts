import { DynamoDBClient } from "@aws-sdk/client-dynamodb"
import { DynamoDBStreamsClient } from "@aws-sdk/client-dynamodb-streams"
import { S3Client } from "@aws-sdk/client-s3"
import { Effect, Layer } from "effect"
import { ObjectNotFound, ObjectStoreFailure } from "../../../core/Errors.ts"
import { ObjectStore } from "../../../core/ObjectStore.ts"

const credentials = { accessKeyId: "test", secretAccessKey: "test" }

/** The real AWS SDK clients, pointed at an emulator's URL. */
export const clients = (url: string) => ({
  dynamodb: new DynamoDBClient({ endpoint: url, region: "us-east-1", credentials }),
  streams: new DynamoDBStreamsClient({ endpoint: url, region: "us-east-1", credentials }),
  s3: new S3Client({ endpoint: url, region: "us-east-1", credentials, forcePathStyle: true })
})

/** An `ObjectStore` over one bucket through the S3 SDK (the engine's AWS adapter comes with step 3). */
export const s3ObjectStore = (s3: S3Client, bucket: string) =>
  Layer.succeed(
    ObjectStore,
    ObjectStore.of({
      getObject: (key) =>
        Effect.tryPromise({
          try: async () => {
            const { GetObjectCommand } = await import("@aws-sdk/client-s3")
            const output = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
            return output.Body!.transformToWebStream() as ReadableStream<Uint8Array>
          },
          catch: (error) =>
            (error as Error).name === "NoSuchKey"
              ? new ObjectNotFound({ key })
              : new ObjectStoreFailure({ key, reason: (error as Error).message })
        })
    })
  )
