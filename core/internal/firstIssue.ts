/** The first issue of a Schema parse error, as `$.json.path: message`. */
import { ParseResult } from "effect"

export const firstIssue = (error: ParseResult.ParseError): string => {
  const [issue] = ParseResult.ArrayFormatter.formatErrorSync(error)
  if (issue === undefined) return error.message
  return `${
    ["$", ...issue.path.map((p) => typeof p === "number" ? `[${p}]` : `.${String(p)}`)].join("")
  }: ${issue.message}`
}
