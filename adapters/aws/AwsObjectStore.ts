/**
 * The `ObjectStore` port over one S3 bucket with `@aws-sdk/client-s3`: S3 itself, or any endpoint that speaks it
 * (the emulator, moto). Objects are read as web byte streams, as they arrive; conditional writes use S3's
 * `If-None-Match` and `If-Match`. Interrupting a call aborts its HTTP request.
 */
import { GetBucketLocationCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3"
import { Effect, Layer } from "effect"
import { Unavailable } from "../../core/Errors.ts"
import { type ObjectInfo, ObjectStore } from "../../core/ObjectStore.ts"
import { S3 } from "./AwsClients.ts"
import { type Call, toObjectStoreError, toPutError } from "./internal/errors.ts"

export interface AwsObjectStoreOptions {
  readonly bucket: string
}

/** GetBucketLocation's legacy answers: none (or empty) for us-east-1, `EU` for eu-west-1. */
const region = (constraint: string | undefined): string =>
  constraint === undefined || constraint === null || constraint === ""
    ? "us-east-1"
    : constraint === "EU"
    ? "eu-west-1"
    : constraint

const empty = (): ReadableStream<Uint8Array> => new ReadableStream({ start: (controller) => controller.close() })

export const make = (options: AwsObjectStoreOptions): Effect.Effect<ObjectStore["Type"], never, S3> =>
  Effect.map(S3, (client) => {
    const { bucket } = options
    const objectCall = (action: string, key: string): Call => ({ action, resource: "object", name: key, bucket })
    const bucketCall = (action: string): Call => ({ action, resource: "bucket", name: bucket, bucket })

    return ObjectStore.of({
      getObject: (key) => {
        const call = objectCall("s3:GetObject", key)
        return Effect.tryPromise({
          try: async (abortSignal) => {
            const output = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal })
            return output.Body === undefined
              ? empty()
              : output.Body.transformToWebStream() as ReadableStream<Uint8Array>
          },
          catch: (error) => toObjectStoreError(call, error)
        })
      },

      listObjects: (request) => {
        const call = bucketCall("s3:ListBucket")
        return Effect.tryPromise({
          try: (abortSignal) =>
            client.send(
              new ListObjectsV2Command({
                Bucket: bucket,
                Prefix: request.prefix,
                Delimiter: request.delimiter,
                MaxKeys: request.maxKeys,
                ContinuationToken: request.continuationToken
              }),
              { abortSignal }
            ),
          catch: (error) => toObjectStoreError(call, error)
        }).pipe(Effect.flatMap((output) => {
          const objects: Array<ObjectInfo> = []
          for (const object of output.Contents ?? []) {
            if (object.Key === undefined) {
              return Effect.fail(
                new Unavailable({ action: call.action, reason: "malformed answer: an object without its key" })
              )
            }
            objects.push({
              key: object.Key,
              size: object.Size ?? 0,
              etag: object.ETag ?? "",
              lastModifiedMs: object.LastModified?.getTime() ?? 0
            })
          }
          const commonPrefixes = (output.CommonPrefixes ?? []).flatMap((p) => p.Prefix === undefined ? [] : [p.Prefix])
          const next = output.IsTruncated === true ? output.NextContinuationToken : undefined
          return Effect.succeed({ objects, commonPrefixes, ...(next === undefined ? {} : { nextToken: next }) })
        }))
      },

      putObject: (key, body, condition) => {
        const call = objectCall("s3:PutObject", key)
        const described = condition === undefined
          ? undefined
          : "ifNoneMatch" in condition
          ? "If-None-Match: *"
          : `If-Match: ${condition.ifMatch}`
        return Effect.tryPromise({
          try: (abortSignal) =>
            client.send(
              new PutObjectCommand({
                Bucket: bucket,
                Key: key,
                Body: body,
                ContentLength: body.length,
                ...(condition === undefined
                  ? {}
                  : "ifNoneMatch" in condition
                  ? { IfNoneMatch: "*" }
                  : { IfMatch: condition.ifMatch })
              }),
              { abortSignal }
            ),
          catch: (error) => toPutError(call, described, error)
        }).pipe(
          Effect.flatMap((output) =>
            output.ETag === undefined
              ? Effect.fail(new Unavailable({ action: call.action, reason: "malformed answer: no ETag" }))
              : Effect.succeed({ etag: output.ETag })
          )
        )
      },

      bucketLocation: Effect.tryPromise({
        try: (abortSignal) => client.send(new GetBucketLocationCommand({ Bucket: bucket }), { abortSignal }),
        catch: (error) => toObjectStoreError(bucketCall("s3:GetBucketLocation"), error)
      }).pipe(Effect.map((output) => region(output.LocationConstraint)))
    })
  })

export const layer = (options: AwsObjectStoreOptions): Layer.Layer<ObjectStore, never, S3> =>
  Layer.effect(ObjectStore, make(options))
