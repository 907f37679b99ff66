/**
 * The size DynamoDB bills for an item in DynamoDB JSON (names and values in bytes, numbers by significant digits,
 * 3 bytes plus 1 per element for lists and maps), which a stream record reports as `SizeBytes`.
 */

/** An item as DynamoDB JSON (`{"pk": {"S": "a"}}`), as the table side hands it over. */
export type WireItem = { readonly [name: string]: unknown }

/** The length of a string in UTF-8, counted without encoding it (a lone surrogate counts 3, as its U+FFFD). */
const utf8 = (text: string): number => {
  let bytes = text.length
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code < 0x80) continue
    if (code < 0x800) bytes += 1
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1)
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 2
        i++
      } else bytes += 2
    } else bytes += 2
  }
  return bytes
}

const numberSize = (text: string): number => {
  const digits = text.replace(/^[-+]/, "").replace(/[eE].*$/, "").replace(".", "").replace(/^0+/, "").replace(/0+$/, "")
  return Math.ceil(Math.max(digits.length, 1) / 2) + 1
}

const binarySize = (base64: string): number => {
  const padding = base64.endsWith("==") ? 2 : base64.endsWith("=") ? 1 : 0
  return Math.max(0, (base64.length / 4) * 3 - padding)
}

const strings = (value: unknown): ReadonlyArray<string> =>
  Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : []

const valueSize = (value: unknown): number => {
  if (typeof value !== "object" || value === null) return 0
  const [tag, inner] = Object.entries(value)[0] ?? []
  switch (tag) {
    case "S":
      return typeof inner === "string" ? utf8(inner) : 0
    case "N":
      return typeof inner === "string" ? numberSize(inner) : 0
    case "B":
      return typeof inner === "string" ? binarySize(inner) : 0
    case "BOOL":
    case "NULL":
      return 1
    case "SS":
      return strings(inner).reduce((sum, s) => sum + utf8(s), 0)
    case "NS":
      return strings(inner).reduce((sum, s) => sum + numberSize(s), 0)
    case "BS":
      return strings(inner).reduce((sum, s) => sum + binarySize(s), 0)
    case "L":
      return Array.isArray(inner) ? inner.reduce((sum: number, v) => sum + 1 + valueSize(v), 3) : 3
    case "M":
      return typeof inner === "object" && inner !== null
        ? Object.entries(inner).reduce((sum, [k, v]) => sum + 1 + utf8(k) + valueSize(v), 3)
        : 3
    default:
      return 0
  }
}

export const itemSize = (item: WireItem): number =>
  Object.entries(item).reduce((sum, [name, value]) => sum + utf8(name) + valueSize(value), 0)
