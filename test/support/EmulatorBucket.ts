/**
 * An emulator in-process on a virtual clock with one S3 bucket, for the suites of ports kept in S3 (checkpoints,
 * spools): started before the file's tests, stopped after them, reached through the real AWS adapter.
 */
import { CreateBucketCommand } from "@aws-sdk/client-s3"
import { afterAll, beforeAll } from "@effect/vitest"
import { Context, Effect, Exit, Layer, Scope } from "effect"
import * as AwsObjectStore from "../../adapters/aws/AwsObjectStore.ts"
import { ObjectStore } from "../../core/ObjectStore.ts"
import * as EmulatorInstance from "../../emulator/EmulatorInstance.ts"
import * as NodeServer from "../../emulator/NodeServer.ts"
import { clientsLayer } from "../contract/AwsTarget.ts"
import { clients } from "../emulator/support/sdk.ts"

export const emulatorBucket = (bucket: string) => {
  let scope: Scope.CloseableScope
  let url: string
  beforeAll(async () => {
    scope = await Effect.runPromise(Scope.make())
    const server = await Effect.runPromise(
      EmulatorInstance.make({ clock: "virtual" }).pipe(
        Effect.flatMap((instance) => NodeServer.serve(instance.emulator)),
        Scope.extend(scope)
      )
    )
    url = server.url
    const sdk = clients(url)
    await sdk.s3.send(new CreateBucketCommand({ Bucket: bucket })).finally(() => sdk.s3.destroy())
  })
  afterAll(() => Effect.runPromise(Scope.close(scope, Exit.void)))
  return {
    /** The emulator's URL (once the file's tests have started). */
    url: () => url,
    /** The bucket through the AWS S3 adapter, its clients closed with the caller's scope. */
    store: Effect.suspend(() =>
      Layer.build(AwsObjectStore.layer({ bucket }).pipe(Layer.provide(clientsLayer({ url }))))
    ).pipe(Effect.map((context) => Context.get(context, ObjectStore)))
  }
}
