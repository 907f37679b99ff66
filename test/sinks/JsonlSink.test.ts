import { afterAll, assert, describe, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as JsonlSink from "../../adapters/sinks/JsonlSink.ts"
import * as AV from "../../core/AttributeValue.ts"
import * as Envelope from "../../core/Envelope.ts"
import { Sink } from "../../core/Sink.ts"
import { checkpointOf, exactItems, key, snapshot, sourceTable, stream, testSink } from "../contract/SinkContract.ts"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "backstream-jsonl-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

let counter = 0
const fresh = () => path.join(dir, `out-${counter++}.jsonl`)

testSink("JSON lines (file)", () => ({
  fresh,
  layer: (file) => JsonlSink.layer({ path: file }),
  text: (file) => fs.promises.readFile(file, "utf8").catch(() => "")
}), { transactional: false, propertyRuns: 20 })

describe("JsonlSink", () => {
  const source = sourceTable()
  const events = [
    ...exactItems.map((item, i) => snapshot(item, i + 1)),
    stream("u", 1, AV.item({ pk: AV.s("a"), sk: AV.n("1"), v: AV.n("12345678901234567890123456789012345678") })),
    stream("d", 2, key("a"))
  ]
  const writeAll = (options: JsonlSink.JsonlOptions, batches: ReadonlyArray<ReadonlyArray<typeof events[number]>>) =>
    Effect.gen(function* () {
      const sink = yield* Sink
      yield* sink.open(source)
      let n = 0
      for (const batch of batches) yield* sink.write({ events: batch, checkpoint: checkpointOf(source, n++) })
      return sink
    }).pipe(Effect.provide(JsonlSink.layer(options)), Effect.scoped)

  it.live("writes one envelope a line, in order, in either format; at-least-once, no checkpoint of its own", () =>
    Effect.gen(function* () {
      for (const format of Envelope.formats) {
        const file = fresh()
        const sink = yield* writeAll({ path: file, format }, [events.slice(0, 2), [], events.slice(2)])
        assert.strictEqual(sink.description, `jsonl ${file}`)
        assert.isFalse(sink.transactional)
        assert.isTrue(Option.isNone(yield* sink.loadCheckpoint))
        assert.strictEqual(
          fs.readFileSync(file, "utf8"),
          events.map((event) => Envelope.encode(event, format) + "\n").join("")
        )
      }
    }))

  it.live("appends to an existing file, and cuts a torn last line when it opens it", () =>
    Effect.gen(function* () {
      const file = fresh()
      yield* writeAll({ path: file }, [events.slice(0, 1)])
      const whole = fs.readFileSync(file, "utf8")
      fs.appendFileSync(file, Envelope.encode(events[1]!).slice(0, 40))
      yield* writeAll({ path: file }, [events.slice(1, 3)])
      assert.strictEqual(
        fs.readFileSync(file, "utf8"),
        whole + events.slice(1, 3).map((event) => Envelope.encode(event) + "\n").join("")
      )
      const torn = fresh()
      fs.writeFileSync(torn, "x".repeat(200_000))
      yield* writeAll({ path: torn }, [events.slice(0, 1)])
      assert.strictEqual(fs.readFileSync(torn, "utf8"), Envelope.encode(events[0]!) + "\n")
    }))

  it.live("a file that cannot be opened is a clear failure", () =>
    Effect.gen(function* () {
      const failure = yield* Effect.flip(writeAll({ path: path.join(dir, "no-such-folder", "out.jsonl") }, []))
      assert.include(failure.message, "cannot open the file for appending")
      assert.include(failure.message, "no-such-folder")
      assert.isFalse(failure.retryable)
    }))
})
