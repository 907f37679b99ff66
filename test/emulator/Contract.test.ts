import { afterAll, beforeAll, describe } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import * as EmulatorInstance from "../../emulator/EmulatorInstance.ts"
import * as NodeServer from "../../emulator/NodeServer.ts"
import { adminTarget, type StreamsContractTarget, testStreamsContract } from "../contract/StreamsContract.ts"
import { type RunningEmulator, startEmulatorProcess } from "../support/EmulatorProcess.ts"

describe("in-process emulator over HTTP", () => {
  let scope: Scope.CloseableScope
  let target: StreamsContractTarget
  beforeAll(async () => {
    scope = await Effect.runPromise(Scope.make())
    const server = await Effect.runPromise(
      EmulatorInstance.make({ clock: "virtual", exportDurationMs: 60_000 }).pipe(
        Effect.flatMap((instance) => NodeServer.serve(instance.emulator)),
        Scope.extend(scope)
      )
    )
    target = adminTarget(server.url)
  })
  afterAll(() => Effect.runPromise(Scope.close(scope, Exit.void)))
  testStreamsContract("emulator in-process", () => target)
})

describe("emulator started by the command line", () => {
  let emulator: RunningEmulator
  let target: StreamsContractTarget
  beforeAll(async () => {
    emulator = await startEmulatorProcess(["--clock", "virtual", "--export-seconds", "60"])
    target = adminTarget(emulator.url)
  })
  afterAll(() => emulator.stop())
  testStreamsContract("emulator process", () => target)
})
