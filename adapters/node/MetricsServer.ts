/**
 * Serves Effect's metrics to Prometheus: `GET /metrics` renders every metric of the process's registry (the engine's
 * and capture's counters, gauges and histograms, with their tags as labels) in the text exposition format 0.0.4;
 * `GET /healthz` answers `ok`. Binds 127.0.0.1 unless told otherwise.
 *
 * Names and label names are sanitized to Prometheus's alphabet (other characters become `_`); counters get the
 * conventional `_total` suffix (`backstream_events_applied` is scraped as `backstream_events_applied_total`); a
 * frequency is a counter with the occurrence in the `key` label; a summary has its quantiles in `quantile`.
 */
import { Effect, Metric, MetricKeyType, type MetricPair, MetricState, Option, type Scope } from "effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"

export interface ServeOptions {
  /** Default 127.0.0.1: keep it unless another machine scrapes this one. */
  readonly host?: string
  /** 0 picks a free port. */
  readonly port: number
}

export interface RunningMetricsServer {
  /** `http://host:port`: scrape `${url}/metrics`. */
  readonly url: string
  readonly host: string
  readonly port: number
}

export const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

const sanitizeName = (name: string) => {
  const cleaned = name.replace(/[^a-zA-Z0-9_:]/g, "_")
  return /^[0-9]/.test(cleaned) ? `_${cleaned}` : cleaned === "" ? "_" : cleaned
}

const sanitizeLabel = (name: string) => {
  const cleaned = name.replace(/[^a-zA-Z0-9_]/g, "_")
  return /^[0-9]/.test(cleaned) ? `_${cleaned}` : cleaned === "" ? "_" : cleaned
}

const escapeValue = (value: string) => value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")
const escapeHelp = (text: string) => text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")

const number = (value: number | bigint) =>
  typeof value === "bigint"
    ? value.toString()
    : Number.isNaN(value)
    ? "NaN"
    : value === Infinity
    ? "+Inf"
    : value === -Infinity
    ? "-Inf"
    : String(value)

const labels = (pairs: ReadonlyArray<readonly [string, string]>) => {
  if (pairs.length === 0) return ""
  const seen = new Map<string, string>()
  for (const [name, value] of pairs) seen.set(sanitizeLabel(name), value)
  return `{${[...seen].map(([name, value]) => `${name}="${escapeValue(value)}"`).join(",")}}`
}

type Kind = "counter" | "gauge" | "histogram" | "summary"

interface Family {
  readonly name: string
  readonly kind: Kind
  help: string | undefined
  /** Per tag set (its rendering, for a stable order), the sample lines. */
  readonly series: Array<readonly [string, ReadonlyArray<string>]>
}

const kindOf = (pair: MetricPair.MetricPair.Untyped): Kind | undefined => {
  const type = pair.metricKey.keyType
  if (MetricKeyType.isCounterKey(type) || MetricKeyType.isFrequencyKey(type)) return "counter"
  if (MetricKeyType.isGaugeKey(type)) return "gauge"
  if (MetricKeyType.isHistogramKey(type)) return "histogram"
  if (MetricKeyType.isSummaryKey(type)) return "summary"
  return undefined
}

const samples = (name: string, pair: MetricPair.MetricPair.Untyped): Array<string> => {
  const tags = pair.metricKey.tags.map((tag) => [tag.key, tag.value] as const)
  const state = pair.metricState
  if (MetricState.isCounterState(state)) return [`${name}${labels(tags)} ${number(state.count)}`]
  if (MetricState.isGaugeState(state)) return [`${name}${labels(tags)} ${number(state.value)}`]
  if (MetricState.isFrequencyState(state)) {
    return [...state.occurrences].map(([key, count]) => `${name}${labels([...tags, ["key", key]])} ${number(count)}`)
  }
  if (MetricState.isHistogramState(state)) {
    const lines = state.buckets.map(([boundary, count]) =>
      `${name}_bucket${labels([...tags, ["le", number(boundary)]])} ${number(count)}`
    )
    if (state.buckets.at(-1)?.[0] !== Infinity) {
      lines.push(`${name}_bucket${labels([...tags, ["le", "+Inf"]])} ${number(state.count)}`)
    }
    lines.push(`${name}_sum${labels(tags)} ${number(state.sum)}`, `${name}_count${labels(tags)} ${number(state.count)}`)
    return lines
  }
  if (MetricState.isSummaryState(state)) {
    const lines = state.quantiles.flatMap(([quantile, value]) =>
      Option.isSome(value) ? [`${name}${labels([...tags, ["quantile", number(quantile)]])} ${number(value.value)}`] : []
    )
    lines.push(`${name}_sum${labels(tags)} ${number(state.sum)}`, `${name}_count${labels(tags)} ${number(state.count)}`)
    return lines
  }
  return []
}

/** The metrics in the Prometheus text format 0.0.4, families sorted by name. */
export const render = (pairs: ReadonlyArray<MetricPair.MetricPair.Untyped>): string => {
  const families = new Map<string, Family>()
  for (const pair of pairs) {
    const kind = kindOf(pair)
    if (kind === undefined) continue
    const base = sanitizeName(pair.metricKey.name)
    const name = kind === "counter" && !base.endsWith("_total") ? `${base}_total` : base
    let family = families.get(name)
    if (family === undefined) families.set(name, family = { name, kind, help: undefined, series: [] })
    // Prometheus rejects one name with two types: the first one seen wins.
    else if (family.kind !== kind) continue
    family.help ??= Option.getOrUndefined(pair.metricKey.description)
    const tags = labels(pair.metricKey.tags.map((tag) => [tag.key, tag.value] as const))
    family.series.push([tags, samples(name, pair)])
  }
  return [...families.values()]
    .sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
    .map((family) =>
      [
        ...(family.help === undefined ? [] : [`# HELP ${family.name} ${escapeHelp(family.help)}`]),
        `# TYPE ${family.name} ${family.kind}`,
        ...family.series.sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0).flatMap(([, lines]) => lines)
      ].join("\n") + "\n"
    )
    .join("")
}

const respond = (res: http.ServerResponse, status: number, body: string, contentType = "text/plain; charset=utf-8") => {
  res.writeHead(status, { "content-type": contentType, "content-length": Buffer.byteLength(body) })
  res.end(body)
}

/** Starts serving; the server closes when the scope does. */
export const serve = (options: ServeOptions): Effect.Effect<RunningMetricsServer, Error, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<{ server: http.Server; running: RunningMetricsServer }, Error>((resume) => {
      const server = http.createServer((req, res) => {
        const path = (req.url ?? "/").split("?")[0]
        if (req.method !== "GET" && req.method !== "HEAD") return respond(res, 405, "only GET\n")
        if (path === "/metrics") return respond(res, 200, render(Metric.unsafeSnapshot()), CONTENT_TYPE)
        if (path === "/healthz") return respond(res, 200, "ok\n")
        respond(res, 404, "not found: try /metrics or /healthz\n")
      })
      const host = options.host ?? "127.0.0.1"
      server.once(
        "error",
        (error) => resume(Effect.fail(new Error(`cannot serve metrics on ${host}:${options.port}: ${error.message}`)))
      )
      server.listen(options.port, host, () => {
        const address = server.address() as AddressInfo
        const shown = address.family === "IPv6" ? `[${address.address}]` : address.address
        resume(Effect.succeed({
          server,
          running: { url: `http://${shown}:${address.port}`, host: address.address, port: address.port }
        }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ running }) => running))
