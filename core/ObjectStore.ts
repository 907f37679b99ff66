/**
 * The `ObjectStore` port: a bucket of objects addressed by key, as S3 holds exports. Adapters: a local directory
 * (the directory stands for the bucket), S3 and the emulator.
 *
 * @module
 */
import { Context, Effect, Option, Stream } from "effect"
import { type ObjectStoreError, ObjectStoreFailure, type PreconditionFailed } from "./Errors.ts"

/** One object of a listing. */
export interface ObjectInfo {
  readonly key: string
  readonly size: number
  /** The object's ETag, with its quotes, as S3 gives it (`"9b2cf535f27731c974343645a3985328"`). */
  readonly etag: string
  readonly lastModifiedMs: number
}

/** What to list (ListObjectsV2). */
export interface ListRequest {
  readonly prefix?: string
  /** Group the keys that contain the delimiter after the prefix into `commonPrefixes`. */
  readonly delimiter?: string
  /** At most this many keys and common prefixes in the page (S3 caps it at 1000). */
  readonly maxKeys?: number
  /** The `nextToken` of the previous page. */
  readonly continuationToken?: string
}

/** A page of a listing, keys in ascending UTF-8 order. */
export interface ListPage {
  readonly objects: ReadonlyArray<ObjectInfo>
  readonly commonPrefixes: ReadonlyArray<string>
  /** Present when there is a next page. */
  readonly nextToken?: string
}

/**
 * The condition of a conditional write: `{ ifNoneMatch: "*" }` creates the object only if the key is free,
 * `{ ifMatch: etag }` replaces it only if it still has that ETag.
 */
export type PutCondition = { readonly ifNoneMatch: "*" } | { readonly ifMatch: string }

/** A bucket of objects. */
export class ObjectStore extends Context.Tag("backstream/ObjectStore")<ObjectStore, {
  /**
   * The object's bytes as a stream, read as it is consumed; cancel the stream to stop reading early. Fails with
   * `ObjectNotFound` when there is no such key.
   */
  readonly getObject: (key: string) => Effect.Effect<ReadableStream<Uint8Array>, ObjectStoreError>
  /** One page of the keys (S3 ListObjectsV2). */
  readonly listObjects: (request: ListRequest) => Effect.Effect<ListPage, ObjectStoreError>
  /**
   * Writes an object whole and returns its new ETag. With a `condition`, the write happens only if it holds, else it
   * fails with `PreconditionFailed` and the object is left as it was.
   */
  readonly putObject: (
    key: string,
    body: Uint8Array,
    condition?: PutCondition
  ) => Effect.Effect<{ readonly etag: string }, ObjectStoreError | PreconditionFailed>
  /** The bucket's region (S3 GetBucketLocation; `us-east-1` for the classic region); proves the bucket is there. */
  readonly bucketLocation: Effect.Effect<string, ObjectStoreError>
}>() {}

/** Every object under `prefix`, page by page, as a stream. */
export const listAll = (
  store: ObjectStore["Type"],
  prefix: string,
  pageSize = 1000
): Stream.Stream<ObjectInfo, ObjectStoreError> =>
  Stream.paginateEffect(undefined as string | undefined, (continuationToken) =>
    Effect.map(
      store.listObjects({
        prefix,
        maxKeys: pageSize,
        ...(continuationToken === undefined ? {} : { continuationToken })
      }),
      (page) => [page.objects, Option.fromNullable(page.nextToken)] as const
    )).pipe(Stream.flattenIterables)

/** Reads a whole (small) object as UTF-8 text. Invalid UTF-8 is an error, not a replacement character. */
export const readText = (
  store: ObjectStore["Type"],
  key: string
): Effect.Effect<string, ObjectStoreError> =>
  Effect.flatMap(store.getObject(key), (body) =>
    Effect.tryPromise({
      try: async () => {
        const decoder = new TextDecoder("utf-8", { fatal: true })
        const reader = body.getReader()
        let text = ""
        for (let next = await reader.read(); !next.done; next = await reader.read()) {
          text += decoder.decode(next.value, { stream: true })
        }
        return text + decoder.decode()
      },
      catch: (cause) => new ObjectStoreFailure({ key, reason: String((cause as Error)?.message ?? cause), cause })
    }))
