/**
 * DynamoDB numbers as exact decimal strings. DynamoDB keeps up to 38 significant digits, with a magnitude between
 * 1E-130 and 9.9999999999999999999999999999999999999E+125 (or zero); JavaScript numbers cannot hold that, so
 * backstream never converts a DynamoDB number to a float on its way through.
 *
 * @module
 */

/** The most significant digits DynamoDB keeps. */
export const MAX_SIGNIFICANT_DIGITS = 38
/** The smallest decimal exponent of a non-zero DynamoDB number (1E-130). */
export const MIN_EXPONENT = -130
/** The largest decimal exponent of a DynamoDB number (9.99…E+125). */
export const MAX_EXPONENT = 125

/**
 * A number split into sign, significant digits (no leading or trailing zeros; empty for zero) and the decimal
 * exponent of its first digit: the value is `0.d1d2…dn × 10^(exponent + 1)`, i.e. `d1.d2…dn × 10^exponent`.
 */
export interface Decimal {
  readonly negative: boolean
  readonly digits: string
  readonly exponent: number
}

const isDigit = (code: number) => code >= 48 && code <= 57

/**
 * Parses decimal text (`-12.5`, `1E+30`, `0.000`, `.5`) into its sign, significant digits and exponent. Returns a
 * string describing the problem when the text is not a decimal number.
 */
export const parse = (text: string): Decimal | string => {
  const length = text.length
  let i = 0
  let negative = false
  const first = text.charCodeAt(0)
  if (first === 45 || first === 43) {
    negative = first === 45
    i = 1
  }
  let intStart = i
  while (i < length && isDigit(text.charCodeAt(i))) i++
  const intEnd = i
  let fracStart = i, fracEnd = i
  if (i < length && text.charCodeAt(i) === 46) {
    fracStart = ++i
    while (i < length && isDigit(text.charCodeAt(i))) i++
    fracEnd = i
  }
  if (intEnd === intStart && fracEnd === fracStart) return "it has no digits"
  let exp = 0
  if (i < length && (text.charCodeAt(i) | 32) === 101) {
    i++
    let expNegative = false
    const sign = text.charCodeAt(i)
    if (sign === 45 || sign === 43) {
      expNegative = sign === 45
      i++
    }
    const expStart = i
    while (i < length && isDigit(text.charCodeAt(i))) i++
    if (i === expStart) return "its exponent has no digits"
    if (i - expStart > 6) {
      let s = expStart
      while (s < i - 1 && text.charCodeAt(s) === 48) s++
      if (i - s > 6) return "its exponent is out of range"
    }
    exp = Number(text.slice(expStart, i))
    if (expNegative) exp = -exp
  }
  if (i !== length) return `unexpected character ${JSON.stringify(text[i])} at offset ${i}`
  while (intStart < intEnd && text.charCodeAt(intStart) === 48) intStart++
  let digits: string
  let exponent: number
  if (intStart < intEnd) {
    digits = text.slice(intStart, intEnd) + text.slice(fracStart, fracEnd)
    exponent = intEnd - intStart - 1 + exp
  } else {
    let f = fracStart
    while (f < fracEnd && text.charCodeAt(f) === 48) f++
    digits = text.slice(f, fracEnd)
    exponent = -(f - fracStart) - 1 + exp
  }
  let end = digits.length
  while (end > 0 && digits.charCodeAt(end - 1) === 48) end--
  if (end === 0) return { negative: false, digits: "", exponent: 0 }
  return { negative, digits: end === digits.length ? digits : digits.slice(0, end), exponent }
}

/**
 * Checks a DynamoDB number. Returns `undefined` when it is valid, else the reason it is not, phrased to follow
 * "the number …".
 */
export const check = (text: string): string | undefined => {
  if (scan(text, 0, text.length) !== SLOW) return undefined
  const parsed = parse(text)
  if (typeof parsed === "string") return `${JSON.stringify(text)} is not a decimal number: ${parsed}`
  return checkDecimal(text, parsed)
}

// What `scan` finds: a valid number, a valid number already in canonical form, or anything else (left to `parse`).
const SLOW = 0
const VALID = 1
const CANONICAL = 2

/**
 * The hot path of {@link check} and {@link canonical}: one pass over the text, allocating nothing. It answers
 * VALID or CANONICAL only when `parse` and `checkDecimal` would accept the text; everything else, including every
 * error, goes the slow way, which says what is wrong.
 */
const scan = (text: string, start: number, end: number): number => {
  const length = end
  let i = start
  let code = text.charCodeAt(start)
  let canonical = true
  if (code === 45) i++
  else if (code === 43) {
    i++
    canonical = false
  }
  const intStart = i
  let count = 0 // digits seen, integer and fraction
  let first = -1 // index among the digits of the first non-zero one
  let last = -1
  for (; i < length; i++, count++) {
    code = text.charCodeAt(i)
    if (code < 48 || code > 57) break
    if (code !== 48) {
      if (first < 0) first = count
      last = count
    }
  }
  const intDigits = count
  let dot = false
  if (i < length && code === 46) {
    dot = true
    for (i++; i < length; i++, count++) {
      code = text.charCodeAt(i)
      if (code < 48 || code > 57) break
      if (code !== 48) {
        if (first < 0) first = count
        last = count
      }
    }
  }
  if (count === 0) return SLOW
  let exp = 0
  if (i < length && (code | 32) === 101) {
    canonical = false
    i++
    const sign = text.charCodeAt(i)
    const negative = sign === 45
    if (negative || sign === 43) i++
    const expStart = i
    let significant = 0
    for (; i < length; i++) {
      code = text.charCodeAt(i)
      if (code < 48 || code > 57) break
      if (significant > 0 || code !== 48) {
        if (++significant > 6) return SLOW
        exp = exp * 10 + code - 48
      }
    }
    if (i === expStart) return SLOW
    if (negative) exp = -exp
  }
  if (i !== length) return SLOW
  if (first < 0) return canonical && end - start === 1 ? CANONICAL : VALID
  if (last - first + 1 > MAX_SIGNIFICANT_DIGITS) return SLOW
  const exponent = intDigits - first - 1 + exp
  if (exponent < MIN_EXPONENT || exponent > MAX_EXPONENT) return SLOW
  if (!canonical || intDigits === 0) return VALID
  const leadingZero = text.charCodeAt(intStart) === 48
  if (dot) {
    // `1.5` and `0.05`, not `01.5`, `1.`, `1.50` or `0.`
    return last === count - 1 && count > intDigits && (leadingZero ? intDigits === 1 : true) ? CANONICAL : VALID
  }
  return leadingZero ? VALID : CANONICAL
}

const checkDecimal = (text: string, decimal: Decimal): string | undefined => {
  if (decimal.digits.length > MAX_SIGNIFICANT_DIGITS) {
    return `${JSON.stringify(text)} has ${decimal.digits.length} significant digits; DynamoDB keeps at most 38`
  }
  if (decimal.digits.length > 0 && (decimal.exponent < MIN_EXPONENT || decimal.exponent > MAX_EXPONENT)) {
    return `${JSON.stringify(text)} is out of DynamoDB's range (1E-130 to 9.9999999999999999999999999999999999999E+125)`
  }
  return undefined
}

/** True when `text` is a number DynamoDB accepts. */
export const isValid = (text: string): boolean => check(text) === undefined

/**
 * For parsers that find numbers inside a larger text: how `text` from `start` to `end` reads as a number, without
 * slicing it in the common cases: `"canonical"` (valid, and in {@link canonical} form), `"valid"` or `"invalid"`.
 */
export const classify = (text: string, start = 0, end = text.length): "canonical" | "valid" | "invalid" => {
  const scanned = scan(text, start, end)
  if (scanned === CANONICAL) return "canonical"
  if (scanned === VALID) return "valid"
  // What the scan leaves is invalid, or valid with an exponent (so not canonical).
  return check(text.slice(start, end)) === undefined ? "valid" : "invalid"
}

/**
 * The canonical plain-decimal form of a valid number: no exponent, no leading zeros, no trailing fractional zeros,
 * `0` for any zero. Two numbers are equal in DynamoDB exactly when their canonical forms are equal.
 *
 * @example
 * canonical("1.50E2") // "150"
 * canonical("-0.0")   // "0"
 */
export const canonical = (text: string): string => {
  if (scan(text, 0, text.length) === CANONICAL) return text
  const parsed = parse(text)
  if (typeof parsed === "string") throw new Error(`not a number: ${text}`)
  return render(parsed)
}

const render = ({ digits, exponent, negative }: Decimal): string => {
  if (digits.length === 0) return "0"
  const sign = negative ? "-" : ""
  if (exponent < 0) return sign + "0." + "0".repeat(-exponent - 1) + digits
  if (exponent + 1 >= digits.length) return sign + digits + "0".repeat(exponent + 1 - digits.length)
  return sign + digits.slice(0, exponent + 1) + "." + digits.slice(exponent + 1)
}

/** True when two valid numbers have the same value (`"1.0"` and `"1"` are equal). */
export const equals = (a: string, b: string): boolean => a === b || canonical(a) === canonical(b)

/**
 * The number as a JavaScript number when that loses nothing: when reading the returned number back yields exactly
 * the same decimal value. Otherwise `undefined` (more than 15–17 significant digits, integers beyond 2^53, magnitudes
 * outside the double range).
 */
export const toExactNumber = (text: string): number | undefined => {
  const parsed = parse(text)
  if (typeof parsed === "string") return undefined
  if (parsed.digits.length === 0) return 0
  if (parsed.digits.length > 17) return undefined
  const value = Number(text)
  if (!Number.isFinite(value) || value === 0) return undefined
  const back = parse(String(value))
  if (typeof back === "string") return undefined
  return back.digits === parsed.digits && back.exponent === parsed.exponent && back.negative === parsed.negative
    ? value
    : undefined
}
