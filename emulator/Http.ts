/**
 * The emulator's requests and responses, independent of any HTTP server: the Node adapter (`NodeServer.ts`) and the
 * in-process client of the tests both speak these.
 */

export interface EmulatorRequest {
  readonly method: string
  /** The path, decoded, without the query string (`/bucket/some/key`). */
  readonly path: string
  readonly query: URLSearchParams
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string | undefined>>
  readonly body: Uint8Array
}

export interface EmulatorResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: Uint8Array | string
}

export const JSON_1_0 = "application/x-amz-json-1.0"

export const json = (body: unknown, status = 200, headers: Record<string, string> = {}): EmulatorResponse => ({
  status,
  headers: { "content-type": JSON_1_0, ...headers },
  body: JSON.stringify(body)
})

export const xml = (body: string, status = 200, headers: Record<string, string> = {}): EmulatorResponse => ({
  status,
  headers: { "content-type": "application/xml", ...headers },
  body
})

export const empty = (status = 200, headers: Record<string, string> = {}): EmulatorResponse => ({
  status,
  headers,
  body: ""
})
