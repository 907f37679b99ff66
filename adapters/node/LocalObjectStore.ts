/**
 * The `ObjectStore` port over a local directory: the directory stands for the bucket, keys are paths below it with
 * `/` separators. Listings are in S3's order (UTF-8 bytes) with its prefix, delimiter and paging rules; ETags are
 * S3's for single-part objects (the quoted hex MD5), computed when first listed or matched and cached while the
 * file's size and time stay the same.
 *
 * Writes go to a temporary file in the target's folder, then are renamed over it, so a reader sees the old object or
 * the new one, never a part. `If-None-Match: *` links the temporary file to the key, which fails when the key exists:
 * atomic. `If-Match` checks the current ETag and then renames: a folder has a single writer (one engine), so the gap
 * between the check and the rename is accepted; two writers racing on one key need S3.
 */
import { Effect, Layer } from "effect"
import { createHash, randomBytes } from "node:crypto"
import { createReadStream } from "node:fs"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { InvalidRequest, NotFound, ObjectNotFound, ObjectStoreFailure, PreconditionFailed } from "../../core/Errors.ts"
import { type ObjectInfo, ObjectStore } from "../../core/ObjectStore.ts"
import { fromReadable } from "./internal/webStreams.ts"

const READ_CHUNK = 64 * 1024
const MAX_KEYS = 1000
const TEMP_PREFIX = ".backstream-tmp-"

/** S3's key order, UTF-8 bytes, which is code point order: UTF-16 surrogates sort after U+E000..U+FFFF. */
export const compareKeys = (a: string, b: string): number => {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i), y = b.charCodeAt(i)
    if (x === y) continue
    if (x >= 0xd800) x += x <= 0xdfff ? 0x2000 : -0x800
    if (y >= 0xd800) y += y <= 0xdfff ? 0x2000 : -0x800
    return x - y
  }
  return a.length - b.length
}

const errno = (cause: unknown): string | undefined => (cause as NodeJS.ErrnoException)?.code

const failure = (key: string) => (cause: unknown) =>
  new ObjectStoreFailure({ key, reason: (cause as Error)?.message ?? String(cause), cause })

const md5File = (file: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const hash = createHash("md5")
    createReadStream(file, { highWaterMark: READ_CHUNK })
      .on("data", (chunk) => hash.update(chunk))
      .on("error", reject)
      .on("end", () => resolve(`"${hash.digest("hex")}"`))
  })

const unquote = (etag: string) => etag.trim().replace(/^"|"$/g, "")

const encodeToken = (marker: string) => Buffer.from(marker, "utf8").toString("base64url")

const decodeToken = (token: string): string | undefined => {
  const marker = Buffer.from(token, "base64url").toString("utf8")
  return marker !== "" && encodeToken(marker) === token ? marker : undefined
}

export const make = (root: string): ObjectStore["Type"] => {
  const base = path.resolve(root)
  const etags = new Map<string, { readonly size: number; readonly mtimeMs: number; readonly etag: string }>()

  const resolve = (key: string): string | undefined => {
    const full = path.resolve(base, key)
    return !key.startsWith("/") && (full === base || full.startsWith(base + path.sep)) ? full : undefined
  }

  const bucketMissing = (action: string) =>
    Effect.promise(() => fs.stat(base).then((stat) => !stat.isDirectory(), () => true)).pipe(
      Effect.flatMap((missing) =>
        missing
          ? Effect.fail(new NotFound({ resource: "bucket", name: base, action, reason: "no such folder" }))
          : Effect.void
      )
    )

  /** The file's ETag, from the cache while its size and time are unchanged. */
  const etagOf = async (file: string, stat?: { size: number; mtimeMs: number }): Promise<string> => {
    const current = stat ?? await fs.stat(file)
    const cached = etags.get(file)
    if (cached !== undefined && cached.size === current.size && cached.mtimeMs === current.mtimeMs) return cached.etag
    const etag = await md5File(file)
    etags.set(file, { size: current.size, mtimeMs: current.mtimeMs, etag })
    return etag
  }

  /** Every key under the folder `dir` (a key prefix ending in `/`, or empty), skipping unfinished writes. */
  const walk = async (dir: string): Promise<Array<string>> => {
    const keys: Array<string> = []
    const visit = async (prefix: string): Promise<void> => {
      let entries
      try {
        entries = await fs.readdir(path.join(base, prefix), { withFileTypes: true })
      } catch (cause) {
        if (errno(cause) === "ENOENT" || errno(cause) === "ENOTDIR") return
        throw cause
      }
      for (const entry of entries) {
        if (entry.name.startsWith(TEMP_PREFIX)) continue
        const key = prefix + entry.name
        const stat = entry.isSymbolicLink() ? await fs.stat(path.join(base, key)).catch(() => undefined) : entry
        if (stat?.isDirectory()) await visit(`${key}/`)
        else if (stat?.isFile()) keys.push(key)
      }
    }
    await visit(dir)
    return keys
  }

  const invalidKey = (action: string, key: string, reason: string) =>
    new InvalidRequest({ action, code: "InvalidKey", reason: `the key ${JSON.stringify(key)} ${reason}` })

  return ObjectStore.of({
    getObject: (key) =>
      Effect.gen(function* () {
        const file = resolve(key)
        if (file === undefined) {
          return yield* new ObjectStoreFailure({ key, reason: `the key leaves the store's folder ${base}` })
        }
        const handle = yield* Effect.tryPromise({
          try: () => fs.open(file, "r"),
          catch: (cause) => {
            const code = errno(cause)
            return code === "ENOENT" || code === "ENOTDIR" ? new ObjectNotFound({ key }) : failure(key)(cause)
          }
        }).pipe(
          Effect.tapError((error) => error._tag === "ObjectNotFound" ? bucketMissing("s3:GetObject") : Effect.void)
        )
        const stat = yield* Effect.tryPromise({ try: () => handle.stat(), catch: failure(key) })
        if (!stat.isFile()) {
          yield* Effect.promise(() => handle.close())
          return yield* new ObjectNotFound({ key })
        }
        return fromReadable(handle.createReadStream({ highWaterMark: READ_CHUNK, autoClose: true }))
      }),

    listObjects: (request) =>
      Effect.gen(function* () {
        yield* bucketMissing("s3:ListBucket")
        const prefix = request.prefix ?? ""
        const delimiter = request.delimiter === "" ? undefined : request.delimiter
        const maxKeys = Math.min(request.maxKeys ?? MAX_KEYS, MAX_KEYS)
        const token = request.continuationToken
        const marker = token === undefined ? undefined : decodeToken(token)
        if (token !== undefined && marker === undefined) {
          return yield* new InvalidRequest({
            action: "s3:ListBucket",
            code: "InvalidArgument",
            reason: "the continuation token was not given by this store"
          })
        }
        const folder = prefix.slice(0, prefix.lastIndexOf("/") + 1)
        if (folder !== "" && resolve(folder) === undefined) return { objects: [], commonPrefixes: [] }
        const keys = (yield* Effect.tryPromise({ try: () => walk(folder), catch: failure(prefix) }))
          .filter((key) => key.startsWith(prefix))
          .sort(compareKeys)
        const entries: Array<{ readonly name: string; readonly isPrefix: boolean }> = []
        for (const key of keys) {
          const at = delimiter === undefined ? -1 : key.indexOf(delimiter, prefix.length)
          const name = at === -1 ? key : key.slice(0, at + delimiter!.length)
          if (marker !== undefined && compareKeys(name, marker) <= 0) continue
          if (at !== -1 && entries[entries.length - 1]?.name === name) continue
          entries.push({ name, isPrefix: at !== -1 })
        }
        const page = maxKeys <= 0 ? [] : entries.slice(0, maxKeys)
        const objects: Array<ObjectInfo> = []
        for (const entry of page) {
          if (entry.isPrefix) continue
          const file = path.join(base, entry.name)
          const info = yield* Effect.tryPromise({
            try: async () => {
              const stat = await fs.stat(file)
              return {
                key: entry.name,
                size: stat.size,
                etag: await etagOf(file, stat),
                lastModifiedMs: Math.floor(stat.mtimeMs)
              }
            },
            catch: failure(entry.name)
          })
          objects.push(info)
        }
        const last = page[page.length - 1]
        return {
          objects,
          commonPrefixes: page.filter((entry) => entry.isPrefix).map((entry) => entry.name),
          ...(page.length < entries.length && last !== undefined ? { nextToken: encodeToken(last.name) } : {})
        }
      }),

    putObject: (key, body, condition) =>
      Effect.gen(function* () {
        const action = "s3:PutObject"
        const file = resolve(key)
        if (file === undefined) return yield* invalidKey(action, key, `leaves the store's folder ${base}`)
        const segments = key.split("/")
        if (segments.some((s) => s === "" || s === "." || s === ".." || s.startsWith(TEMP_PREFIX))) {
          return yield* invalidKey(
            action,
            key,
            "has an empty, '.', '..' or reserved segment, which a folder cannot hold"
          )
        }
        yield* bucketMissing(action)
        const described = condition === undefined
          ? undefined
          : "ifNoneMatch" in condition
          ? "If-None-Match: *"
          : `If-Match: ${condition.ifMatch}`
        const etag = `"${createHash("md5").update(body).digest("hex")}"`
        const temp = path.join(path.dirname(file), `${TEMP_PREFIX}${randomBytes(8).toString("hex")}`)
        const refused = new PreconditionFailed({ key, condition: described ?? "" })
        const write = async (): Promise<boolean> => {
          await fs.mkdir(path.dirname(file), { recursive: true })
          await fs.writeFile(temp, body, { flag: "wx" })
          if (condition !== undefined && "ifNoneMatch" in condition) {
            try {
              await fs.link(temp, file)
              return true
            } catch (cause) {
              if (errno(cause) === "EEXIST") return false
              // A file system without hard links: check, then rename.
              if (await fs.stat(file).then(() => true, () => false)) return false
            }
          } else if (condition !== undefined) {
            const current = await etagOf(file).catch((cause) => {
              if (errno(cause) === "ENOENT" || errno(cause) === "ENOTDIR") return undefined
              throw cause
            })
            if (
              current === undefined || (condition.ifMatch !== "*" && unquote(current) !== unquote(condition.ifMatch))
            ) {
              return false
            }
          }
          await fs.rename(temp, file)
          return true
        }
        const written = yield* Effect.tryPromise({
          try: write,
          catch: (cause) =>
            errno(cause) === "EISDIR" || errno(cause) === "ENOTDIR" || errno(cause) === "EEXIST"
              ? invalidKey(action, key, "is a folder of other keys, or under a key: a folder cannot hold both")
              : failure(key)(cause)
        }).pipe(
          Effect.ensuring(Effect.promise(() => fs.rm(temp, { force: true }).catch(() => undefined)))
        )
        if (!written) return yield* refused
        const stat = yield* Effect.tryPromise({ try: () => fs.stat(file), catch: failure(key) })
        etags.set(file, { size: stat.size, mtimeMs: stat.mtimeMs, etag })
        return { etag }
      }),

    bucketLocation: Effect.as(bucketMissing("s3:GetBucketLocation"), "local")
  })
}

export const layer = (root: string): Layer.Layer<ObjectStore> => Layer.succeed(ObjectStore, make(root))
