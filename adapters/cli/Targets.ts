/**
 * Where `run` writes: the sink, the checkpoint and the spool, parsed from their flag values (`jsonl:PATH`,
 * `postgres://…`, `pglite:DIR`; `file:PATH`, `s3://bucket/key`, `sink`; `dir:PATH`, `s3://bucket/prefix`), with their
 * defaults and their descriptions for messages. Pure: nothing is opened here. A connection string's password never
 * appears in a message: see {@link hide} and {@link redact}.
 */
import { Either } from "effect"
import { UsageError } from "./ExportRead.ts"

export type SinkTarget =
  /** `path` is `-` for standard output. */
  | { readonly _tag: "Jsonl"; readonly path: string }
  | { readonly _tag: "Postgres"; readonly url: string }
  | { readonly _tag: "Pglite"; readonly dataDir: string }

export type CheckpointTarget =
  | { readonly _tag: "File"; readonly path: string }
  | { readonly _tag: "S3"; readonly bucket: string; readonly key: string }
  /** Committed with the data, in a SQL sink. */
  | { readonly _tag: "Sink" }

export type SpoolTarget =
  | { readonly _tag: "Dir"; readonly path: string }
  | { readonly _tag: "S3"; readonly bucket: string; readonly prefix: string }

const SINK_FORMS = "jsonl:- (standard output), jsonl:PATH, postgres://user:password@host:port/database or pglite:DIR"
const CHECKPOINT_FORMS = "file:PATH, s3://bucket/key or sink"
const SPOOL_FORMS = "dir:PATH or s3://bucket/prefix"

const usage = (reason: string) => Either.left(new UsageError({ reason }))

const isPostgres = (text: string) => /^postgres(ql)?:\/\//i.test(text)

/**
 * A text with every connection-string password shown as `***`: `postgres://user:***@host/db`, and the value of any
 * query parameter whose name says password. The password runs to the last `@` of the word, as URL parsers read it
 * (`postgres://user:p@ss@host/db` is the password `p@ss`).
 */
export const redact = (text: string): string =>
  text
    .replace(/([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s"']*:)[^\s"']*@/gi, "$1***@")
    .replace(/([?&][^=&#\s]*pass[^=&#\s]*=)[^&#\s"']*/gi, "$1***")

/**
 * The passwords in a connection string, in every form a message may show them (as written, as a URL parser reads
 * and re-encodes them, decoded), to scrub from messages that others wrote.
 */
export const secretsOf = (text: string): ReadonlyArray<string> => {
  const secrets: Array<string> = []
  // As written: to the last `@` of the whole string, or of its authority; spaces included.
  for (const pattern of [/^[a-z][a-z0-9+.-]*:\/\/[^:/?#@]*:(.*)@/is, /^[a-z][a-z0-9+.-]*:\/\/[^:/?#@]*:([^/?#]*)@/i]) {
    const userinfo = pattern.exec(text)?.[1]
    if (userinfo !== undefined) secrets.push(userinfo)
  }
  for (const match of text.matchAll(/[?&][^=&#\s]*pass[^=&#\s]*=([^&#\s]*)/gi)) secrets.push(match[1]!)
  try {
    const url = new URL(text)
    secrets.push(url.password)
    for (const [name, value] of url.searchParams) if (/pass/i.test(name)) secrets.push(value)
  } catch {
    // not a URL: the patterns above found what there is
  }
  for (const secret of [...secrets]) {
    try {
      secrets.push(decodeURIComponent(secret))
    } catch {
      // not percent-encoded
    }
  }
  return [...new Set(secrets)].filter((secret) => secret.length >= 3)
}

/** `text` with each secret replaced by `***` (the longest first), and any connection string redacted. */
export const scrub = (text: string, secrets: ReadonlyArray<string>): string =>
  redact(
    [...secrets].sort((a, b) => b.length - a.length).reduce((out, secret) => out.replaceAll(secret, "***"), text)
  )

/** A connection string to show: its passwords as `***`, however it is written. */
export const hide = (url: string): string => scrub(url, secretsOf(url))

/** The table's name from its name or ARN (`arn:aws:dynamodb:region:account:table/NAME`). */
export const tableName = (table: string): string => {
  const match = /^arn:[^:]+:dynamodb:[^:]*:[^:]*:table\/([^/]+)/.exec(table)
  return match === null ? table : match[1]!
}

const s3Location = (text: string, flag: string, what: string, forms: string) => {
  const match = /^s3:\/\/([^/]+)\/(.*)$/.exec(text)
  if (match === null || !/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(match[1]!)) {
    return usage(`${flag} ${JSON.stringify(text)}: expected ${forms} (s3://BUCKET/${what})`)
  }
  const rest = match[2]!.replace(/\/+$/, "")
  if (rest === "") {
    return usage(`${flag} ${JSON.stringify(text)}: name the ${what} after the bucket: s3://BUCKET/${what}`)
  }
  return Either.right({ bucket: match[1]!, rest })
}

/** Parses `--sink`. */
export const parseSink = (text: string): Either.Either<SinkTarget, UsageError> => {
  if (text.startsWith("jsonl:")) {
    const path = text.slice("jsonl:".length)
    return path === "" ? usage(`--sink jsonl: needs a path, or - for standard output: jsonl:PATH or jsonl:-`) : Either
      .right({ _tag: "Jsonl", path })
  }
  if (text.startsWith("pglite:")) {
    const dataDir = text.slice("pglite:".length)
    return dataDir === ""
      ? usage("--sink pglite: needs the database's folder: pglite:DIR (created when missing)")
      : Either.right({ _tag: "Pglite", dataDir })
  }
  if (isPostgres(text)) {
    let url: URL
    try {
      url = new URL(text)
    } catch {
      return usage(`--sink ${hide(text)}: not a valid URL; expected postgres://user:password@host:port/database`)
    }
    if (url.hostname === "" && !url.searchParams.has("host")) {
      return usage(`--sink ${hide(text)}: names no host; expected postgres://user:password@host:port/database`)
    }
    return Either.right({ _tag: "Postgres", url: text })
  }
  return usage(`--sink ${JSON.stringify(hide(text))}: expected ${SINK_FORMS}`)
}

/** The sink when `--sink` is not given: an embedded PGlite database in `./backstream-data/<table>`. */
export const defaultSink = (table: string): SinkTarget => ({
  _tag: "Pglite",
  dataDir: `./backstream-data/${tableName(table)}`
})

/** True for the sinks that commit the checkpoint with the data (SQL). */
export const isTransactional = (sink: SinkTarget): boolean => sink._tag !== "Jsonl"

/** Parses `--checkpoint`; `sink` only for a SQL sink. */
export const parseCheckpoint = (text: string, sink: SinkTarget): Either.Either<CheckpointTarget, UsageError> => {
  if (text === "sink") {
    return isTransactional(sink) ? Either.right({ _tag: "Sink" }) : usage(
      "--checkpoint sink: a jsonl sink does not commit checkpoints with its data; use file:PATH or s3://bucket/key"
    )
  }
  if (text.startsWith("file:")) {
    const path = text.slice("file:".length)
    return path === "" ? usage("--checkpoint file: needs a path: file:PATH") : Either.right({ _tag: "File", path })
  }
  if (text.startsWith("s3://")) {
    return Either.map(
      s3Location(text, "--checkpoint", "key", CHECKPOINT_FORMS),
      ({ bucket, rest }) => ({ _tag: "S3", bucket, key: rest }) as const
    )
  }
  return usage(`--checkpoint ${JSON.stringify(hide(text))}: expected ${CHECKPOINT_FORMS}`)
}

/**
 * The checkpoint when `--checkpoint` is not given: in the sink for a SQL sink (exactly-once); beside a jsonl file
 * (`PATH.checkpoint.json`); `./backstream-data/<table>.checkpoint.json` for standard output.
 */
export const defaultCheckpoint = (sink: SinkTarget, table: string): CheckpointTarget =>
  isTransactional(sink)
    ? { _tag: "Sink" }
    : sink._tag === "Jsonl" && sink.path !== "-"
    ? { _tag: "File", path: `${sink.path}.checkpoint.json` }
    : { _tag: "File", path: `./backstream-data/${tableName(table)}.checkpoint.json` }

/** Parses `--spool`. */
export const parseSpool = (text: string): Either.Either<SpoolTarget, UsageError> => {
  if (text.startsWith("dir:")) {
    const path = text.slice("dir:".length)
    return path === "" ? usage("--spool dir: needs a folder: dir:PATH") : Either.right({ _tag: "Dir", path })
  }
  if (text.startsWith("s3://")) {
    return Either.map(
      s3Location(text, "--spool", "prefix", SPOOL_FORMS),
      ({ bucket, rest }) => ({ _tag: "S3", bucket, prefix: rest }) as const
    )
  }
  return usage(`--spool ${JSON.stringify(hide(text))}: expected ${SPOOL_FORMS}`)
}

/** The spool when `--spool` is not given: the folder `./backstream-spool/<table>`. */
export const defaultSpool = (table: string): SpoolTarget => ({
  _tag: "Dir",
  path: `./backstream-spool/${tableName(table)}`
})

export const describeSink = (sink: SinkTarget): string =>
  sink._tag === "Jsonl"
    ? sink.path === "-" ? "jsonl:- (standard output)" : `jsonl:${sink.path}`
    : sink._tag === "Pglite"
    ? `pglite:${sink.dataDir}`
    : hide(sink.url)

export const describeCheckpoint = (checkpoint: CheckpointTarget): string =>
  checkpoint._tag === "File"
    ? `file:${checkpoint.path}`
    : checkpoint._tag === "S3"
    ? `s3://${checkpoint.bucket}/${checkpoint.key}`
    : "sink (committed with the data)"

export const describeSpool = (spool: SpoolTarget): string =>
  spool._tag === "Dir" ? `dir:${spool.path}` : `s3://${spool.bucket}/${spool.prefix}`
