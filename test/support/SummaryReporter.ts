import type { Reporter, TestModule } from "vitest/node"

/** Prints, as the run's last line, the plain, `tests: N passed, N failed, N skipped`, that any CI can read. */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>) {
    let passed = 0, failed = 0, skipped = 0
    for (const module of modules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state
        if (state === "passed") passed++
        else if (state === "failed") failed++
        else skipped++
      }
      if (module.state() === "failed" && [...module.children.allTests()].length === 0) failed++
    }
    // After the default reporter's own summary, so that it is the run's closing line.
    process.once("exit", () => console.log(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped`))
  }
}
