/**
 * The AWS SDK v3 clients of DynamoDB, DynamoDB Streams and S3, as scoped resources: made when a layer is built,
 * destroyed (their sockets closed) when its scope closes. Credentials and region come from the SDK's default chains
 * (environment, shared config files, SSO, instance or container roles) unless given. One `endpoint` points the three
 * services at an emulator (S3 then uses path-style addressing). The SDK never retries (`maxAttempts: 1`): retries
 * belong to the core's schedules, and two retry loops would multiply each other.
 */
import { DynamoDBClient, type DynamoDBClientConfig } from "@aws-sdk/client-dynamodb"
import { DynamoDBStreamsClient } from "@aws-sdk/client-dynamodb-streams"
import { S3Client } from "@aws-sdk/client-s3"
import { Config, type ConfigError, Context, Effect, Layer, Option, type Scope } from "effect"

export interface AwsClientOptions {
  /** Default: the SDK's region chain (`AWS_REGION`, the profile's region, instance metadata). */
  readonly region?: string
  /** One endpoint for the three services, such as an emulator's `http://127.0.0.1:4566`. */
  readonly endpoint?: string
  /** Default: the SDK's credential chain. */
  readonly credentials?: DynamoDBClientConfig["credentials"]
}

export class DynamoDB extends Context.Tag("backstream/aws/DynamoDB")<DynamoDB, DynamoDBClient>() {}

export class DynamoDBStreams
  extends Context.Tag("backstream/aws/DynamoDBStreams")<DynamoDBStreams, DynamoDBStreamsClient>() {}

export class S3 extends Context.Tag("backstream/aws/S3")<S3, S3Client>() {}

const common = (options: AwsClientOptions) => ({
  maxAttempts: 1,
  // A stalled connection or answer fails the call (Unavailable, retried by the core) instead of hanging it.
  requestHandler: { connectionTimeout: 10_000, requestTimeout: 60_000 },
  ...(options.region === undefined ? {} : { region: options.region }),
  ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
  ...(options.credentials === undefined ? {} : { credentials: options.credentials })
})

const scoped = <A extends { destroy(): void }>(make: () => A): Effect.Effect<A, never, Scope.Scope> =>
  Effect.acquireRelease(Effect.sync(make), (client) => Effect.sync(() => client.destroy()))

export const makeDynamoDB = (options: AwsClientOptions = {}) => scoped(() => new DynamoDBClient(common(options)))

export const makeDynamoDBStreams = (options: AwsClientOptions = {}) =>
  scoped(() => new DynamoDBStreamsClient(common(options)))

export const makeS3 = (options: AwsClientOptions = {}) =>
  scoped(() =>
    new S3Client({ ...common(options), ...(options.endpoint === undefined ? {} : { forcePathStyle: true }) })
  )

/** The three clients. */
export const layer = (options: AwsClientOptions = {}): Layer.Layer<DynamoDB | DynamoDBStreams | S3> =>
  Layer.mergeAll(
    Layer.scoped(DynamoDB, makeDynamoDB(options)),
    Layer.scoped(DynamoDBStreams, makeDynamoDBStreams(options)),
    Layer.scoped(S3, makeS3(options))
  )

/** `AWS_ENDPOINT_URL` (optional) as the one endpoint; everything else from the SDK's chains. */
export const options: Config.Config<AwsClientOptions> = Config.map(
  Config.option(Config.string("AWS_ENDPOINT_URL")),
  (endpoint) => Option.match(endpoint, { onNone: () => ({}), onSome: (url) => ({ endpoint: url }) })
)

export const layerConfig = (
  config: Config.Config<AwsClientOptions> = options
): Layer.Layer<DynamoDB | DynamoDBStreams | S3, ConfigError.ConfigError> =>
  Layer.unwrapEffect(Effect.map(config, layer))
