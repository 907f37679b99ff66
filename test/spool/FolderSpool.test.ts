/**
 * The Spool contract against a local folder, and what only a folder can get wrong: appends cut short by a crash,
 * segments the state does not cover, a damaged or missing state, segment sizes.
 */
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Either, Option, Stream } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import * as FolderSpool from "../../adapters/node/FolderSpool.ts"
import * as CaptureState from "../../core/CaptureState.ts"
import * as SpoolCodec from "../../core/SpoolCodec.ts"
import { type SpoolLocation, testSpool } from "../contract/SpoolContract.ts"
import { history } from "./support/Arbitraries.ts"
import { tempDir } from "./support/TempDir.ts"

const segmentsIn = async (folder: string) =>
  (await fs.readdir(folder)).filter((name) => SpoolCodec.segmentNumber(name) !== undefined).sort()

const location = (folder: string, segmentBytes: number): SpoolLocation => ({
  open: FolderSpool.make({ folder, segmentBytes }),
  crashDuringAppend: (text) =>
    Effect.promise(async () => {
      const last = (await segmentsIn(folder)).pop() ?? SpoolCodec.segmentName(1)
      const bytes = Buffer.from(text, "utf8")
      await fs.appendFile(path.join(folder, last), bytes.subarray(0, Math.floor(bytes.length / 2)))
    }),
  damageLastSegment: Effect.promise(async () => {
    const last = (await segmentsIn(folder)).pop()!
    const file = path.join(folder, last)
    const { size } = await fs.stat(file)
    await fs.writeFile(file, "#".repeat(size - 1) + "\n")
    return last
  })
})

testSpool("local folder", () => ({
  fresh: ({ segmentBytes }) => Effect.map(tempDir("folder-spool"), (folder) => location(folder, segmentBytes))
}))

const appends = history(12)
const elementsOf = (count: number) => appends.slice(0, count).flatMap((append) => append.elements)
const text = (elements: ReadonlyArray<SpoolCodec.Entry>) =>
  elements.map((e) => e._tag === "State" ? "" : SpoolCodec.encodeElement(e))
const appendText = (i: number) => Either.getOrThrow(SpoolCodec.encodeAppend(appends[i]!.elements, appends[i]!.state))

describe("FolderSpool", () => {
  it.scopedLive("cuts away a torn append, and appends go on where the last durable one ended", () =>
    Effect.gen(function* () {
      const folder = yield* tempDir("folder-spool")
      const spool = yield* FolderSpool.make({ folder })
      for (const { elements, state } of appends.slice(0, 4)) yield* spool.append(elements, state)
      const [segment] = yield* Effect.promise(() => segmentsIn(folder))
      const file = path.join(folder, segment!)
      const durable = (yield* Effect.promise(() => fs.stat(file))).size
      yield* Effect.promise(() => fs.appendFile(file, `{"_tag":"Batch","shardId":"shardId-0-a","seq`))
      const reopened = yield* FolderSpool.make({ folder })
      assert.strictEqual((yield* Effect.promise(() => fs.stat(file))).size, durable)
      assert.isTrue(CaptureState.equals(Option.getOrThrow(yield* reopened.state), appends[3]!.state))
      yield* reopened.append(appends[4]!.elements, appends[4]!.state)
      const read = Chunk.toReadonlyArray(yield* Stream.runCollect(reopened.read))
      assert.deepStrictEqual(text(read), text(elementsOf(5)))
    }))

  it.scopedLive("a whole append whose state.json was not written is not durable: it is cut away", () =>
    Effect.gen(function* () {
      const folder = yield* tempDir("folder-spool")
      const spool = yield* FolderSpool.make({ folder })
      yield* spool.append(appends[0]!.elements, appends[0]!.state)
      const file = path.join(folder, SpoolCodec.segmentName(1))
      yield* Effect.promise(() => fs.appendFile(file, appendText(1)))
      const reopened = yield* FolderSpool.make({ folder })
      assert.isTrue(CaptureState.equals(Option.getOrThrow(yield* reopened.state), appends[0]!.state))
      assert.deepStrictEqual(
        text(Chunk.toReadonlyArray(yield* Stream.runCollect(reopened.read))),
        text(elementsOf(1))
      )
    }))

  it.scopedLive("removes segments past the one state.json names, and every segment when there is no state.json", () =>
    Effect.gen(function* () {
      const folder = yield* tempDir("folder-spool")
      const spool = yield* FolderSpool.make({ folder, segmentBytes: 1 })
      for (const { elements, state } of appends.slice(0, 3)) yield* spool.append(elements, state)
      assert.strictEqual((yield* Effect.promise(() => segmentsIn(folder))).length, 3)
      yield* Effect.promise(() => fs.writeFile(path.join(folder, SpoolCodec.segmentName(4)), appendText(3)))
      const reopened = yield* FolderSpool.make({ folder, segmentBytes: 1 })
      assert.deepStrictEqual(yield* Effect.promise(() => segmentsIn(folder)), [1, 2, 3].map(SpoolCodec.segmentName))
      assert.isTrue(CaptureState.equals(Option.getOrThrow(yield* reopened.state), appends[2]!.state))

      // A crash during the very first append: a segment, no state.json.
      const other = yield* tempDir("folder-spool")
      yield* Effect.promise(() => fs.writeFile(path.join(other, SpoolCodec.segmentName(1)), appendText(0)))
      const empty = yield* FolderSpool.make({ folder: other })
      assert.isTrue(Option.isNone(yield* empty.state))
      assert.deepStrictEqual(yield* Effect.promise(() => segmentsIn(other)), [])
    }))

  it.scopedLive("starts a new segment past segmentBytes; an append is never split", () =>
    Effect.gen(function* () {
      const folder = yield* tempDir("folder-spool")
      const sizes = appends.map((_, i) => Buffer.byteLength(appendText(i)))
      const segmentBytes = Math.max(...sizes) * 2 + 10
      const spool = yield* FolderSpool.make({ folder, segmentBytes })
      for (const { elements, state } of appends) yield* spool.append(elements, state)
      const names = yield* Effect.promise(() => segmentsIn(folder))
      assert.isAbove(names.length, 3)
      for (const name of names) {
        const content = yield* Effect.promise(() => fs.readFile(path.join(folder, name), "utf8"))
        assert.isAtMost(Buffer.byteLength(content), segmentBytes)
        assert.isTrue(content.endsWith("\n") && content.trimEnd().split("\n").pop()!.startsWith(`{"_tag":"State"`))
      }
      const head = Either.getOrThrow(
        SpoolCodec.decodeHead(yield* Effect.promise(() => fs.readFile(path.join(folder, "state.json"), "utf8")))
      )
      assert.strictEqual(head.segment, names.length)
      assert.isTrue(CaptureState.equals(head.state, appends[appends.length - 1]!.state))
    }))

  it.scopedLive("a damaged state.json fails every operation but clear, saying what is wrong", () =>
    Effect.gen(function* () {
      const folder = yield* tempDir("folder-spool")
      const spool = yield* FolderSpool.make({ folder })
      yield* spool.append(appends[0]!.elements, appends[0]!.state)
      yield* Effect.promise(() => fs.writeFile(path.join(folder, "state.json"), `{"version":1,"segment":`))
      const damaged = yield* FolderSpool.make({ folder })
      const failure = yield* Effect.flip(damaged.state)
      assert.include(failure.message, "state.json is not what backstream writes")
      assert.include(failure.message, "start again with a new backfill")
      assert.strictEqual((yield* Effect.flip(Stream.runDrain(damaged.read)))._tag, "SpoolFailure")
      assert.strictEqual((yield* Effect.flip(damaged.append([], appends[0]!.state)))._tag, "SpoolFailure")
      yield* damaged.clear
      assert.isTrue(Option.isNone(yield* damaged.state))
      assert.deepStrictEqual(yield* Effect.promise(() => fs.readdir(folder)), [])
    }))

  it.scopedLive("a segment shorter than state.json says, or missing, is damage", () =>
    Effect.gen(function* () {
      const folder = yield* tempDir("folder-spool")
      const spool = yield* FolderSpool.make({ folder, segmentBytes: 1 })
      for (const { elements, state } of appends.slice(0, 3)) yield* spool.append(elements, state)
      yield* Effect.promise(() => fs.truncate(path.join(folder, SpoolCodec.segmentName(3)), 10))
      const short = yield* Effect.flip((yield* FolderSpool.make({ folder })).state)
      assert.include(short.message, `${SpoolCodec.segmentName(3)} holds 10 bytes, state.json says`)
      yield* Effect.promise(() => fs.rm(path.join(folder, SpoolCodec.segmentName(1))))
      const missing = yield* Effect.flip((yield* FolderSpool.make({ folder })).state)
      assert.include(missing.message, `${SpoolCodec.segmentName(1)} is missing`)
    }))
})
