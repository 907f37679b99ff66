/**
 * Strict, portable base64 (RFC 4648 §4, standard alphabet, padded), as DynamoDB writes binary values.
 *
 * @module
 */

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
const DECODE = new Int16Array(128).fill(-1)
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i

const sextet = (text: string, index: number): number => {
  const code = text.charCodeAt(index)
  return code < 128 ? DECODE[code]! : -1
}

/**
 * Decodes base64 text (or the part of `text` from `start` to `end`) into bytes. Returns `undefined` when it is not
 * canonical padded base64: a length that is not a multiple of 4, a character outside the alphabet, misplaced padding,
 * or non-zero bits after the last byte.
 *
 * @example
 * decode("AAEC") // Uint8Array [0, 1, 2]
 * decode("AAE")  // undefined (not padded)
 */
export const decode = (text: string, start = 0, end = text.length): Uint8Array<ArrayBuffer> | undefined => {
  const length = decodedLength(text, start, end)
  if (length < 0) return undefined
  const out = new Uint8Array(length)
  return decodeInto(text, start, end, out) ? out : undefined
}

/**
 * Whether the part of `text` from `start` to `end` is canonical padded base64, as {@link decode} would accept it,
 * without making its bytes.
 */
export const isCanonical = (text: string, start = 0, end = text.length): boolean =>
  decodedLength(text, start, end) >= 0 && decodeInto(text, start, end, undefined)

// The number of bytes the text spells, from its length and padding; -1 when the length is not a multiple of 4.
const decodedLength = (text: string, start: number, end: number): number => {
  const length = end - start
  if (length % 4 !== 0) return -1
  if (length === 0) return 0
  const padding = text.charCodeAt(end - 1) === 61 ? (text.charCodeAt(end - 2) === 61 ? 2 : 1) : 0
  return (length / 4) * 3 - padding
}

// Checks the text (its length a multiple of 4) and writes its bytes to `out` when given; false when not canonical.
const decodeInto = (text: string, start: number, end: number, out: Uint8Array | undefined): boolean => {
  if (end === start) return true
  const padding = text.charCodeAt(end - 1) === 61 ? (text.charCodeAt(end - 2) === 61 ? 2 : 1) : 0
  const full = padding === 0 ? end : end - 4
  let o = 0
  for (let i = start; i < full; i += 4) {
    const a = sextet(text, i), b = sextet(text, i + 1), c = sextet(text, i + 2), d = sextet(text, i + 3)
    if ((a | b | c | d) < 0) return false
    if (out !== undefined) {
      const n = (a << 18) | (b << 12) | (c << 6) | d
      out[o++] = n >>> 16
      out[o++] = (n >>> 8) & 0xff
      out[o++] = n & 0xff
    }
  }
  if (padding > 0) {
    const a = sextet(text, full), b = sextet(text, full + 1)
    if ((a | b) < 0) return false
    if (padding === 2) {
      if ((b & 0x0f) !== 0) return false
      if (out !== undefined) out[o] = (a << 2) | (b >>> 4)
    } else {
      const c = sextet(text, full + 2)
      if (c < 0 || (c & 0x03) !== 0) return false
      if (out !== undefined) {
        out[o++] = (a << 2) | (b >>> 4)
        out[o] = ((b & 0x0f) << 4) | (c >>> 2)
      }
    }
  }
  return true
}

/** Encodes bytes as padded standard base64. */
export const encode = (bytes: Uint8Array): string => {
  let out = ""
  const length = bytes.length
  const full = length - (length % 3)
  for (let i = 0; i < full; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!
    out += ALPHABET[n >>> 18]! + ALPHABET[(n >>> 12) & 63]! + ALPHABET[(n >>> 6) & 63]! + ALPHABET[n & 63]!
  }
  if (length - full === 1) {
    const n = bytes[full]! << 16
    out += ALPHABET[n >>> 18]! + ALPHABET[(n >>> 12) & 63]! + "=="
  } else if (length - full === 2) {
    const n = (bytes[full]! << 16) | (bytes[full + 1]! << 8)
    out += ALPHABET[n >>> 18]! + ALPHABET[(n >>> 12) & 63]! + ALPHABET[(n >>> 6) & 63]! + "="
  }
  return out
}
