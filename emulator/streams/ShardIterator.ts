/**
 * Shard iterators: opaque tokens shaped like AWS's (`<stream arn>|1|<base64>`) that carry a position in a shard and
 * their issue time, signed with HMAC-SHA-256 under a key of this emulator. An iterator that is not ours, was altered
 * (its position, its time or its stream) or was made up does not verify.
 */
import { Effect, Option } from "effect"
import * as Base64 from "../../core/Base64.ts"

export interface Position {
  readonly streamArn: string
  readonly shardId: string
  /** The lowest sequence number the next GetRecords may return. */
  readonly from: bigint
  readonly issuedMs: number
  /** Its rank in issue order: expiring every iterator issued so far moves a bar over it. */
  readonly serial: number
}

const SEPARATOR = "|1|"
const MAC_BYTES = 32
const encoder = new TextEncoder()

const concat = (a: Uint8Array, b: Uint8Array): Uint8Array<ArrayBuffer> => {
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}

const parsePayload = (streamArn: string, bytes: Uint8Array): Option.Option<Position> => {
  try {
    const fields: unknown = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes))
    if (!Array.isArray(fields) || fields.length !== 4) return Option.none()
    const [shardId, from, issuedMs, serial] = fields as Array<unknown>
    if (
      typeof shardId !== "string" || typeof from !== "string" || !/^[0-9]+$/.test(from)
      || !Number.isSafeInteger(issuedMs) || !Number.isSafeInteger(serial)
    ) return Option.none()
    return Option.some({
      streamArn,
      shardId,
      from: BigInt(from),
      issuedMs: issuedMs as number,
      serial: serial as number
    })
  } catch {
    return Option.none()
  }
}

/** Signs and verifies iterators with a random key: iterators of another emulator (or before a reset) are foreign. */
export class IteratorSigner {
  private readonly key: Promise<CryptoKey>

  /** `secret`: the key's bytes, to verify the iterators of a saved emulator; random by default. */
  constructor(readonly secret: Uint8Array<ArrayBuffer> = crypto.getRandomValues(new Uint8Array(32))) {
    this.key = crypto.subtle.importKey("raw", secret, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"])
  }

  encode(position: Position): Effect.Effect<string> {
    const payload = encoder.encode(
      JSON.stringify([position.shardId, position.from.toString(), position.issuedMs, position.serial])
    )
    const signed = concat(encoder.encode(position.streamArn + SEPARATOR), payload)
    return Effect.promise(async () => {
      const mac = new Uint8Array(await crypto.subtle.sign("HMAC", await this.key, signed))
      return position.streamArn + SEPARATOR + Base64.encode(concat(payload, mac))
    })
  }

  /** The position of an iterator this signer issued, or none. */
  decode(token: string): Effect.Effect<Option.Option<Position>> {
    const at = token.indexOf(SEPARATOR)
    const bytes = at > 0 ? Base64.decode(token.slice(at + SEPARATOR.length)) : undefined
    if (bytes === undefined || bytes.length <= MAC_BYTES) return Effect.succeed(Option.none())
    const streamArn = token.slice(0, at)
    const payload = bytes.slice(0, bytes.length - MAC_BYTES), mac = bytes.slice(bytes.length - MAC_BYTES)
    const signed = concat(encoder.encode(streamArn + SEPARATOR), payload)
    return Effect.promise(async () => await crypto.subtle.verify("HMAC", await this.key, mac, signed)).pipe(
      Effect.map((valid) => valid ? parsePayload(streamArn, payload) : Option.none())
    )
  }
}
