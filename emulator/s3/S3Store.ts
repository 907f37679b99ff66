/**
 * The emulator's S3 model: buckets of objects held in memory. The S3 REST API (`S3Api.ts`) serves it over HTTP and the
 * export writer fills it in-process. Keys are kept in S3's order (by their UTF-8 bytes) and a conditional write checks
 * and writes in one step, so concurrent requests cannot both win.
 */
import { Clock, Data, Effect } from "effect"
import * as Md5 from "../../core/Md5.ts"

export interface S3Bucket {
  readonly name: string
  readonly region: string
  readonly creationTimeMs: number
}

export interface S3Object {
  readonly key: string
  /** The stored bytes; shared with every reader, so never mutate them. */
  readonly bytes: Uint8Array
  /** `"<hex md5>"`, quotes included, as S3 sends it. */
  readonly etag: string
  readonly lastModifiedMs: number
  readonly contentType: string
  readonly size: number
}

/** A conditional write: `ifMatch` needs the object to exist with that ETag, `ifNoneMatch: "*"` needs it absent. */
export interface PutCondition {
  readonly ifMatch?: string
  readonly ifNoneMatch?: "*"
}

export interface ListOptions {
  readonly prefix?: string
  readonly delimiter?: string
  /** List only what sorts after this key or common prefix (a continuation marker or `start-after`). */
  readonly after?: string
  readonly maxKeys: number
}

export interface ListPage {
  readonly contents: ReadonlyArray<S3Object>
  readonly commonPrefixes: ReadonlyArray<string>
  readonly isTruncated: boolean
  /** The last key or common prefix of a truncated page: the `after` of the next one. */
  readonly nextMarker?: string
}

export class NoSuchBucket extends Data.TaggedError("NoSuchBucket")<{
  readonly bucket: string
  readonly message: string
}> {}

export class NoSuchKey extends Data.TaggedError("NoSuchKey")<{
  readonly bucket: string
  readonly key: string
  readonly message: string
}> {}

export class BucketNotEmpty extends Data.TaggedError("BucketNotEmpty")<{
  readonly bucket: string
  readonly message: string
}> {}

export class PreconditionFailed extends Data.TaggedError("PreconditionFailed")<{
  readonly bucket: string
  readonly key: string
  readonly condition: "If-Match" | "If-None-Match"
  readonly message: string
}> {}

export const DEFAULT_CONTENT_TYPE = "binary/octet-stream"

/** Orders strings by code point, which is the order of their UTF-8 bytes (S3's order), unlike `<` on UTF-16 units. */
export const compareUtf8 = (a: string, b: string): number => {
  const length = Math.min(a.length, b.length)
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i), y = b.charCodeAt(i)
    if (x === y) continue
    const surrogateX = x >= 0xd800 && x <= 0xdfff, surrogateY = y >= 0xd800 && y <= 0xdfff
    if (surrogateX !== surrogateY) return surrogateX ? 1 : -1
    return x - y
  }
  return a.length - b.length
}

/** An `If-Match` value (`*`, one ETag or a list, quoted or not) against a stored ETag. */
export const etagMatches = (condition: string, etag: string): boolean => {
  const bare = (tag: string) => tag.trim().replace(/^W\//, "").replace(/^"(.*)"$/, "$1")
  return condition.split(",").some((tag) => tag.trim() === "*" || bare(tag) === bare(etag))
}

interface BucketState {
  readonly info: S3Bucket
  readonly objects: Map<string, S3Object>
  /** The keys of `objects`, sorted with `compareUtf8`. */
  readonly keys: Array<string>
}

/** The first index in sorted `keys` whose key passes `test`, given that the keys passing it come last. */
const firstIndex = (keys: ReadonlyArray<string>, from: number, test: (key: string) => boolean): number => {
  let low = from, high = keys.length
  while (low < high) {
    const middle = (low + high) >>> 1
    if (test(keys[middle]!)) high = middle
    else low = middle + 1
  }
  return low
}

export class S3Store {
  private readonly buckets = new Map<string, BucketState>()

  /** Creates a bucket; `false` when it already exists (left as it is). */
  createBucket(name: string, region = "us-east-1"): Effect.Effect<boolean> {
    return Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.sync(() => {
        if (this.buckets.has(name)) return false
        this.buckets.set(name, { info: { name, region, creationTimeMs: now }, objects: new Map(), keys: [] })
        return true
      }))
  }

  hasBucket(name: string): Effect.Effect<boolean> {
    return Effect.sync(() => this.buckets.has(name))
  }

  getBucket(name: string): Effect.Effect<S3Bucket, NoSuchBucket> {
    return Effect.map(this.bucketState(name), (state) => state.info)
  }

  /** Deletes an empty bucket. */
  deleteBucket(name: string): Effect.Effect<void, NoSuchBucket | BucketNotEmpty> {
    return Effect.flatMap(this.bucketState(name), (state) => {
      if (state.keys.length > 0) {
        return Effect.fail(
          new BucketNotEmpty({ bucket: name, message: `bucket ${name} is not empty: delete its objects first` })
        )
      }
      this.buckets.delete(name)
      return Effect.void
    })
  }

  /**
   * Stores a copy of `bytes` under `key` and returns its ETag. With a condition, the check and the write happen
   * together: `ifMatch` fails with `NoSuchKey` when there is no object (as S3 does) and with `PreconditionFailed` when
   * its ETag differs; `ifNoneMatch: "*"` fails with `PreconditionFailed` when an object exists.
   */
  putObject(
    bucket: string,
    key: string,
    bytes: Uint8Array,
    contentType: string = DEFAULT_CONTENT_TYPE,
    condition: PutCondition = {}
  ): Effect.Effect<string, NoSuchBucket | NoSuchKey | PreconditionFailed> {
    return Effect.flatMap(
      Clock.currentTimeMillis,
      (now) =>
        Effect.flatMap(this.bucketState(bucket), (state): Effect.Effect<string, NoSuchKey | PreconditionFailed> => {
          const current = state.objects.get(key)
          if (condition.ifMatch !== undefined) {
            if (current === undefined) return Effect.fail(noSuchKey(bucket, key))
            if (!etagMatches(condition.ifMatch, current.etag)) {
              return Effect.fail(preconditionFailed(bucket, key, "If-Match"))
            }
          }
          if (condition.ifNoneMatch === "*" && current !== undefined) {
            return Effect.fail(preconditionFailed(bucket, key, "If-None-Match"))
          }
          const copy = bytes.slice()
          const etag = `"${Md5.toHex(Md5.digest(copy))}"`
          if (current === undefined) {
            state.keys.splice(firstIndex(state.keys, 0, (k) => compareUtf8(k, key) > 0), 0, key)
          }
          state.objects.set(key, { key, bytes: copy, etag, lastModifiedMs: now, contentType, size: copy.length })
          return Effect.succeed(etag)
        })
    )
  }

  getObject(bucket: string, key: string): Effect.Effect<S3Object, NoSuchBucket | NoSuchKey> {
    return Effect.flatMap(this.bucketState(bucket), (state) => {
      const object = state.objects.get(key)
      return object === undefined ? Effect.fail(noSuchKey(bucket, key)) : Effect.succeed(object)
    })
  }

  /** Every key that starts with `prefix`, in S3's order. */
  listKeys(bucket: string, prefix = ""): Effect.Effect<ReadonlyArray<string>, NoSuchBucket> {
    return Effect.map(this.bucketState(bucket), (state) => {
      const start = firstIndex(state.keys, 0, (k) => compareUtf8(k, prefix) >= 0)
      const end = firstIndex(state.keys, start, (k) => !k.startsWith(prefix))
      return state.keys.slice(start, end)
    })
  }

  /**
   * One page of a listing, as ListObjectsV2 pages it: keys under `prefix`, those holding `delimiter` after the prefix
   * rolled up into common prefixes, at most `maxKeys` keys and common prefixes together.
   */
  listObjects(bucket: string, options: ListOptions): Effect.Effect<ListPage, NoSuchBucket> {
    return Effect.map(this.bucketState(bucket), (state) => {
      const { after, delimiter, maxKeys } = options
      const prefix = options.prefix ?? ""
      const keys = state.keys
      const contents: Array<S3Object> = []
      const commonPrefixes: Array<string> = []
      let last: string | undefined
      let i = firstIndex(
        keys,
        0,
        (k) => compareUtf8(k, prefix) >= 0 && (after === undefined || compareUtf8(k, after) > 0)
      )
      while (i < keys.length && keys[i]!.startsWith(prefix)) {
        const key = keys[i]!
        const cut = delimiter ? key.indexOf(delimiter, prefix.length) : -1
        if (cut >= 0) {
          const common = key.slice(0, cut + delimiter!.length)
          i = firstIndex(keys, i, (k) => !k.startsWith(common))
          if (after !== undefined && compareUtf8(common, after) <= 0) continue
          if (contents.length + commonPrefixes.length >= maxKeys) return page(contents, commonPrefixes, maxKeys, last)
          commonPrefixes.push(common)
          last = common
        } else {
          if (contents.length + commonPrefixes.length >= maxKeys) return page(contents, commonPrefixes, maxKeys, last)
          contents.push(state.objects.get(key)!)
          last = key
          i++
        }
      }
      return { contents, commonPrefixes, isTruncated: false }
    })
  }

  /** Deletes an object; deleting a missing one succeeds, as in S3. */
  deleteObject(bucket: string, key: string): Effect.Effect<void, NoSuchBucket> {
    return Effect.map(this.bucketState(bucket), (state) => {
      if (!state.objects.delete(key)) return
      state.keys.splice(firstIndex(state.keys, 0, (k) => compareUtf8(k, key) >= 0), 1)
    })
  }

  /** Forgets every bucket and object. */
  reset(): Effect.Effect<void> {
    return Effect.sync(() => this.buckets.clear())
  }

  private bucketState(name: string): Effect.Effect<BucketState, NoSuchBucket> {
    return Effect.suspend(() => {
      const state = this.buckets.get(name)
      return state === undefined
        ? Effect.fail(new NoSuchBucket({ bucket: name, message: `no bucket ${name}: create it first` }))
        : Effect.succeed(state)
    })
  }

  /** Every bucket with its objects in key order, for persistence (the objects are shared, never mutated). */
  snapshot(): ReadonlyArray<{ readonly info: S3Bucket; readonly objects: ReadonlyArray<S3Object> }> {
    return [...this.buckets.values()].map((state) => ({
      info: state.info,
      objects: state.keys.map((key) => state.objects.get(key)!)
    }))
  }

  /** Replaces every bucket and object with saved ones. */
  restore(buckets: ReadonlyArray<{ readonly info: S3Bucket; readonly objects: ReadonlyArray<S3Object> }>): void {
    this.buckets.clear()
    for (const { info, objects } of buckets) {
      const keys = objects.map((object) => object.key).sort(compareUtf8)
      this.buckets.set(info.name, { info, objects: new Map(objects.map((object) => [object.key, object])), keys })
    }
  }
}

/** A full page. With `maxKeys` 0 there is no marker to continue from, so the page does not claim more. */
const page = (
  contents: ReadonlyArray<S3Object>,
  commonPrefixes: ReadonlyArray<string>,
  maxKeys: number,
  last: string | undefined
): ListPage =>
  maxKeys === 0 || last === undefined
    ? { contents, commonPrefixes, isTruncated: false }
    : { contents, commonPrefixes, isTruncated: true, nextMarker: last }

const noSuchKey = (bucket: string, key: string) =>
  new NoSuchKey({ bucket, key, message: `no object ${key} in bucket ${bucket}` })

const preconditionFailed = (bucket: string, key: string, condition: "If-Match" | "If-None-Match") =>
  new PreconditionFailed({
    bucket,
    key,
    condition,
    message: condition === "If-Match"
      ? `object ${key} in bucket ${bucket} has another ETag than the If-Match one: read it again and retry`
      : `object ${key} already exists in bucket ${bucket}`
  })
