/**
 * Every change of every table, with its time: the point-in-time recovery log. The table as it was at any time in the
 * window can be rebuilt from it, and an incremental export is a slice of it.
 */

export type WireItem = Record<string, unknown>

export interface HistoryEntry {
  readonly timeMs: number
  /** dynalite's key string: the same for the same item. */
  readonly key: string
  readonly keys: WireItem
  readonly oldImage?: WireItem
  readonly newImage?: WireItem
}

export class TableHistory {
  private readonly tables = new Map<string, Array<HistoryEntry>>()

  record(tableName: string, entry: HistoryEntry): void {
    let log = this.tables.get(tableName)
    if (log === undefined) this.tables.set(tableName, log = [])
    log.push(entry)
  }

  /** The items of a table as they were at `timeMs` (changes at or before it), in key order. */
  snapshotAt(tableName: string, timeMs: number): Array<WireItem> {
    const items = new Map<string, WireItem | undefined>()
    for (const entry of this.tables.get(tableName) ?? []) {
      if (entry.timeMs > timeMs) break
      items.set(entry.key, entry.newImage)
    }
    return [...items.entries()].filter(([, item]) => item !== undefined).sort(([a], [b]) => (a < b ? -1 : 1)).map((
      [, item]
    ) => item!)
  }

  /** The changes in (fromMs, toMs], in order. */
  changesBetween(tableName: string, fromMs: number, toMs: number): Array<HistoryEntry> {
    return (this.tables.get(tableName) ?? []).filter((entry) => entry.timeMs > fromMs && entry.timeMs <= toMs)
  }

  drop(tableName: string): void {
    this.tables.delete(tableName)
  }

  reset(): void {
    this.tables.clear()
  }

  /** Every table's log, for persistence: shared, not copied, so read it before the next write. */
  snapshot(): ReadonlyMap<string, ReadonlyArray<HistoryEntry>> {
    return this.tables
  }

  /** Replaces every log with saved ones. */
  restore(tables: Iterable<readonly [string, ReadonlyArray<HistoryEntry>]>): void {
    this.tables.clear()
    for (const [name, log] of tables) this.tables.set(name, [...log])
  }
}
