/**
 * The AWS adapters' contract suites against the emulator in-process, the emulator started by the command line, and
 * moto_server (StreamSource and ObjectStore only: moto has no PITR window or export to check TableControl against);
 * and interruption aborting an in-flight request.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Context, Duration, Effect, Exit, Fiber, Layer, Scope } from "effect"
import * as net from "node:net"
import * as AwsClients from "../../adapters/aws/AwsClients.ts"
import * as AwsStreamSource from "../../adapters/aws/AwsStreamSource.ts"
import { StreamSource } from "../../core/StreamSource.ts"
import * as EmulatorInstance from "../../emulator/EmulatorInstance.ts"
import * as NodeServer from "../../emulator/NodeServer.ts"
import { type AwsTarget, emulatorAdmin, objectStoreTarget } from "../contract/AwsTarget.ts"
import { testObjectStore } from "../contract/ObjectStoreContract.ts"
import { testStreamSource } from "../contract/StreamSourceContract.ts"
import { testTableControl } from "../contract/TableControlContract.ts"
import { credentials } from "../emulator/support/sdk.ts"
import { motoOnPath, type RunningMoto, startMoto } from "../emulator/support/moto.ts"
import { type RunningEmulator, startEmulatorProcess } from "../support/EmulatorProcess.ts"

/**
 * A TCP proxy in front of `upstream`, scoped: it tells when a client's connection closes, which is how an aborted
 * HTTP request shows on the wire.
 */
const proxy = (upstream: URL) =>
  Effect.acquireRelease(
    Effect.async<{ readonly server: net.Server; readonly url: string; readonly closed: Promise<void> }>((resume) => {
      let onClose: () => void = () => {}
      const closed = new Promise<void>((resolve) => (onClose = resolve))
      const server = net.createServer((client) => {
        const target = net.connect(Number(upstream.port), upstream.hostname)
        client.pipe(target).pipe(client)
        client.on("error", () => target.destroy())
        target.on("error", () => client.destroy())
        client.on("close", () => {
          target.destroy()
          onClose()
        })
      })
      server.listen(0, "127.0.0.1", () =>
        resume(Effect.succeed({
          server,
          url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
          closed
        })))
    }),
    ({ server }) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
  )

describe("AWS adapters against the in-process emulator", () => {
  let scope: Scope.CloseableScope
  let target: AwsTarget
  beforeAll(async () => {
    scope = await Effect.runPromise(Scope.make())
    const server = await Effect.runPromise(
      EmulatorInstance.make({ clock: "virtual", exportDurationMs: 60_000 }).pipe(
        Effect.flatMap((instance) => NodeServer.serve(instance.emulator)),
        Scope.extend(scope)
      )
    )
    target = { url: server.url, admin: emulatorAdmin(server.url) }
  })
  afterAll(() => Effect.runPromise(Scope.close(scope, Exit.void)))
  testStreamSource("emulator in-process", "emulator", () => target)
  testTableControl("emulator in-process", () => target)
  testObjectStore("emulator in-process", "emulator", () => objectStoreTarget(target))

  it.live("interrupting a call aborts its HTTP request", () =>
    Effect.gen(function* () {
      const admin = target.admin!
      const wire = yield* proxy(new URL(target.url))
      // On the virtual clock a delayed answer waits until the clock moves: the request hangs until it is aborted.
      yield* Effect.promise(() => admin.addFault({ kind: "delay", action: "ListStreams", delayMs: 3_600_000 }))
      const services = yield* Layer.build(
        AwsStreamSource.layer.pipe(
          Layer.provide(AwsClients.layer({ endpoint: wire.url, region: "us-east-1", credentials }))
        )
      )
      const source = Context.get(services, StreamSource)
      const fiber = yield* Effect.fork(source.listStreams({}))
      while ((yield* Effect.promise(() => admin.faults()))[0]?.applied !== 1) yield* Effect.sleep("10 millis")
      const exit = yield* Fiber.interrupt(fiber)
      assert.isTrue(Exit.isInterrupted(exit))
      yield* Effect.promise(() => wire.closed).pipe(
        Effect.timeoutFail({
          duration: Duration.seconds(20),
          onTimeout: () => new Error("the connection stayed open: the HTTP request was not aborted")
        })
      )
      yield* Effect.promise(() => admin.clearFaults())
      yield* Effect.promise(() => admin.advance(3_600_000))
    }).pipe(Effect.scoped))
})

describe("AWS adapters against the emulator started by the command line", () => {
  let emulator: RunningEmulator
  let target: AwsTarget
  beforeAll(async () => {
    emulator = await startEmulatorProcess(["--clock", "virtual", "--export-seconds", "60"])
    target = { url: emulator.url, admin: emulatorAdmin(emulator.url) }
  })
  afterAll(() => emulator?.stop())
  testStreamSource("emulator process", "emulator", () => target)
  testTableControl("emulator process", () => target)
  testObjectStore("emulator process", "emulator", () => objectStoreTarget(target))
})

if (!motoOnPath) console.warn("AwsAdapters.test.ts: moto_server is not on PATH, skipping (pip install 'moto[server]')")

describe.skipIf(!motoOnPath)(
  motoOnPath
    ? "AWS adapters against moto_server"
    : "AWS adapters against moto_server (skipped: moto_server not on PATH)",
  () => {
    let moto: RunningMoto
    let target: AwsTarget
    beforeAll(async () => {
      moto = await startMoto()
      target = { url: moto.url }
    })
    afterAll(() => moto?.stop())
    testStreamSource("moto", "moto", () => target)
    testObjectStore("moto", "moto", () => objectStoreTarget(target))
  }
)
