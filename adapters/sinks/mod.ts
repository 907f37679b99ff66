/**
 * Sinks: JSON lines (standard output or a file, at-least-once), and SQL tables in Postgres (`pg`) or embedded PGlite,
 * where each batch is committed with its checkpoint (exactly-once).
 *
 * @module
 */
export * as JsonlSink from "./JsonlSink.ts"
export * as PgliteSink from "./PgliteSink.ts"
export * as PostgresSink from "./PostgresSink.ts"
export * as SqlOptions from "./SqlOptions.ts"
