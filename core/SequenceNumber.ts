/**
 * DynamoDB Streams sequence numbers: decimal strings of 21 or more digits, ordered as big integers. They never pass
 * through a JavaScript number, and comparing them as strings is wrong when their lengths differ.
 *
 * @module
 */
import { Order } from "effect"

/** A stream record's `SequenceNumber`. */
export type SequenceNumber = string

const DIGITS = /^[0-9]+$/

/** True when `text` is a sequence number: at least 21 decimal digits. */
export const isSequenceNumber = (text: string): text is SequenceNumber => text.length >= 21 && DIGITS.test(text)

const significant = (text: string): number => {
  let i = 0
  while (i < text.length - 1 && text.charCodeAt(i) === 48) i++
  return i
}

/** Compares two sequence numbers as big integers: -1, 0 or 1. Leading zeros do not count. */
export const compare = (a: SequenceNumber, b: SequenceNumber): -1 | 0 | 1 => {
  const i = significant(a), j = significant(b)
  const la = a.length - i, lb = b.length - j
  if (la !== lb) return la < lb ? -1 : 1
  for (let k = 0; k < la; k++) {
    const x = a.charCodeAt(i + k), y = b.charCodeAt(j + k)
    if (x !== y) return x < y ? -1 : 1
  }
  return 0
}

/** The `Order` of sequence numbers. */
export const order: Order.Order<SequenceNumber> = compare

/** The later of two sequence numbers. */
export const max = (a: SequenceNumber, b: SequenceNumber): SequenceNumber => (compare(a, b) >= 0 ? a : b)
