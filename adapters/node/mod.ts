/**
 * Node.js adapters: a local directory as an object store, zlib gunzip, native MD5, writing exports in AWS's layout, a checkpoint file, a spool folder.
 *
 * @module
 */
export * as FileCheckpointStore from "./FileCheckpointStore.ts"
export * as FolderSpool from "./FolderSpool.ts"
export * as LocalExport from "./LocalExport.ts"
export * as LocalExportWriter from "./LocalExportWriter.ts"
export * as LocalObjectStore from "./LocalObjectStore.ts"
export * as NodeGzip from "./NodeGzip.ts"
export * as NodeMd5 from "./NodeMd5.ts"
