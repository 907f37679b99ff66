/**
 * `COPY … FROM STDIN` over a `pg` connection: a query object that `pg` runs like any other (it queues it, hands it
 * the connection, and passes it the server's messages), which sends the rows right after the query. The rows are all
 * in memory (one batch), sent in 64 KiB messages.
 */
import { Buffer } from "node:buffer"
import type pg from "pg"

const CHUNK = 64 * 1024

interface Connection {
  readonly query: (text: string) => void
  readonly sendCopyFromChunk: (chunk: Buffer) => void
  readonly endCopyFrom: () => void
  readonly sendCopyFail: (message: string) => void
}

class CopyIn {
  callback: ((error: Error | null) => void) | undefined

  constructor(readonly text: string, private readonly data: Buffer) {}

  // The rows follow the query at once, without waiting for the server's CopyInResponse: one round trip. Should the
  // statements before the COPY fail, the server drops the rows it then reads (it ignores copy messages outside a COPY).
  submit(connection: Connection) {
    connection.query(this.text)
    try {
      for (let at = 0; at < this.data.length; at += CHUNK) {
        connection.sendCopyFromChunk(this.data.subarray(at, at + CHUNK))
      }
      connection.endCopyFrom()
    } catch (error) {
      // The server answers a CopyFail with an error, then ReadyForQuery.
      connection.sendCopyFail(`the client could not send the rows: ${(error as Error)?.message ?? String(error)}`)
    }
  }

  handleCopyInResponse() {}

  // An error from the server (followed by ReadyForQuery) or of the connection (followed by nothing): done either way.
  handleError(error: Error) {
    this.done(error)
  }

  handleReadyForQuery() {
    this.done(null)
  }

  private done(error: Error | null) {
    const callback = this.callback
    this.callback = undefined
    callback?.(error)
  }

  handleCommandComplete() {}
  handleRowDescription() {}
  handleDataRow() {}
  handleEmptyQuery() {}
  handlePortalSuspended() {}
  handleCopyData() {}
}

/**
 * Runs `text`, simple-query statements of which one is a `COPY … FROM STDIN`, sending `data` (whole lines of COPY's
 * text format) when the server asks for it: one message, one round trip, whatever comes before and after the COPY.
 */
export const copyIn = (connection: pg.PoolClient, text: string, data: string): Promise<void> =>
  new Promise((resolve, reject) => {
    const query = new CopyIn(text, Buffer.from(data, "utf8"))
    query.callback = (error) => (error === null ? resolve() : reject(error))
    connection.query(query as unknown as pg.QueryConfig)
  })
