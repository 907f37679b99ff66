/**
 * The text form of a spool: segments of JSON lines, one line per capture {@link Element}, and after the elements of
 * each append one state line with the {@link CaptureState} they bring the capture to (so every append ends with a
 * state line, and a segment can be checked and recovered on its own).
 *
 * ```text
 * {"_tag":"Batch","shardId":"shardId-1","sequenceNumber":"…","approximateCreationTimeMs":1768387673000,"sizes":[231,245],"events":[{…},{…}]}
 * {"_tag":"ShardFinished","shardId":"shardId-1"}
 * {"_tag":"ShardsGone","shardIds":["shardId-0"]}
 * {"_tag":"CaughtUp","readToMs":1768387680000}
 * {"_tag":"State","state":{"positions":{…},"finished":["shardId-1"]}}
 * ```
 *
 * A batch's events are {@link Envelope} lines in the lossless `dynamodb` format; `sizes` gives the length of each, so
 * that decoding hands each event's text straight to {@link Envelope.decode} without parsing the batch line twice.
 * Encoding is hand-written (no `Schema` on the per-event path). A damaged line is a {@link SpoolFailure} that names
 * the segment and the line.
 *
 * @module
 */
import { Chunk, Effect, Either, Schema, Stream } from "effect"
import type { Element } from "./Capture.ts"
import * as CaptureState from "./CaptureState.ts"
import type { ChangeEvent } from "./ChangeEvent.ts"
import * as Envelope from "./Envelope.ts"
import { SpoolFailure } from "./Errors.ts"
import { LineSplitter } from "./LineSplitter.ts"
import { isSequenceNumber } from "./SequenceNumber.ts"
import { firstIssue } from "./internal/firstIssue.ts"

/** The state line that ends every append. */
export interface StateLine {
  readonly _tag: "State"
  readonly state: CaptureState.CaptureState
}

/** One line of a segment. */
export type Entry = Element | StateLine

/** True for the lines that are capture elements (not state lines). */
export const isElement = (entry: Entry): entry is Element => entry._tag !== "State"

/** The name of the `n`th segment (from 1): `segment-0000000001.jsonl`. */
export const segmentName = (n: number): string => `segment-${String(n).padStart(10, "0")}.jsonl`

const SEGMENT = /^segment-(\d+)\.jsonl$/

/** The number of a segment from its name, or `undefined` for another name. */
export const segmentNumber = (name: string): number | undefined => {
  const match = SEGMENT.exec(name)
  if (match === null) return undefined
  const n = Number(match[1])
  return Number.isSafeInteger(n) && n > 0 ? n : undefined
}

const json = JSON.stringify

/** One element as a line (without its newline). */
export const encodeElement = (element: Element): string => {
  switch (element._tag) {
    case "Batch": {
      const events = element.events.map((event) => Envelope.encode(event, "dynamodb"))
      let sizes = ""
      for (let i = 0; i < events.length; i++) sizes += (i === 0 ? "" : ",") + events[i]!.length
      return `{"_tag":"Batch","shardId":${json(element.shardId)},"sequenceNumber":${
        json(element.position.sequenceNumber)
      },"approximateCreationTimeMs":${json(element.position.approximateCreationTimeMs)},"sizes":[${sizes}],"events":[${
        events.join(",")
      }]}`
    }
    case "ShardFinished":
      return `{"_tag":"ShardFinished","shardId":${json(element.shardId)}}`
    case "ShardsGone":
      return `{"_tag":"ShardsGone","shardIds":${json(element.shardIds)}}`
    case "CaughtUp":
      return `{"_tag":"CaughtUp","readToMs":${json(element.readToMs)}}`
  }
}

const encodeCaptureState = Schema.encodeEither(CaptureState.schema)
const decodeCaptureState = Schema.decodeUnknownEither(CaptureState.schema)

/** A capture state as a state line (without its newline); `Left` with the reason for a state that is not valid. */
export const encodeState = (state: CaptureState.CaptureState): Either.Either<string, string> =>
  Either.mapBoth(encodeCaptureState(state), {
    onLeft: firstIssue,
    onRight: (encoded) => `{"_tag":"State","state":${json(encoded)}}`
  })

/**
 * The text of one append: a line per element, then the state line, each ending with `\n`. `Left` with the reason
 * when the state is not a valid capture state.
 */
export const encodeAppend = (
  elements: ReadonlyArray<Element>,
  state: CaptureState.CaptureState
): Either.Either<string, string> =>
  Either.map(encodeState(state), (stateLine) => {
    let text = ""
    for (const element of elements) text += encodeElement(element) + "\n"
    return text + stateLine + "\n"
  })

const isShardId = (value: unknown): value is string => typeof value === "string" && value.length > 0

const hasKeys = (object: Record<string, unknown>, keys: ReadonlyArray<string>): string | undefined => {
  for (const key of Object.keys(object)) if (!keys.includes(key)) return `unexpected field "${key}"`
  for (const key of keys) if (!(key in object)) return `missing field "${key}"`
  return undefined
}

const BATCH = `{"_tag":"Batch",`
const EVENTS = `,"events":[`
const BATCH_KEYS = ["_tag", "shardId", "sequenceNumber", "approximateCreationTimeMs", "sizes"]

const parse = (text: string): Either.Either<unknown, string> => {
  try {
    return Either.right(JSON.parse(text))
  } catch (error) {
    return Either.left(`not JSON (${(error as Error).message})`)
  }
}

const decodeBatch = (text: string): Either.Either<Element, string> => {
  // A JSON string cannot hold an unescaped quote, so the first `,"events":[` is the field's own.
  const at = text.indexOf(EVENTS)
  if (at === -1) return Either.left(`a batch without its "events"`)
  const parsed = parse(text.slice(0, at) + "}")
  if (Either.isLeft(parsed)) return Either.left(`the batch's fields are ${parsed.left}`)
  const header = parsed.right as Record<string, unknown>
  const unexpected = hasKeys(header, BATCH_KEYS)
  if (unexpected !== undefined) return Either.left(`batch: ${unexpected}`)
  const { approximateCreationTimeMs, sequenceNumber, shardId, sizes } = header
  if (!isShardId(shardId)) return Either.left(`batch: "shardId" is not a shard id`)
  if (typeof sequenceNumber !== "string" || !isSequenceNumber(sequenceNumber)) {
    return Either.left(`batch: "sequenceNumber" is not a sequence number`)
  }
  if (typeof approximateCreationTimeMs !== "number" || !Number.isFinite(approximateCreationTimeMs)) {
    return Either.left(`batch: "approximateCreationTimeMs" is not a time in ms`)
  }
  if (
    !Array.isArray(sizes) || sizes.length === 0
    || !sizes.every((size) => typeof size === "number" && Number.isSafeInteger(size) && size > 0)
  ) {
    return Either.left(`batch: "sizes" is not a non-empty list of event lengths`)
  }
  const events: Array<ChangeEvent> = []
  let from = at + EVENTS.length
  for (let i = 0; i < sizes.length; i++) {
    if (i > 0) {
      if (text.charCodeAt(from) !== 44) return Either.left(`batch: event ${i} does not end where "sizes" says`)
      from++
    }
    const size = sizes[i] as number
    if (from + size > text.length) return Either.left(`batch: event ${i} is cut short`)
    const event = Envelope.decode(text.slice(from, from + size))
    if (Either.isLeft(event)) return Either.left(`batch: event ${i}: ${event.left.reason}`)
    events.push(event.right)
    from += size
  }
  if (text.length !== from + 2 || !text.endsWith("]}")) {
    return Either.left(`batch: the events do not end where "sizes" says`)
  }
  return Either.right({ _tag: "Batch", shardId, events, position: { sequenceNumber, approximateCreationTimeMs } })
}

/** One line (without its newline); `Left` with the reason it is not a spool line. */
export const decodeEntry = (text: string): Either.Either<Entry, string> => {
  if (text.startsWith(BATCH)) return decodeBatch(text)
  if (text.length === 0) return Either.left("an empty line")
  const parsed = parse(text)
  if (Either.isLeft(parsed)) return Either.left(parsed.left)
  const line = parsed.right
  if (typeof line !== "object" || line === null || Array.isArray(line)) return Either.left("not a JSON object")
  const object = line as Record<string, unknown>
  switch (object._tag) {
    case "ShardFinished": {
      const unexpected = hasKeys(object, ["_tag", "shardId"])
      if (unexpected !== undefined) return Either.left(`ShardFinished: ${unexpected}`)
      if (!isShardId(object.shardId)) return Either.left(`ShardFinished: "shardId" is not a shard id`)
      return Either.right({ _tag: "ShardFinished", shardId: object.shardId })
    }
    case "ShardsGone": {
      const unexpected = hasKeys(object, ["_tag", "shardIds"])
      if (unexpected !== undefined) return Either.left(`ShardsGone: ${unexpected}`)
      const { shardIds } = object
      if (!Array.isArray(shardIds) || !shardIds.every(isShardId)) {
        return Either.left(`ShardsGone: "shardIds" is not a list of shard ids`)
      }
      return Either.right({ _tag: "ShardsGone", shardIds })
    }
    case "State": {
      const unexpected = hasKeys(object, ["_tag", "state"])
      if (unexpected !== undefined) return Either.left(`State: ${unexpected}`)
      return Either.mapBoth(decodeCaptureState(object.state, { onExcessProperty: "error" }), {
        onLeft: (error) => `State: ${firstIssue(error)}`,
        onRight: (state): Entry => ({ _tag: "State", state })
      })
    }
    case "CaughtUp": {
      const unexpected = hasKeys(object, ["_tag", "readToMs"])
      if (unexpected !== undefined) return Either.left(`CaughtUp: ${unexpected}`)
      const { readToMs } = object
      if (typeof readToMs !== "number" || !Number.isFinite(readToMs)) {
        return Either.left(`CaughtUp: "readToMs" is not a time in ms`)
      }
      return Either.right({ _tag: "CaughtUp", readToMs })
    }
    case "Batch":
      return Either.left(`a batch must begin with ${BATCH}`)
    default:
      return Either.left(`"_tag" is not Batch, ShardFinished, ShardsGone, CaughtUp or State`)
  }
}

/** What to do about a damaged spool. */
const remedy = "the spool is damaged and its records cannot be replayed: clear it and start again with a new backfill"

/**
 * The lines of one segment, decoded as its bytes arrive (memory holds a chunk and a line at most). A line that is not
 * valid fails the stream with a {@link SpoolFailure} naming `spool`, `segment` and the line (from 1); so does a last
 * line without its newline (an append cut short).
 */
export const decodeSegment = <E>(
  spool: string,
  segment: string,
  bytes: Stream.Stream<Uint8Array, E>
): Stream.Stream<Entry, E | SpoolFailure> =>
  Stream.suspend(() => {
    const splitter = new LineSplitter()
    const decoder = new TextDecoder("utf-8", { fatal: true })
    let line = 0
    const failure = (reason: string) =>
      new SpoolFailure({ spool, reason: `${segment}, line ${line}: ${reason}; ${remedy}` })
    const decodeBytes = (bytes: Uint8Array): Either.Either<Entry, SpoolFailure> => {
      line++
      let text: string
      try {
        text = decoder.decode(bytes)
      } catch {
        return Either.left(failure("not valid UTF-8"))
      }
      return Either.mapLeft(decodeEntry(text), failure)
    }
    return bytes.pipe(
      Stream.mapChunksEffect((chunk) => {
        const entries: Array<Entry> = []
        for (const piece of chunk) {
          for (const text of splitter.push(piece)) {
            const entry = decodeBytes(text)
            if (Either.isLeft(entry)) return Effect.fail(entry.left)
            entries.push(entry.right)
          }
        }
        return Effect.succeed(Chunk.unsafeFromArray(entries))
      }),
      Stream.concat(Stream.suspend(() => {
        if (splitter.end() === undefined) return Stream.empty
        line++
        return Stream.fail(failure("the line is cut short (no newline at its end)"))
      }))
    )
  })

/** The small record of where a spool ends: its last segment, that segment's durable length, and the state there. */
export interface Head {
  readonly segment: number
  /** Bytes of the last segment that hold whole appends. */
  readonly length: number
  readonly state: CaptureState.CaptureState
}

const HeadJson = Schema.parseJson(Schema.Struct({
  version: Schema.Literal(1),
  segment: Schema.Int.pipe(Schema.positive()),
  length: Schema.Int.pipe(Schema.nonNegative()),
  state: CaptureState.schema
}))

/** A head as JSON text (`{"version":1,"segment":3,"length":81234,"state":{…}}`). */
export const encodeHead = (head: Head): string =>
  Schema.encodeSync(HeadJson)({ version: 1, segment: head.segment, length: head.length, state: head.state })

/** A head from JSON text; `Left` with the reason it is not one. */
export const decodeHead = (text: string): Either.Either<Head, string> =>
  Either.mapBoth(Schema.decodeUnknownEither(HeadJson)(text, { onExcessProperty: "error" }), {
    onLeft: firstIssue,
    onRight: ({ length, segment, state }) => ({ segment, length, state })
  })
