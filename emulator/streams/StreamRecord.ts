/**
 * One stream record as GetRecords returns it, built from one change of one item.
 */
import { itemSize, type WireItem } from "./ItemSize.ts"

export type ViewType = "KEYS_ONLY" | "NEW_IMAGE" | "OLD_IMAGE" | "NEW_AND_OLD_IMAGES"

export const VIEW_TYPES: ReadonlyArray<ViewType> = ["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"]

export const isViewType = (value: unknown): value is ViewType => VIEW_TYPES.includes(value as ViewType)

/** One changed item, as the table side reports it: no old image for an insert, no new image for a remove. */
export interface Change {
  readonly keys: WireItem
  readonly oldImage?: WireItem
  readonly newImage?: WireItem
  /** The same string for the same item: it picks the item's shard. */
  readonly routingKey: string
  /** A delete by time to live: the record carries the service's identity. */
  readonly ttl?: boolean
}

export type EventName = "INSERT" | "MODIFY" | "REMOVE"

/** The record in the API's JSON (`Record` of the DynamoDB Streams API). */
export interface Wire {
  readonly eventID: string
  readonly eventName: EventName
  readonly eventVersion: "1.1"
  readonly eventSource: "aws:dynamodb"
  readonly awsRegion: string
  readonly dynamodb: {
    readonly ApproximateCreationDateTime: number
    readonly Keys: WireItem
    readonly NewImage?: WireItem
    readonly OldImage?: WireItem
    readonly SequenceNumber: string
    readonly SizeBytes: number
    readonly StreamViewType: ViewType
  }
  readonly userIdentity?: { readonly PrincipalId: string; readonly Type: string }
}

/**
 * The API's `Identity` members are `PrincipalId` and `Type`; the lower-case `principalId`/`type` of the developer guide
 * is the Lambda event's rendering, which SDK clients of GetRecords would not read.
 */
const TTL_IDENTITY = { PrincipalId: "dynamodb.amazonaws.com", Type: "Service" } as const

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"))
const POOL_IDS = 256
const pool = new Uint8Array(16 * POOL_IDS)
let pooled = POOL_IDS

/** 32 random hex digits, as AWS's event IDs; random bytes are drawn for many IDs at once. */
const randomEventId = (): string => {
  if (pooled === POOL_IDS) {
    crypto.getRandomValues(pool)
    pooled = 0
  }
  const at = 16 * pooled++
  let id = ""
  for (let i = at; i < at + 16; i++) id += HEX[pool[i]!]
  return id
}

export const eventName = (change: Change): EventName => {
  if (change.oldImage === undefined && change.newImage === undefined) {
    throw new Error("a stream change needs an old image, a new image or both")
  }
  return change.oldImage === undefined ? "INSERT" : change.newImage === undefined ? "REMOVE" : "MODIFY"
}

export const make = (
  change: Change,
  options: {
    readonly viewType: ViewType
    readonly sequenceNumber: bigint
    readonly timeMs: number
    readonly region: string
  }
): Wire => {
  const name = eventName(change)
  const { viewType } = options
  const newImage = viewType === "NEW_IMAGE" || viewType === "NEW_AND_OLD_IMAGES" ? change.newImage : undefined
  const oldImage = viewType === "OLD_IMAGE" || viewType === "NEW_AND_OLD_IMAGES" ? change.oldImage : undefined
  const size = itemSize(change.keys) + (newImage === undefined ? 0 : itemSize(newImage))
    + (oldImage === undefined ? 0 : itemSize(oldImage))
  return {
    eventID: randomEventId(),
    eventName: name,
    eventVersion: "1.1",
    eventSource: "aws:dynamodb",
    awsRegion: options.region,
    dynamodb: {
      ApproximateCreationDateTime: Math.floor(options.timeMs / 1000),
      Keys: change.keys,
      ...(newImage === undefined ? {} : { NewImage: newImage }),
      ...(oldImage === undefined ? {} : { OldImage: oldImage }),
      SequenceNumber: options.sequenceNumber.toString(),
      SizeBytes: size,
      StreamViewType: viewType
    },
    ...(change.ttl === true ? { userIdentity: TTL_IDENTITY } : {})
  }
}
