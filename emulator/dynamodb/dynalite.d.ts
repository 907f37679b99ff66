declare module "dynalite/db/index.js" {
  export interface ItemDb {
    lock(key: string, fn: (release: <F extends (...args: Array<any>) => void>(cb: F) => F) => void): void
    get(key: string, cb: (err: (Error & { name?: string }) | null, item?: Record<string, unknown>) => void): void
    put(key: string, item: Record<string, unknown>, cb: (err: Error | null) => void): void
    del(key: string, cb: (err: Error | null) => void): void
    [other: string]: unknown
  }
  export interface Store {
    tableDb: { awsAccountId: string; awsRegion: string; [other: string]: unknown }
    getItemDb(name: string): ItemDb
    getTable(name: string, cb: (err: unknown, table?: Record<string, unknown>) => void): void
    options: Record<string, unknown>
    [other: string]: unknown
  }
  export function create(options?: Record<string, unknown>): Store
  export function createKey(item: Record<string, unknown>, table: Record<string, unknown>): string
  export function checkConditional(data: Record<string, unknown>, item: Record<string, unknown> | undefined): unknown
}

declare module "dynalite/validations/index.js" {
  export function checkTypes(data: unknown, types: unknown): Record<string, unknown>
  export function checkValidations(data: unknown, types: unknown, custom: unknown, store: unknown): void
}
