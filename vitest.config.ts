import * as os from "node:os"
import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["test/bench/**", "node_modules/**"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // vitest's default, one worker per core but one, is a single worker on a 2-core machine: the test files would run
    // one after the other, while most of them wait on the CLI, emulator and database subprocesses they start.
    maxWorkers: Math.max(2, os.availableParallelism() - 1),
    // Builds the command line's bundle once, before the suites that start it as subprocesses, several at a time.
    globalSetup: ["./test/cli/support/BuildCli.ts"],
    reporters: ["./test/support/SummaryReporter.ts", "default"]
  }
})
