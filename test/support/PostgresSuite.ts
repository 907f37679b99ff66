/**
 * Suites that need a real Postgres server (see {@link Postgres.start}).
 */
import { describe } from "@effect/vitest"
import * as Postgres from "./Postgres.ts"

/**
 * A `describe` for suites that need a real server: runs them when a server binary exists; otherwise fails them under
 * CI and skips them elsewhere, with a notice on the console and in the suite's name.
 */
export const describeWithPostgres = (name: string, body: () => void): void => {
  if (Postgres.binDir() !== undefined) {
    describe(name, body)
    return
  }
  if (process.env.CI !== undefined && process.env.CI !== "" && process.env.CI !== "false") {
    throw new Error(`${name}: ${Postgres.missingMessage}`)
  }
  console.warn(`NOTICE: skipping "${name}": ${Postgres.missingMessage}`)
  describe.skip(`${name} (skipped: ${Postgres.missingMessage})`, body)
}
