import { assert, describe, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import * as DynamoNumber from "../../core/DynamoNumber.ts"

// An independent oracle: decimal text as the exact rational `sign × mantissa × 10^scale`, in BigInt arithmetic.
interface Rational {
  readonly negative: boolean
  readonly mantissa: bigint
  readonly scale: number
}

const SYNTAX = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/

const rational = (text: string): Rational => {
  const match = SYNTAX.exec(text)
  if (match === null || (match[2] === "" && (match[3] ?? "") === "")) throw new Error(`oracle: not a number: ${text}`)
  const fraction = match[3] ?? ""
  return {
    negative: match[1] === "-",
    mantissa: BigInt((match[2] ?? "") + fraction || "0"),
    scale: Number(match[4] ?? "0") - fraction.length
  }
}

const sameValue = (a: Rational, b: Rational): boolean => {
  if (a.mantissa === 0n || b.mantissa === 0n) return a.mantissa === b.mantissa
  if (a.negative !== b.negative) return false
  const scale = Math.min(a.scale, b.scale)
  return a.mantissa * 10n ** BigInt(a.scale - scale) === b.mantissa * 10n ** BigInt(b.scale - scale)
}

/** Significant digits and the exponent of the first one, from the oracle. */
const significant = (r: Rational): { readonly digits: string; readonly exponent: number } => {
  if (r.mantissa === 0n) return { digits: "", exponent: 0 }
  const all = r.mantissa.toString()
  const digits = all.replace(/0+$/, "")
  return { digits, exponent: r.scale + all.length - 1 }
}

// Spellings: the value `digits × 10^shift` written with the decimal point anywhere, an optional exponent, extra
// leading and trailing zeros, an optional sign.
interface Spelling {
  readonly sign: "" | "-" | "+"
  readonly exponent: number | undefined
  readonly exponentStyle: "E" | "e" | "E+" | "e-pad"
  readonly leadingZeros: number
  readonly trailingZeros: number
  readonly dropZeroInteger: boolean
}

const spell = (digits: string, shift: number, s: Spelling): string => {
  const written = s.exponent ?? 0
  const p = shift - written // the plain part is digits × 10^p
  let integer: string, fraction: string
  if (p >= 0) {
    integer = digits + "0".repeat(p)
    fraction = ""
  } else if (-p >= digits.length) {
    integer = ""
    fraction = "0".repeat(-p - digits.length) + digits
  } else {
    integer = digits.slice(0, digits.length + p)
    fraction = digits.slice(digits.length + p)
  }
  integer = "0".repeat(s.leadingZeros) + integer
  fraction = fraction + "0".repeat(s.trailingZeros)
  if (integer === "" && (fraction === "" || !s.dropZeroInteger)) integer = "0"
  let text = s.sign + integer + (fraction === "" ? "" : "." + fraction)
  if (s.exponent !== undefined) {
    const magnitude = String(Math.abs(s.exponent))
    const sign = s.exponent < 0 ? "-" : s.exponentStyle === "E+" ? "+" : ""
    text += s.exponentStyle === "e-pad" ? `e${sign}00${magnitude}` : `${s.exponentStyle[0]}${sign}${magnitude}`
  }
  return text
}

const spellingArbitrary: fc.Arbitrary<Spelling> = fc.record({
  sign: fc.constantFrom("" as const, "-" as const, "+" as const),
  exponent: fc.option(fc.integer({ min: -140, max: 140 }), { nil: undefined, freq: 2 }),
  exponentStyle: fc.constantFrom("E" as const, "e" as const, "E+" as const, "e-pad" as const),
  leadingZeros: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 3 })),
  trailingZeros: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 3 })),
  dropZeroInteger: fc.boolean()
})

const digitsArbitrary = (maxLength: number) =>
  fc.oneof(
    fc.constant(""),
    fc.tuple(fc.integer({ min: 1, max: 9 }), fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: maxLength - 1 }))
      .map(([first, rest]) => `${first}${rest.join("")}`)
  )

/** A value (significant digits and a power of ten) plus a way to write it. */
const valueArbitrary = (maxDigits: number, maxShift: number) =>
  fc.record({
    digits: digitsArbitrary(maxDigits),
    shift: fc.integer({ min: -maxShift, max: maxShift })
  })

const textArbitrary = (maxDigits = 40, maxShift = 160) =>
  fc.tuple(valueArbitrary(maxDigits, maxShift), spellingArbitrary).map(([{ digits, shift }, spelling]) =>
    spell(digits === "" ? "0" : digits, shift, spelling)
  )

/** Numbers DynamoDB accepts: at most 38 significant digits, first digit's exponent within [-130, 125]. */
const validTextArbitrary = fc.tuple(
  digitsArbitrary(38),
  fc.integer({ min: -130, max: 125 }),
  spellingArbitrary
).map(([digits, exponent, spelling]) =>
  digits === "" ? spell("0", exponent, spelling) : spell(digits, exponent - digits.length + 1, spelling)
)

const numRuns = 1000

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

describe("DynamoNumber.parse", () => {
  it("splits numbers into sign, significant digits and exponent", () => {
    assert.deepStrictEqual(DynamoNumber.parse("-12.5"), { negative: true, digits: "125", exponent: 1 })
    assert.deepStrictEqual(DynamoNumber.parse("1E+30"), { negative: false, digits: "1", exponent: 30 })
    assert.deepStrictEqual(DynamoNumber.parse(".5"), { negative: false, digits: "5", exponent: -1 })
    assert.deepStrictEqual(DynamoNumber.parse("0.0050"), { negative: false, digits: "5", exponent: -3 })
    assert.deepStrictEqual(DynamoNumber.parse("00120.0e-2"), { negative: false, digits: "12", exponent: 0 })
    assert.deepStrictEqual(DynamoNumber.parse("1."), { negative: false, digits: "1", exponent: 0 })
    assert.deepStrictEqual(DynamoNumber.parse("+7"), { negative: false, digits: "7", exponent: 0 })
  })

  it("reads every zero as positive zero", () => {
    for (const text of ["0", "-0", "+0", "0.000", "-0.0", ".0", "0.", "000", "0E+999", "-0e-999", "0E0"]) {
      assert.deepStrictEqual(DynamoNumber.parse(text), { negative: false, digits: "", exponent: 0 }, text)
    }
  })

  it("explains syntax errors", () => {
    const cases: ReadonlyArray<readonly [string, string]> = [
      ["", "it has no digits"],
      ["-", "it has no digits"],
      ["+", "it has no digits"],
      [".", "it has no digits"],
      ["-.e5", "it has no digits"],
      ["abc", "it has no digits"],
      [" 1", "it has no digits"],
      ["Infinity", "it has no digits"],
      ["-Infinity", "it has no digits"],
      ["NaN", "it has no digits"],
      ["1e", "its exponent has no digits"],
      ["1E+", "its exponent has no digits"],
      ["1e-", "its exponent has no digits"],
      ["1.2.3", 'unexpected character "." at offset 3'],
      ["0x10", 'unexpected character "x" at offset 1'],
      ["1 ", 'unexpected character " " at offset 1'],
      ["1e5.5", 'unexpected character "." at offset 3'],
      ["1_000", 'unexpected character "_" at offset 1'],
      ["--1", "it has no digits"],
      ["1E1234567", "its exponent is out of range"]
    ]
    for (const [text, reason] of cases) assert.strictEqual(DynamoNumber.parse(text), reason, JSON.stringify(text))
  })

  it("allows long exponents with leading zeros", () => {
    assert.deepStrictEqual(DynamoNumber.parse("1E+000000000005"), { negative: false, digits: "1", exponent: 5 })
    assert.deepStrictEqual(DynamoNumber.parse("1E999999"), { negative: false, digits: "1", exponent: 999999 })
  })

  it.prop("agrees with the BigInt oracle on digits and exponent", [textArbitrary()], ([text]) => {
    const parsed = DynamoNumber.parse(text)
    assert.notStrictEqual(typeof parsed, "string", text)
    const expected = significant(rational(text))
    const decimal = parsed as DynamoNumber.Decimal
    assert.strictEqual(decimal.digits, expected.digits, text)
    assert.strictEqual(decimal.exponent, expected.exponent, text)
    assert.strictEqual(decimal.negative, expected.digits !== "" && text.startsWith("-"), text)
  }, { fastCheck: { numRuns } })

  const numberishText = fc.oneof(
    fc.string({ maxLength: 8 }),
    fc.stringOf(fc.constantFrom("0", "1", "9", ".", "e", "E", "+", "-", " ", "x"), { maxLength: 10 })
  )

  it.prop("rejects whatever the oracle's grammar rejects, and only that", [numberishText], ([text]) => {
    const parsed = DynamoNumber.parse(text)
    const match = SYNTAX.exec(text)
    const grammatical = match !== null && (match[2] !== "" || (match[3] ?? "") !== "")
      && (match[4] ?? "").replace(/^[+-]?0*/, "").length <= 6
    assert.strictEqual(typeof parsed !== "string", grammatical, JSON.stringify(text))
  }, { fastCheck: { numRuns } })
})

describe("DynamoNumber.check", () => {
  const valid = (text: string) => assert.isUndefined(DynamoNumber.check(text), text)
  const invalid = (text: string, reason: RegExp) => {
    const problem = DynamoNumber.check(text)
    assert.isString(problem, text)
    assert.match(problem!, reason, text)
    assert.isFalse(DynamoNumber.isValid(text))
  }

  it("accepts 38 significant digits and rejects 39", () => {
    valid("12345678901234567890123456789012345678")
    valid("-1.2345678901234567890123456789012345678")
    valid("0.00012345678901234567890123456789012345678")
    invalid("123456789012345678901234567890123456789", /has 39 significant digits; DynamoDB keeps at most 38/)
    invalid("1.23456789012345678901234567890123456789E5", /has 39 significant digits/)
    invalid("-0.000123456789012345678901234567890123456789", /has 39 significant digits/)
  })

  it("does not count leading or trailing zeros as significant", () => {
    valid("1" + "0".repeat(38))
    valid("1" + "0".repeat(60))
    valid("0".repeat(50) + "12345678901234567890123456789012345678")
    valid("12345678901234567890123456789012345678" + "0".repeat(20))
    valid("1234567890123456789012345678901234567.8" + "0".repeat(20))
    valid("0." + "0".repeat(40) + "12345678901234567890123456789012345678")
    valid("1" + "0".repeat(36) + "1")
    invalid("1" + "0".repeat(37) + "1", /39 significant digits/)
  })

  it("accepts DynamoDB's range and rejects beyond it", () => {
    valid("1E-130")
    valid("-1E-130")
    valid("0." + "0".repeat(129) + "1")
    valid("9.9999999999999999999999999999999999999E+125")
    valid("-9.9999999999999999999999999999999999999E+125")
    valid("99999999999999999999999999999999999999" + "0".repeat(88))
    invalid("1E-131", /out of DynamoDB's range \(1E-130 to 9\.9999999999999999999999999999999999999E\+125\)/)
    invalid("-1E-131", /out of DynamoDB's range/)
    invalid("0." + "0".repeat(130) + "1", /out of DynamoDB's range/)
    invalid("1E+126", /out of DynamoDB's range/)
    invalid("-1E+126", /out of DynamoDB's range/)
    invalid("1" + "0".repeat(126), /out of DynamoDB's range/)
  })

  it("accepts zero in any spelling", () => {
    for (const text of ["0", "-0", "0.000", "0E+999", "0E-999", "-0.0e5", "000.000", ".0", "0."]) valid(text)
  })

  it("rejects syntax errors with a reason", () => {
    for (const text of ["", "-", "1e", "1.2.3", "abc", " 1", "0x10", "Infinity", "NaN", "1,5", "١"]) {
      invalid(text, new RegExp(`^${escape(JSON.stringify(text))} is not a decimal number: .+`))
    }
  })

  it.prop("agrees with the oracle on precision and range", [textArbitrary()], ([text]) => {
    const { digits, exponent } = significant(rational(text))
    const expected = digits.length <= 38 && (digits === "" || (exponent >= -130 && exponent <= 125))
    assert.strictEqual(DynamoNumber.isValid(text), expected, text)
  }, { fastCheck: { numRuns } })

  it.prop("accepts every number in DynamoDB's precision and range", [validTextArbitrary], ([text]) => valid(text), {
    fastCheck: { numRuns }
  })
})

describe("DynamoNumber.canonical", () => {
  it("writes plain decimals", () => {
    const cases: ReadonlyArray<readonly [string, string]> = [
      ["1.50E2", "150"],
      ["-0.0", "0"],
      ["0E+999", "0"],
      ["+12", "12"],
      ["007.500", "7.5"],
      ["1E-3", "0.001"],
      ["-1.5e-2", "-0.015"],
      ["1.23E+5", "123000"],
      ["12.34e1", "123.4"],
      [".5", "0.5"],
      ["1E-130", "0." + "0".repeat(129) + "1"]
    ]
    for (const [text, expected] of cases) assert.strictEqual(DynamoNumber.canonical(text), expected, text)
  })

  it("throws on text that is not a number", () => {
    assert.throws(() => DynamoNumber.canonical("abc"), /not a number: abc/)
  })

  it.prop("is a fixed point in canonical shape, with the same value", [textArbitrary(40, 140)], ([text]) => {
    const canonical = DynamoNumber.canonical(text)
    assert.strictEqual(DynamoNumber.canonical(canonical), canonical, text)
    assert.match(canonical, /^(0|-?(0\.\d*[1-9]|[1-9]\d*(\.\d*[1-9])?))$/, text)
    assert.isTrue(sameValue(rational(canonical), rational(text)), `${text} -> ${canonical}`)
  }, { fastCheck: { numRuns } })
})

/** Pairs of number texts: two spellings of one value, independent values, or values from a small pool. */
const pairArbitrary = fc.oneof(
  fc.tuple(valueArbitrary(40, 140), spellingArbitrary, spellingArbitrary).map(([{ digits, shift }, a, b]) => {
    const d = digits === "" ? "0" : digits
    return [spell(d, shift, a), spell(d, shift, b)] as const
  }),
  fc.tuple(textArbitrary(), textArbitrary()),
  fc.tuple(
    fc.constantFrom("1", "10", "100", "5", "50", "15", "0"),
    fc.integer({ min: -3, max: 3 }),
    fc.constantFrom("1", "10", "100", "5", "50", "15", "0"),
    fc.integer({ min: -3, max: 3 }),
    spellingArbitrary,
    spellingArbitrary
  ).map(([d1, s1, d2, s2, a, b]) => [spell(d1, s1, a), spell(d2, s2, b)] as const)
)

describe("DynamoNumber.equals", () => {
  it("compares by value", () => {
    assert.isTrue(DynamoNumber.equals("1.0", "1"))
    assert.isTrue(DynamoNumber.equals("-0", "0.000"))
    assert.isTrue(DynamoNumber.equals("1.5E2", "150"))
    assert.isTrue(DynamoNumber.equals("+1", "1"))
    assert.isFalse(DynamoNumber.equals("1", "-1"))
    assert.isFalse(DynamoNumber.equals("1", "10"))
    assert.isFalse(DynamoNumber.equals("0.1", "0.10000000000000000000000000000000000001"))
  })

  it.prop("agrees with exact rational comparison", [pairArbitrary], ([[a, b]]) => {
    assert.strictEqual(DynamoNumber.equals(a, b), sameValue(rational(a), rational(b)), `${a} vs ${b}`)
    assert.strictEqual(DynamoNumber.equals(a, b), DynamoNumber.equals(b, a))
  }, { fastCheck: { numRuns } })
})

describe("DynamoNumber.toExactNumber", () => {
  it("converts numbers a double holds exactly in decimal", () => {
    assert.strictEqual(DynamoNumber.toExactNumber("0.1"), 0.1)
    assert.strictEqual(DynamoNumber.toExactNumber("-12.5"), -12.5)
    assert.strictEqual(DynamoNumber.toExactNumber("1.50E2"), 150)
    assert.strictEqual(DynamoNumber.toExactNumber("9007199254740992"), 9007199254740992)
    assert.strictEqual(DynamoNumber.toExactNumber("123456789012345678"), undefined)
    assert.strictEqual(DynamoNumber.toExactNumber("0.30000000000000004"), 0.30000000000000004)
    // 1E+300 is out of DynamoDB's range, but the double 1e300 reads back as the same decimal.
    assert.strictEqual(DynamoNumber.toExactNumber("1E+300"), 1e300)
    assert.strictEqual(DynamoNumber.toExactNumber("5E-324"), 5e-324)
  })

  it("gives zero for every zero", () => {
    for (const text of ["0", "-0", "0.000", "0E+999"]) {
      assert.isTrue(Object.is(DynamoNumber.toExactNumber(text), 0), text)
    }
  })

  it("refuses numbers a double would change", () => {
    for (
      const text of [
        "9007199254740993",
        "12345678901234567890123456789012345678",
        "0.1000000000000000055511151231257827",
        "1E+400",
        "-1E+400",
        "1E-400",
        "3E-324",
        "0.12345678901234567"
      ]
    ) {
      assert.isUndefined(DynamoNumber.toExactNumber(text), text)
    }
  })

  it("refuses text that is not a number", () => {
    for (const text of ["", "abc", " 1", "0x10", "Infinity", "NaN", "1e"]) {
      assert.isUndefined(DynamoNumber.toExactNumber(text), text)
    }
  })

  const smallTextArbitrary = fc.oneof(textArbitrary(20, 30), textArbitrary(17, 330), validTextArbitrary)

  it.prop("returns a number only when the number reads back as the same decimal", [smallTextArbitrary], ([text]) => {
    const value = DynamoNumber.toExactNumber(text)
    const double = Number(text)
    // The doc's promise, both ways: a number exactly when `String(number)` is the same decimal value.
    const expected = Number.isFinite(double) && sameValue(rational(String(double)), rational(text))
    assert.strictEqual(value !== undefined, expected, text)
    if (value !== undefined) {
      assert.strictEqual(DynamoNumber.canonical(String(value)), DynamoNumber.canonical(text), text)
      assert.isTrue(Object.is(value, double) || (value === 0 && double === 0), text)
    }
  }, { fastCheck: { numRuns } })
})
