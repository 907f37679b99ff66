/**
 * AWS adapters (AWS SDK v3): DynamoDB Streams as the `StreamSource`, the DynamoDB control plane as the
 * `TableControl`, an S3 bucket as the `ObjectStore`, and the SDK clients they share. Pointed at an emulator with
 * one `endpoint`.
 *
 * @module
 */
export * as AwsClients from "./AwsClients.ts"
export * as AwsObjectStore from "./AwsObjectStore.ts"
export * as AwsStreamSource from "./AwsStreamSource.ts"
export * as AwsTableControl from "./AwsTableControl.ts"
