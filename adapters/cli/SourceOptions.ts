/**
 * The flags that name the source, shared by `run` and `check`: the table, its stream, the backfill and its export
 * bucket, and the AWS endpoint and region. Each flag also reads `BACKSTREAM_<NAME>` from the environment; credentials
 * and profiles come from the AWS SDK's own chain (`AWS_PROFILE`, `AWS_ACCESS_KEY_ID`, SSO, roles).
 */
import { Options } from "@effect/cli"
import { Config, Effect, Layer, Option } from "effect"
import * as AwsClients from "../aws/AwsClients.ts"
import * as AwsObjectStore from "../aws/AwsObjectStore.ts"
import * as AwsStreamSource from "../aws/AwsStreamSource.ts"
import * as AwsTableControl from "../aws/AwsTableControl.ts"
import { UsageError } from "./ExportRead.ts"

/** `--name`, falling back to `BACKSTREAM_NAME` (`--stream-arn`: `BACKSTREAM_STREAM_ARN`). */
export const envName = (flag: string) => `BACKSTREAM_${flag.toUpperCase().replaceAll("-", "_")}`

/** A text flag with its environment variable, optional. */
export const optionalText = (flag: string, description: string) =>
  Options.text(flag).pipe(
    Options.withFallbackConfig(Config.string(envName(flag))),
    Options.withDescription(`${description} (env ${envName(flag)})`),
    Options.optional
  )

/** A choice flag with its environment variable. */
export const choice = <const A extends string>(
  flag: string,
  choices: readonly [A, ...Array<A>],
  description: string
) =>
  Options.choice(flag, choices).pipe(
    Options.withFallbackConfig(Config.literal(...choices)(envName(flag))),
    Options.withDescription(`${description} (env ${envName(flag)})`)
  )

export const table = Options.text("table").pipe(
  Options.withFallbackConfig(Config.string(envName("table"))),
  Options.withDescription(`the table to replicate: its name or ARN (env ${envName("table")})`)
)
export const streamArn = optionalText("stream-arn", "the stream to follow; default: the table's latest stream")
export const backfill = choice(
  "backfill",
  ["auto", "always", "never"],
  "auto: export the table first on a first run (and finish a backfill under way); always: backfill unless the "
    + "checkpoint says it is done; never: the stream alone"
).pipe(Options.withDefault("auto" as const))
export const exportBucket = optionalText(
  "export-bucket",
  "the S3 bucket the backfill exports the table to (needed unless --backfill never)"
)
export const exportPrefix = optionalText("export-prefix", "the key prefix of the exports in the bucket")
export const endpoint = Options.text("endpoint").pipe(
  Options.withFallbackConfig(
    Config.string(envName("endpoint")).pipe(Config.orElse(() => Config.string("AWS_ENDPOINT_URL")))
  ),
  Options.withDescription(
    `one URL for DynamoDB, DynamoDB Streams and S3, such as the emulator's http://127.0.0.1:4566 (env `
      + `${envName("endpoint")} or AWS_ENDPOINT_URL); default: AWS`
  ),
  Options.optional
)
export const region = optionalText("region", "the AWS region; default: the SDK's (AWS_REGION, the profile's)")

export const source = { table, streamArn, backfill, exportBucket, exportPrefix, endpoint, region }

export interface SourceArgs {
  readonly table: string
  readonly streamArn: Option.Option<string>
  readonly backfill: "auto" | "always" | "never"
  readonly exportBucket: Option.Option<string>
  readonly exportPrefix: Option.Option<string>
  readonly endpoint: Option.Option<string>
  readonly region: Option.Option<string>
}

/** Checks the values the flags' types cannot. */
export const validate = (args: SourceArgs): Effect.Effect<void, UsageError> =>
  Effect.gen(function* () {
    if (args.table.trim() === "") return yield* new UsageError({ reason: "--table is empty: name the table" })
    if (Option.isSome(args.endpoint)) {
      let url: URL | undefined
      try {
        url = new URL(args.endpoint.value)
      } catch {
        url = undefined
      }
      if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:")) {
        return yield* new UsageError({
          reason: `--endpoint ${JSON.stringify(args.endpoint.value)}: expected an http:// or https:// URL, such as `
            + "http://127.0.0.1:4566"
        })
      }
    }
    if (Option.isSome(args.exportBucket) && args.exportBucket.value.trim() === "") {
      return yield* new UsageError({ reason: "--export-bucket is empty: name the bucket, or leave the flag out" })
    }
  })

/** The AWS SDK clients for these flags: the SDK's chains for whatever is not given. */
export const awsClients = (args: SourceArgs) =>
  AwsClients.layer({
    ...Option.match(args.endpoint, { onNone: () => ({}), onSome: (endpoint) => ({ endpoint }) }),
    ...Option.match(args.region, { onNone: () => ({}), onSome: (region) => ({ region }) })
  })

/** The ports of the source: TableControl, StreamSource and the export bucket's ObjectStore (over the clients). */
export const ports = (args: SourceArgs) =>
  Layer.mergeAll(
    AwsTableControl.layer,
    AwsStreamSource.layer,
    AwsObjectStore.layer({ bucket: Option.getOrElse(args.exportBucket, () => "") })
  )

/** Where the source is, for a header line. */
export const describe = (args: SourceArgs): string =>
  [
    `table ${args.table}`,
    ...Option.match(args.endpoint, { onNone: () => [], onSome: (url) => [`endpoint ${url}`] }),
    ...Option.match(args.region, { onNone: () => [], onSome: (region) => [`region ${region}`] })
  ].join(", ")
