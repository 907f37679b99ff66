/**
 * Serves an emulator over HTTP with Node's `http` module. Binds 127.0.0.1 unless told otherwise.
 */
import { Effect } from "effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import type { Emulator } from "./Emulator.ts"
import type { EmulatorRequest, EmulatorResponse } from "./Http.ts"

export interface ServerOptions {
  readonly host?: string
  /** 0 (the default) picks a free port. */
  readonly port?: number
}

export interface RunningServer {
  readonly url: string
  readonly host: string
  readonly port: number
}

const MAX_BODY = 32 * 1024 * 1024

const toRequest = (req: http.IncomingMessage, body: Uint8Array): EmulatorRequest => {
  // Not `new URL`: it would resolve `.` and `..` segments, and S3 keys may hold them.
  const raw = req.url ?? "/"
  const question = raw.indexOf("?")
  const rawPath = question === -1 ? raw : raw.slice(0, question)
  let path: string
  try {
    path = decodeURIComponent(rawPath)
  } catch {
    path = rawPath
  }
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(",") : value
  }
  return {
    method: req.method ?? "GET",
    path,
    query: new URLSearchParams(question === -1 ? "" : raw.slice(question + 1)),
    headers,
    body
  }
}

/** Starts serving; the server closes when the scope does. */
export const serve = (
  emulator: Emulator,
  options: ServerOptions = {}
): Effect.Effect<RunningServer, Error, import("effect").Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<{ server: http.Server; running: RunningServer }, Error>((resume) => {
      const server = http.createServer((req, res) => {
        const chunks: Array<Buffer> = []
        let size = 0
        req.on("data", (chunk: Buffer) => {
          size += chunk.length
          if (size <= MAX_BODY) chunks.push(chunk)
        })
        req.on("end", () => {
          if (size > MAX_BODY) {
            res.writeHead(413).end()
            return
          }
          const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)
          const bytes = new Uint8Array(body.buffer, body.byteOffset, body.length)
          const respond = (response: EmulatorResponse) => {
            const payload = typeof response.body === "string" ? Buffer.from(response.body) : response.body
            res.writeHead(response.status, {
              "x-amzn-requestid": "emulator",
              ...response.headers,
              "content-length": req.method === "HEAD"
                ? response.headers["content-length"] ?? "0"
                : String(payload.length)
            })
            res.end(req.method === "HEAD" ? undefined : payload)
          }
          const target = req.headers["x-amz-target"]
          if (
            req.method === "POST" && typeof target === "string" && req.url === "/"
            && emulator.handleDirect(target, bytes, respond, req.headers.authorization)
          ) return
          Effect.runPromise(emulator.handle(toRequest(req, bytes))).then(respond, (error: unknown) => {
            res.writeHead(500, { "content-type": "text/plain" }).end(String(error))
          })
        })
      })
      server.keepAliveTimeout = 60_000
      server.on("error", (error) => resume(Effect.fail(error)))
      const host = options.host ?? "127.0.0.1"
      server.listen(options.port ?? 0, host, () => {
        const address = server.address() as AddressInfo
        const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address
        resume(Effect.succeed({
          server,
          running: { url: `http://${shownHost}:${address.port}`, host: address.address, port: address.port }
        }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.close(() => resume(Effect.void))
        server.closeAllConnections()
      })
  ).pipe(Effect.map(({ running }) => running))
