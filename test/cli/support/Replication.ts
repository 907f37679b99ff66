/**
 * For the `run` and `check` suites: the CLI as a subprocess with an AWS environment pointed at an emulator process,
 * tables and writes made with the SDK, and the table and its replicas read back for item-by-item comparison. The
 * helpers live in test/support/CliProcess.ts, free of the test framework, so that the bench can load them too.
 */
export {
  adminPost,
  ATTRIBUTES,
  awsEnv,
  clearFaults,
  duplicates,
  type Finished,
  KEY_SCHEMA,
  readEvents,
  replayFile,
  runCli,
  type Running,
  source,
  spawnCli,
  waitFor
} from "../../support/CliProcess.ts"
