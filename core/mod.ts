/**
 * backstream's portable core: the DynamoDB value model, change events, export reading, change capture and the ports.
 * It imports only `effect` and web-standard APIs, so it runs unchanged on Node, Deno, Bun and edge runtimes.
 *
 * @module
 */
export * as AttributeValue from "./AttributeValue.ts"
export * as AttributeValueSchema from "./AttributeValueSchema.ts"
export * as Base64 from "./Base64.ts"
export * as Capture from "./Capture.ts"
export * as CaptureState from "./CaptureState.ts"
export * as ChangeEvent from "./ChangeEvent.ts"
export * as Decompressor from "./Decompressor.ts"
export * as DynamoJson from "./DynamoJson.ts"
export * as DynamoNumber from "./DynamoNumber.ts"
export * as Envelope from "./Envelope.ts"
export * as Errors from "./Errors.ts"
export * as ExportLayout from "./ExportLayout.ts"
export * as ExportLine from "./ExportLine.ts"
export * as ExportManifest from "./ExportManifest.ts"
export * as ExportReader from "./ExportReader.ts"
export * as ItemKey from "./ItemKey.ts"
export * as LineSplitter from "./LineSplitter.ts"
export * as Md5 from "./Md5.ts"
export * as ObjectStore from "./ObjectStore.ts"
export * as PlainJson from "./PlainJson.ts"
export * as SequenceNumber from "./SequenceNumber.ts"
export * as StreamSource from "./StreamSource.ts"
export * as TableControl from "./TableControl.ts"
