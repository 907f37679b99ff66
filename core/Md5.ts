/**
 * Incremental MD5 (RFC 1321) in portable code. Web Crypto has no MD5, yet AWS checks export files with it
 * (`md5Checksum`, ETags). Runtimes with a native MD5 can inject theirs wherever a {@link Md5Factory} is taken.
 *
 * @module
 */

/** An incremental hash: feed it bytes, then take the 16-byte digest once. */
export interface Hasher {
  readonly update: (bytes: Uint8Array) => void
  readonly digest: () => Uint8Array
}

/** Makes a fresh MD5 {@link Hasher}. */
export type Md5Factory = () => Hasher

const S = [
  7,
  12,
  17,
  22,
  7,
  12,
  17,
  22,
  7,
  12,
  17,
  22,
  7,
  12,
  17,
  22,
  5,
  9,
  14,
  20,
  5,
  9,
  14,
  20,
  5,
  9,
  14,
  20,
  5,
  9,
  14,
  20,
  4,
  11,
  16,
  23,
  4,
  11,
  16,
  23,
  4,
  11,
  16,
  23,
  4,
  11,
  16,
  23,
  6,
  10,
  15,
  21,
  6,
  10,
  15,
  21,
  6,
  10,
  15,
  21,
  6,
  10,
  15,
  21
]
const K = new Int32Array(64)
for (let i = 0; i < 64; i++) K[i] = Math.floor(Math.abs(Math.sin(i + 1)) * 0x100000000) | 0
const G = new Uint8Array(64)
for (let i = 0; i < 64; i++) G[i] = i < 16 ? i : i < 32 ? (5 * i + 1) % 16 : i < 48 ? (3 * i + 5) % 16 : (7 * i) % 16

class Md5 implements Hasher {
  private a = 0x67452301
  private b = 0xefcdab89 | 0
  private c = 0x98badcfe | 0
  private d = 0x10325476
  private readonly block = new Uint8Array(64)
  private readonly words = new Int32Array(16)
  private filled = 0
  private length = 0
  private done = false

  readonly update = (bytes: Uint8Array): void => {
    if (this.done) throw new Error("MD5 digest already taken")
    this.length += bytes.length
    let i = 0
    if (this.filled > 0) {
      const take = Math.min(64 - this.filled, bytes.length)
      this.block.set(bytes.subarray(0, take), this.filled)
      this.filled += take
      i = take
      if (this.filled < 64) return
      this.compress(this.block, 0)
      this.filled = 0
    }
    for (; i + 64 <= bytes.length; i += 64) this.compress(bytes, i)
    if (i < bytes.length) {
      this.block.set(bytes.subarray(i), 0)
      this.filled = bytes.length - i
    }
  }

  readonly digest = (): Uint8Array => {
    if (this.done) throw new Error("MD5 digest already taken")
    const bits = this.length * 8
    const tail = new Uint8Array(this.filled < 56 ? 64 : 128)
    tail.set(this.block.subarray(0, this.filled))
    tail[this.filled] = 0x80
    const view = new DataView(tail.buffer)
    view.setUint32(tail.length - 8, bits >>> 0, true)
    view.setUint32(tail.length - 4, Math.floor(bits / 0x100000000), true)
    for (let i = 0; i < tail.length; i += 64) this.compress(tail, i)
    this.done = true
    const out = new Uint8Array(16)
    const result = new DataView(out.buffer)
    result.setInt32(0, this.a, true)
    result.setInt32(4, this.b, true)
    result.setInt32(8, this.c, true)
    result.setInt32(12, this.d, true)
    return out
  }

  private compress(bytes: Uint8Array, offset: number): void {
    const w = this.words
    for (let j = 0; j < 16; j++) {
      const o = offset + j * 4
      w[j] = bytes[o]! | (bytes[o + 1]! << 8) | (bytes[o + 2]! << 16) | (bytes[o + 3]! << 24)
    }
    let a = this.a, b = this.b, c = this.c, d = this.d
    for (let i = 0; i < 64; i++) {
      let f: number
      if (i < 16) f = (b & c) | (~b & d)
      else if (i < 32) f = (d & b) | (~d & c)
      else if (i < 48) f = b ^ c ^ d
      else f = c ^ (b | ~d)
      const t = (a + f + K[i]! + w[G[i]!]!) | 0
      a = d
      d = c
      c = b
      b = (b + ((t << S[i]!) | (t >>> (32 - S[i]!)))) | 0
    }
    this.a = (this.a + a) | 0
    this.b = (this.b + b) | 0
    this.c = (this.c + c) | 0
    this.d = (this.d + d) | 0
  }
}

/** The portable MD5. */
export const md5: Md5Factory = () => new Md5()

/** MD5 of bytes in one call. */
export const digest = (bytes: Uint8Array, factory: Md5Factory = md5): Uint8Array => {
  const hasher = factory()
  hasher.update(bytes)
  return hasher.digest()
}

/** Lowercase hex of bytes. */
export const toHex = (bytes: Uint8Array): string => {
  let out = ""
  for (const byte of bytes) out += byte.toString(16).padStart(2, "0")
  return out
}
