import { assert, describe, it } from "@effect/vitest"
import { Either } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll } from "vitest"
import * as AV from "../../core/AttributeValue.ts"
import * as DynamoJson from "../../core/DynamoJson.ts"
import * as Envelope from "../../core/Envelope.ts"
import * as LocalExportWriter from "../../adapters/node/LocalExportWriter.ts"
import { repoRoot, runDeno, runNode } from "./run.ts"

const bytes = (...values: Array<number>) => Uint8Array.from(values)
const item = (id: number): AV.Item =>
  AV.item({
    pk: AV.s(`user#${id}`),
    sk: AV.n(String(id)),
    big: AV.n("-12345678901234567890123456789012345678E+88"),
    tiny: AV.n("1E-130"),
    text: AV.s('héllo 🚀 "quoted" \n newline'),
    bin: AV.b(bytes(0, 255, id)),
    flag: AV.bool(id % 2 === 0),
    nothing: AV.nul,
    map: AV.m(AV.item([["odd name", AV.s("x")], ["__proto__", AV.n("1")], ["nested", AV.l([AV.ns(["1", "2"])])]])),
    list: AV.l([AV.s(""), AV.b(new Uint8Array(0)), AV.m(new Map())]),
    ss: AV.ss(["a", "b"]),
    ns: AV.ns(["0.1", "99999999999999999999999999999999999999"]),
    bs: AV.bs([bytes(1), bytes(2, 3)])
  })

let root: string
let full: LocalExportWriter.WrittenExport
let incremental: LocalExportWriter.WrittenExport
const items = Array.from({ length: 9 }, (_, i) => item(i))
const target = () => ({ root, bucket: "b", prefix: "some/prefix", tableArn: "arn:aws:dynamodb:us-east-1:1:table/t" })

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "backstream-cli-"))
  full = await LocalExportWriter.writeFullExport(target(), 1_700_000_000_000, [items.slice(0, 4), [], items.slice(4)])
  const updated = new Map(items[0]!).set("text", AV.s("changed")).set("extra", AV.ns(["1"]))
  const keys = (i: AV.Item) => new Map([["pk", i.get("pk")!], ["sk", i.get("sk")!]])
  incremental = await LocalExportWriter.writeIncrementalExport(
    target(),
    { fromMs: 1_700_000_000_000, toMs: 1_700_000_900_000 },
    "NEW_AND_OLD_IMAGES",
    [
      [{ writeTimestampMicros: "1700000000000001", keys: keys(items[0]!), oldImage: items[0]!, newImage: updated }],
      [{ writeTimestampMicros: "1700000000000002", keys: keys(items[2]!), oldImage: items[2]! }],
      [{ writeTimestampMicros: "1700000000000003", keys: keys(items[3]!), newImage: items[3]! }]
    ]
  )
})

afterAll(() => fs.rmSync(root, { recursive: true, force: true }))

const decodeAll = (stdout: string) =>
  stdout.trimEnd().split("\n").map((line) => Either.getOrThrowWith(Envelope.decode(line), (e) => new Error(e.message)))

// Every test reads its own process's output from exports that no test changes: they run concurrently.
describe.concurrent("export read", { timeout: 180_000 }, () => {
  it("prints every item of a full export as an r event, losslessly, and exits 0", async () => {
    const run = await runNode("export", "read", full.directory, "--key", "pk,sk")
    assert.strictEqual(run.code, 0, run.stderr)
    const events = decodeAll(run.stdout)
    assert.strictEqual(events.length, items.length)
    events.forEach((event, i) => {
      assert.strictEqual(event.op, "r")
      assert.isTrue(AV.itemEquals(event.newImage!, items[i]!))
      assert.strictEqual(
        JSON.stringify(DynamoJson.encodeItem(event.newImage!)),
        JSON.stringify(DynamoJson.encodeItem(items[i]!))
      )
      assert.deepStrictEqual([...event.key!.keys()], ["pk", "sk"])
      assert.strictEqual(event.timestampMs, 1_700_000_000_000)
    })
    assert.match(run.stderr, /9 events from 3 data files \(r=9\), all verified/)
  })

  it("prints an incremental export's changes as c, u and d events", async () => {
    const run = await runNode("export", "read", path.join(incremental.directory, "manifest-summary.json"))
    assert.strictEqual(run.code, 0, run.stderr)
    const events = decodeAll(run.stdout)
    assert.deepStrictEqual(events.map((e) => e.op), ["u", "d", "c"])
    assert.isTrue(AV.itemEquals(events[0]!.oldImage!, items[0]!))
    assert.deepStrictEqual(events[0]!.newImage!.get("text"), AV.s("changed"))
    assert.isUndefined(events[1]!.newImage)
    assert.isUndefined(events[2]!.oldImage)
    assert.deepStrictEqual(events.map((e) => e.position._tag === "Export" && e.position.writeTimestampMicros), [
      "1700000000000001",
      "1700000000000002",
      "1700000000000003"
    ])
  })

  it("writes plain JSON with --format plain: exact numbers stay numbers, others strings", async () => {
    const run = await runNode("export", "read", full.directory, "--format", "plain", "--key", "pk,sk")
    assert.strictEqual(run.code, 0, run.stderr)
    const first = JSON.parse(run.stdout.split("\n")[0]!)
    assert.deepStrictEqual(first.key, { pk: "user#0", sk: 0 })
    assert.strictEqual(first.after.big, "-12345678901234567890123456789012345678E+88")
    assert.deepStrictEqual(first.after.ns, [0.1, "99999999999999999999999999999999999999"])
    assert.deepStrictEqual(first.after.bin, "AP8A")
    assert.deepStrictEqual(Object.entries(first.after.map), [["odd name", "x"], ["__proto__", 1], ["nested", [[1, 2]]]])
  })

  it("gives the same output on Deno as on Node", async () => {
    const runs = await Promise.all(
      [["export", "read", full.directory, "--key", "pk,sk"], [
        "export",
        "read",
        incremental.directory,
        "--format",
        "plain"
      ]].map((args) => Promise.all([runNode(...args), runDeno(...args)]))
    )
    for (const [node, deno] of runs) {
      assert.strictEqual(deno.code, 0, deno.stderr)
      assert.strictEqual(deno.stdout, node.stdout)
      assert.strictEqual(deno.stderr, node.stderr)
    }
  })

  it("fails with exit 1 and a message naming the file and line when a data file is damaged", async () => {
    const copy = fs.mkdtempSync(path.join(os.tmpdir(), "backstream-cli-bad-"))
    try {
      fs.cpSync(root, copy, { recursive: true })
      const manifest = fs.readFileSync(path.join(full.directory.replace(root, copy), "manifest-files.json"), "utf8")
      const dataKey = JSON.parse(manifest.split("\n")[0]!).dataFileS3Key as string
      const lines = fs.readFileSync(path.join(copy, dataKey))
      fs.writeFileSync(
        path.join(copy, dataKey),
        LocalExportWriter.gzipLikeAws(`{"Item":{"pk":{"S":"x"}}}\n{"Item":{"pk":{"Q":"x"}}}\n`)
      )
      assert.isAbove(lines.length, 0)
      const run = await runNode("export", "read", full.directory.replace(root, copy))
      assert.strictEqual(run.code, 1)
      assert.include(run.stderr, `error: data file ${dataKey}`)
      assert.notMatch(run.stderr, /\n\s+at /, "no stack trace for a user error")
    } finally {
      fs.rmSync(copy, { recursive: true, force: true })
    }
  })

  it("explains a path that is not an export, with exit 1", async () => {
    const [run, folder] = await Promise.all([
      runNode("export", "read", path.join(root, "nowhere")),
      runNode("export", "read", root)
    ])
    assert.strictEqual(run.code, 1)
    assert.match(run.stderr, /error: .*nowhere: no such file or folder/)
    assert.strictEqual(folder.code, 1)
    assert.match(folder.stderr, /there is no manifest-summary.json here/)
  })

  it("rejects a bad --key and an unknown flag with exit 2", async () => {
    const [key, flag] = await Promise.all([
      runNode("export", "read", full.directory, "--key", "a,b,c"),
      runNode("export", "read", full.directory, "--no-such-flag")
    ])
    assert.strictEqual(key.code, 2)
    assert.match(key.stderr, /--key "a,b,c": expected HASH\[,RANGE\]/)
    assert.strictEqual(flag.code, 2)
  })
})

const real = path.resolve(repoRoot, "../shared/aws-real-exports/ddb-pitr-2026-01-eu-north-1")
const hasReal = fs.existsSync(real)
if (!hasReal) {
  console.warn(`skipped: the real AWS export sample (${real}) is not present (it is not part of a user's clone)`)
}

describe.skipIf(!hasReal)("export read on a real AWS export (../shared/aws-real-exports)", {
  concurrent: true,
  timeout: 180_000
}, () => {
  const decoded = (name: string) =>
    fs.readFileSync(path.join(real, "decoded", name), "utf8").split("\n").filter((l) => l !== "").map((l) =>
      JSON.parse(l)
    )
  const dataLines = (exportId: string, folder: string) => {
    const manifest = fs.readFileSync(path.join(real, "AWSDynamoDB", exportId, "manifest-files.json"), "utf8")
    return manifest.trim().split("\n").flatMap((line) => {
      const key: string = JSON.parse(line).dataFileS3Key
      return decoded(`${folder}${path.basename(key).replace(".json.gz", ".jsonl")}`)
    })
  }

  for (
    const [exportId, folder, ops] of [
      ["01768385930622-efd1a093", "01768385930622-efd1a093_data_", "rrr"],
      ["01768386924000-d339e52d", "data_", "cccccc"],
      ["01768388186000-4a2fc3ff", "data_", "dduc" + "u"]
    ] as const
  ) {
    it(`reads ${exportId} exactly as its decoded lines say`, async () => {
      const run = await runNode("export", "read", path.join(real, "AWSDynamoDB", exportId), "--key", "pk,sk")
      assert.strictEqual(run.code, 0, run.stderr)
      const events = run.stdout.trimEnd().split("\n").map((line) => JSON.parse(line))
      const lines = dataLines(exportId, folder)
      assert.strictEqual(events.length, lines.length)
      events.forEach((event, i) => {
        const line = lines[i]
        if (line.Item !== undefined) {
          assert.deepStrictEqual(event.after, line.Item)
          assert.deepStrictEqual(event.key, { pk: line.Item.pk, sk: line.Item.sk })
        } else {
          assert.deepStrictEqual(event.key, line.Keys)
          assert.deepStrictEqual(event.after, line.NewImage ?? null)
          assert.deepStrictEqual(event.before, line.OldImage ?? null)
          assert.strictEqual(event.source.write_timestamp_us, line.Metadata.WriteTimestampMicros.N)
        }
      })
      assert.strictEqual(events.map((e) => e.op).join(""), ops)
    })
  }
})
