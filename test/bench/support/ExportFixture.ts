/**
 * A generated export for the benchmarks: deterministic (seeded) items of about 500 bytes of DynamoDB JSON using every
 * attribute type, written once with `LocalExportWriter.writeFullExport` into the benchmark cache, keyed by its
 * parameters.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import * as LocalExportWriter from "../../../adapters/node/LocalExportWriter.ts"
import * as AV from "../../../core/AttributeValue.ts"
import { cacheDir } from "./Harness.ts"

/** Bump when the items change, so that caches are rebuilt. */
const VERSION = 1

export interface FixtureParameters {
  readonly items: number
  readonly files: number
  readonly seed: number
}

export interface Fixture extends FixtureParameters {
  /** The folder that stands for the bucket. */
  readonly bucket: string
  readonly summaryKey: string
  /** Compressed size of the data files. */
  readonly gzipBytes: number
}

/** A seeded PRNG (mulberry32): uniform in [0, 1). */
const prng = (seed: number) => {
  let state = seed >>> 0
  return (): number => {
    state = (state + 0x6d2b79f5) | 0
    let t = Math.imul(state ^ (state >>> 15), 1 | state)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const WORDS = [
  "alpha",
  "bravo",
  "charlie",
  "delta",
  "echo",
  "foxtrot",
  "golf",
  "hotel",
  "india",
  "juliett",
  "kilo",
  "lima",
  "mike",
  "november",
  "oscar",
  "papa",
  "quebec",
  "romeo",
  "sierra",
  "tango",
  "uniform",
  "victor",
  "whiskey",
  "xray",
  "yankee",
  "zulu",
  "café",
  "naïve",
  "Zürich",
  "東京",
  "São Paulo",
  "Ελλάδα",
  "🚀",
  "línea",
  "größe",
  "København"
]

const makeItem = (random: () => number, index: number): AV.Item => {
  const int = (n: number) => Math.floor(random() * n)
  const word = () => WORDS[int(WORDS.length)]!
  const words = (min: number, max: number) => {
    const out: Array<string> = []
    for (let i = min + int(max - min + 1); i > 0; i--) out.push(word())
    return out.join(" ")
  }
  const digits = (n: number) => {
    let out = String(1 + int(9))
    for (let i = 1; i < n; i++) out += String(int(10))
    return out
  }
  const bytes = (min: number, max: number) => {
    const out = new Uint8Array(min + int(max - min + 1))
    for (let i = 0; i < out.length; i++) out[i] = int(256)
    return out
  }
  const number = (): string => {
    switch (int(5)) {
      case 0:
        return (random() < 0.5 ? "-" : "") + digits(38)
      case 1:
        return `${random() < 0.5 ? "-" : ""}${digits(1 + int(8))}.${digits(1 + int(6))}`
      case 2:
        return `${digits(1)}.${digits(1 + int(10))}E${random() < 0.5 ? "-" : "+"}${1 + int(120)}`
      case 3:
        return "0." + "0".repeat(int(5)) + digits(1 + int(20))
      default:
        return String(int(100000))
    }
  }
  const distinct = <A>(make: () => A, key: (a: A) => string, count: number): Array<A> => {
    const out = new Map<string, A>()
    while (out.size < count) {
      const value = make()
      out.set(key(value), value)
    }
    return [...out.values()]
  }
  return AV.item([
    ["pk", AV.s(`user#${digits(8)}`)],
    ["sk", AV.n(String(index))],
    ["name", AV.s(words(1, 3))],
    ["note", AV.s(words(1, 2))],
    ["amount", AV.n(number())],
    ["payload", AV.b(bytes(4, 14))],
    ["active", AV.bool(random() < 0.5)],
    ["archived", AV.nul],
    [
      "address",
      AV.m(AV.item([
        ["street", AV.s(`${int(999) + 1} ${word()}`)],
        ["city", AV.s(word())],
        ["zip", AV.n(digits(5))]
      ]))
    ],
    ["history", AV.l([AV.s(word()), AV.n(number()), AV.bool(random() < 0.5), AV.nul])],
    ["labels", AV.ss(distinct(word, (w) => w, 2 + int(2)))],
    ["scores", AV.ns(distinct(() => String(int(1000)), (n) => n, 2 + int(2)))],
    ["digests", AV.bs(distinct(() => bytes(6, 10), (b) => b.join(","), 1 + int(2)))]
  ])
}

function* partition(seed: number, from: number, to: number): Iterable<AV.Item> {
  const random = prng(seed)
  for (let i = from; i < to; i++) yield makeItem(random, i)
}

const fixtureDirectory = (p: FixtureParameters) =>
  path.join(cacheDir, `export-${p.items}-items-${p.files}-files-seed-${p.seed}-v${VERSION}`)

/** Whether the export for these parameters is already in the cache (writing it takes a while: say so). */
export const exists = (p: FixtureParameters): boolean => fs.existsSync(path.join(fixtureDirectory(p), "fixture.json"))

/** The export for these parameters, written on first use into a temporary folder, then moved into place. */
export const ensure = async (p: FixtureParameters): Promise<Fixture> => {
  const directory = fixtureDirectory(p)
  const meta = path.join(directory, "fixture.json")
  if (!fs.existsSync(meta)) {
    const temporary = `${directory}.${process.pid}.tmp`
    fs.rmSync(temporary, { recursive: true, force: true })
    const bucket = path.join(temporary, "bucket")
    const ids = prng(p.seed ^ 0x5eed)
    const partitions = Array.from({ length: p.files }, (_, file) => {
      const from = Math.floor((p.items * file) / p.files)
      const to = Math.floor((p.items * (file + 1)) / p.files)
      return partition(p.seed * 1000 + file, from, to)
    })
    const written = await LocalExportWriter.writeFullExport(
      {
        root: bucket,
        bucket: "backstream-bench",
        tableArn: "arn:aws:dynamodb:us-east-1:123456789012:table/bench",
        random: (size) => Uint8Array.from({ length: size }, () => Math.floor(ids() * 256))
      },
      Date.UTC(2026, 0, 1),
      partitions
    )
    let gzipBytes = 0
    for (const name of fs.readdirSync(path.join(written.directory, "data"))) {
      gzipBytes += fs.statSync(path.join(written.directory, "data", name)).size
    }
    fs.writeFileSync(
      path.join(temporary, "fixture.json"),
      JSON.stringify({ ...p, summaryKey: written.summaryKey, gzipBytes })
    )
    fs.rmSync(directory, { recursive: true, force: true })
    fs.renameSync(temporary, directory)
  }
  const saved = JSON.parse(fs.readFileSync(meta, "utf8")) as Omit<Fixture, "bucket">
  return { ...saved, bucket: path.join(directory, "bucket") }
}
