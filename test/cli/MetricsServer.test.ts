import { assert, describe, it } from "@effect/vitest"
import { Effect, Metric, MetricBoundaries } from "effect"
import * as net from "node:net"
import * as os from "node:os"
import * as MetricsServer from "../../adapters/node/MetricsServer.ts"
import * as Engine from "../../core/Engine.ts"

const get = (url: string) =>
  Effect.promise(async () => {
    const response = await fetch(url)
    return { status: response.status, type: response.headers.get("content-type"), body: await response.text() }
  })

const lines = (body: string, prefix: string) => body.split("\n").filter((line) => line.startsWith(prefix))

/** Whether something accepts connections at this address and port. */
const reachable = (host: string, port: number) =>
  Effect.async<boolean>((resume) => {
    const socket = net.connect({ host, port })
    socket.once("connect", () => {
      socket.destroy()
      resume(Effect.succeed(true))
    })
    socket.once("error", () => resume(Effect.succeed(false)))
  })

let counter = 0
const unique = (name: string) => `test_${name}_${process.pid}_${counter++}`

describe("MetricsServer", () => {
  it.scopedLive(
    "serves counters, gauges and histograms with their tags as labels, in the 0.0.4 text format",
    () =>
      Effect.gen(function* () {
        const counterName = unique("requests")
        const requests = Metric.counter(counterName, { description: "requests\nserved", incremental: true })
        yield* Metric.incrementBy(Metric.tagged(requests, "route", '/a"b\\c'), 3)
        yield* Metric.incrementBy(Metric.tagged(requests, "route", "/x"), 2)
        const gaugeName = unique("lag.seconds")
        const lag = Metric.gauge(gaugeName, { description: "lag" })
        yield* Metric.set(Metric.tagged(lag, "shard-id", "shard-0001"), 1.5)
        const histogramName = unique("batch_seconds")
        const batch = Metric.histogram(histogramName, MetricBoundaries.fromIterable([0.1, 1]), "batch time")
        for (const value of [0.05, 0.5, 0.7, 3]) yield* Metric.update(Metric.tagged(batch, "sink", "pg"), value)

        const server = yield* MetricsServer.serve({ port: 0 })
        const scraped = yield* get(`${server.url}/metrics`)
        assert.strictEqual(scraped.status, 200)
        assert.strictEqual(scraped.type, "text/plain; version=0.0.4; charset=utf-8")
        const body = scraped.body

        const c = `${counterName}_total`
        assert.include(body, `# HELP ${c} requests\\nserved\n# TYPE ${c} counter\n`)
        assert.deepStrictEqual(lines(body, `${c}{`), [`${c}{route="/a\\"b\\\\c"} 3`, `${c}{route="/x"} 2`])

        const g = gaugeName.replace(".", "_")
        assert.include(body, `# HELP ${g} lag\n# TYPE ${g} gauge\n`)
        assert.deepStrictEqual(lines(body, `${g}{`), [`${g}{shard_id="shard-0001"} 1.5`])

        const h = histogramName
        assert.include(body, `# HELP ${h} batch time\n# TYPE ${h} histogram\n`)
        assert.deepStrictEqual(lines(body, `${h}_`), [
          `${h}_bucket{sink="pg",le="0.1"} 1`,
          `${h}_bucket{sink="pg",le="1"} 3`,
          `${h}_bucket{sink="pg",le="+Inf"} 4`,
          `${h}_sum{sink="pg"} 4.25`,
          `${h}_count{sink="pg"} 4`
        ])
        assert.strictEqual(lines(body, `# TYPE ${c} `).length, 1, "one TYPE line for a family with two tag sets")
        assert.isTrue(body.endsWith("\n"))
      }),
    30_000
  )

  it.scopedLive("exposes the engine's metrics under their names", () =>
    Effect.gen(function* () {
      yield* Metric.incrementBy(Metric.tagged(Engine.eventsApplied, "op", "r"), 7)
      yield* Metric.set(Engine.exportItemsTotal, 7)
      const server = yield* MetricsServer.serve({ port: 0 })
      const { body } = yield* get(`${server.url}/metrics`)
      assert.include(body, "# TYPE backstream_events_applied_total counter\n")
      assert.match(body, /^backstream_events_applied_total\{op="r"\} \d+$/m)
      assert.include(body, "# TYPE backstream_export_items_total gauge\nbackstream_export_items_total 7\n")
    }), 30_000)

  it.scopedLive("answers /healthz, 404 elsewhere, 405 for other methods", () =>
    Effect.gen(function* () {
      const server = yield* MetricsServer.serve({ port: 0 })
      const health = yield* get(`${server.url}/healthz`)
      assert.strictEqual(health.status, 200)
      assert.strictEqual(health.body.trim(), "ok")
      assert.strictEqual((yield* get(`${server.url}/nowhere`)).status, 404)
      const post = yield* Effect.promise(() => fetch(`${server.url}/metrics`, { method: "POST" }))
      assert.strictEqual(post.status, 405)
    }), 30_000)

  it.scopedLive(
    "binds 127.0.0.1 by default: not reachable on the machine's other addresses",
    () =>
      Effect.gen(function* () {
        const server = yield* MetricsServer.serve({ port: 0 })
        assert.strictEqual(server.host, "127.0.0.1")
        assert.strictEqual(server.url, `http://127.0.0.1:${server.port}`)
        assert.isTrue(yield* reachable("127.0.0.1", server.port))
        const others = Object.values(os.networkInterfaces()).flat().flatMap((info) =>
          info !== undefined && info.family === "IPv4" && !info.internal ? [info.address] : []
        )
        for (const address of others) assert.isFalse(yield* reachable(address, server.port), address)
      }),
    30_000
  )

  it.scopedLive(
    "a taken port fails with a message that names it; the port is free again once the scope closes",
    () =>
      Effect.gen(function* () {
        const port = yield* Effect.scoped(Effect.map(MetricsServer.serve({ port: 0 }), (server) => server.port))
        assert.isFalse(yield* reachable("127.0.0.1", port))
        const first = yield* MetricsServer.serve({ port })
        const error = yield* Effect.flip(Effect.scoped(MetricsServer.serve({ port: first.port })))
        assert.include(error.message, `cannot serve metrics on 127.0.0.1:${port}`)
      }),
    30_000
  )
})
