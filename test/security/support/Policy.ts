/**
 * The least-privilege policy the product documents, and assertions over the emulator's request log: which actions a
 * caller (by its access key id) used, none outside the policy, the expected ones present.
 */
import { assert } from "@effect/vitest"
import type { LoggedRequest } from "../../../emulator/Emulator.ts"

/** The documented least-privilege policy (README, DESIGN.md): exactly these, nothing else. */
export const POLICY: ReadonlySet<string> = new Set([
  "dynamodb:GetShardIterator",
  "dynamodb:DescribeStream",
  "dynamodb:GetRecords",
  "dynamodb:ListStreams",
  "dynamodb:DescribeContinuousBackups",
  "dynamodb:DescribeTable",
  "dynamodb:ListExports",
  "dynamodb:DescribeExport",
  "dynamodb:ExportTableToPointInTime",
  "s3:ListBucket",
  "s3:GetObject",
  "s3:PutObject",
  "s3:GetBucketLocation"
])

/** What a replication cannot do without: the audit is not vacuous. */
export const CORE = [
  "dynamodb:DescribeTable",
  "dynamodb:ExportTableToPointInTime",
  "dynamodb:DescribeExport",
  "dynamodb:DescribeStream",
  "dynamodb:GetShardIterator",
  "dynamodb:GetRecords",
  "s3:GetObject"
]

export const counts = (entries: ReadonlyArray<LoggedRequest>, accessKeyId: string): Map<string, number> => {
  const out = new Map<string, number>()
  for (const entry of entries) {
    if (entry.accessKeyId === accessKeyId) out.set(entry.action, (out.get(entry.action) ?? 0) + 1)
  }
  return out
}

export const listed = (used: ReadonlyMap<string, number>) =>
  [...used].sort(([a], [b]) => a.localeCompare(b)).map(([action, n]) => `${action} ×${n}`).join(", ")

/** Fails with every action outside the policy and how many times it was called. */
export const assertWithinPolicy = (who: string, used: ReadonlyMap<string, number>) => {
  const outside = new Map([...used].filter(([action]) => !POLICY.has(action)))
  assert.strictEqual(
    outside.size,
    0,
    `${who} called actions outside the least-privilege policy: ${listed(outside)} (all: ${listed(used)})`
  )
}

export const assertUsed = (who: string, used: ReadonlyMap<string, number>, actions: ReadonlyArray<string>) => {
  const missing = actions.filter((action) => !used.has(action))
  assert.deepStrictEqual(missing, [], `${who} never called ${missing.join(", ")} (all: ${listed(used)})`)
}

/** Every request of the log has a caller: none escapes the audit unattributed. */
export const assertAttributed = (entries: ReadonlyArray<LoggedRequest>) => {
  const anonymous = entries.filter((entry) => entry.accessKeyId === undefined)
  assert.deepStrictEqual(anonymous.map((entry) => entry.action), [], "requests without a caller in the log")
}
