import { KvsyncError } from '@kvsync/shared'
import { openDB, unwrap, type DBSchema, type IDBPDatabase, type IDBPTransaction } from 'idb'
import { PackedView, decodeRow, packEntries, packRows, rowWins, type PackedRecord, type StoredView } from './materialized.js'
import type { CompactPlan, LoadedState, LocalPersistence, MaterializedRows } from './types.js'

/**
 * On-disk format of a store in IndexedDB (also the database version). Bump when the layout
 * changes; a database written by a newer version is refused (never rewritten or wiped).
 *
 * 1. `updates` (update log + snapshot), `meta`.
 * 2. adds the materialized view (key → winning entry), written in the same transaction as the
 *    updates that produced it: `view` holds the whole view packed in one record, written by
 *    each compaction with the snapshot; `kv` holds rows written since, one record per key. A
 *    format-1 database gets both empty on upgrade and no `materialized` mark; the store
 *    rebuilds the view on its first open.
 */
export const IDB_FORMAT_VERSION = 2

interface StoreSchema extends DBSchema {
  /** Yjs V2 updates under auto-increment keys: a snapshot followed by appended updates. */
  updates: { key: number; value: Uint8Array }
  /**
   * Bookkeeping: `format` → IDB_FORMAT_VERSION of the writer; `materialized` → 1 once `kv`
   * holds the winner of every key.
   */
  meta: { key: string; value: number }
  /** Rows of the materialized view written since the last compaction: key → row (see materialized.ts). */
  kv: { key: string; value: Uint8Array }
  /** `all` → the whole view as of the last compaction, packed (see PackedRecord). */
  view: { key: string; value: PackedRecord }
}

const VIEW_KEY = 'all'

/** Name of the IndexedDB database that holds store `name`. */
export function databaseName(storeName: string): string {
  return `kvsync:${storeName}`
}

/**
 * Whether an IndexedDB failure means the origin is out of storage quota. The platform reports it
 * only as a DOMException name (https://w3c.github.io/IndexedDB/#dom-idbtransaction-error).
 */
export function isQuotaExceeded(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'QuotaExceededError'
}

function persistenceError(error: unknown, action: string): KvsyncError {
  if (error instanceof KvsyncError) return error
  if (isQuotaExceeded(error)) return new KvsyncError('QUOTA_EXCEEDED', `IndexedDB quota exceeded while ${action}`, { cause: error })
  return new KvsyncError('PERSISTENCE_FAILED', `IndexedDB failed while ${action}`, { cause: error })
}

/** Options of {@link IndexedDbPersistence.open}. */
export interface IndexedDbPersistenceOptions {
  /**
   * Called when another connection needs this database gone or upgraded (another tab's
   * `destroy()`, or a newer kvsync). The connection is closed first so that it is not blocked
   * (https://w3c.github.io/IndexedDB/#versionchange-transaction-steps); later commits fail.
   */
  onVersionChange?: () => void
  /**
   * Durability of commits (https://w3c.github.io/IndexedDB/#dom-idbtransactiondurability):
   * `'strict'` resolves once the data is flushed to disk; `'relaxed'` once it is written to the
   * operating system, which survives a crash of the page or the browser but not of the OS or a
   * power loss. Default `'relaxed'` (see {@link Durability}).
   */
  durability?: Durability
}

/**
 * How durable an IndexedDB commit must be before `await store.set()` resolves. Both survive the
 * tab being closed and the renderer or browser crashing; only `'strict'` survives an OS crash
 * or power loss, at about 2 ms more per commit (measured in Chromium on Linux).
 */
export type Durability = 'strict' | 'relaxed'

/** Checks a durability option; throws `INVALID_OPTION`. */
export function assertDurability(durability: unknown): asserts durability is Durability | undefined {
  if (durability !== undefined && durability !== 'strict' && durability !== 'relaxed') {
    throw new KvsyncError('INVALID_OPTION', `durability must be 'strict' or 'relaxed', got ${String(durability)}`)
  }
}

/** Persists a store in its own IndexedDB database (see {@link databaseName}). */
export class IndexedDbPersistence implements LocalPersistence {
  readonly materializes = true
  private count = 0
  private rows = 0
  private closed = false
  /** Update records whose content this instance's document already holds. */
  private readonly known = new Set<number>()

  private constructor(
    private readonly storeName: string,
    private readonly name: string,
    private readonly db: IDBPDatabase<StoreSchema>,
    private readonly durability: Durability,
  ) {}

  /** Opens (creating or upgrading if needed) the database of store `storeName`. */
  static async open(storeName: string, options: IndexedDbPersistenceOptions = {}): Promise<IndexedDbPersistence> {
    assertDurability(options.durability)
    const name = databaseName(storeName)
    let db: IDBPDatabase<StoreSchema>
    let instance: IndexedDbPersistence | undefined
    try {
      db = await openDB<StoreSchema>(name, IDB_FORMAT_VERSION, {
        upgrade(database, oldVersion, _newVersion, transaction) {
          if (oldVersion < 1) {
            database.createObjectStore('updates', { autoIncrement: true })
            database.createObjectStore('meta')
          }
          if (oldVersion < 2) {
            database.createObjectStore('kv')
            database.createObjectStore('view')
          }
          // A new database's (empty) view is complete; an upgraded one's must be rebuilt.
          if (oldVersion === 0) void transaction.objectStore('meta').put(1, 'materialized')
          void transaction.objectStore('meta').put(IDB_FORMAT_VERSION, 'format')
        },
        blocking() {
          instance?.closeForVersionChange()
          options.onVersionChange?.()
        },
      })
    } catch (error) {
      if ((error as { name?: unknown } | null)?.name === 'VersionError') {
        throw new KvsyncError('UNSUPPORTED_FORMAT', `store "${storeName}" was written by a newer kvsync (IndexedDB version above ${IDB_FORMAT_VERSION}); upgrade kvsync to open it`, { cause: error })
      }
      throw persistenceError(error, `opening store "${storeName}"`)
    }
    // The format mark is checked by load(), in the same transaction as the view: one round
    // trip less before the first read.
    instance = new IndexedDbPersistence(storeName, name, db, options.durability ?? 'relaxed')
    return instance
  }

  get storedCount(): number {
    return this.count
  }

  get rowCount(): number {
    return this.rows
  }

  async load(): Promise<LoadedState> {
    // Two read-only transactions over disjoint stores run in parallel (the view and the log are
    // each several MB for a big store), and the view alone lets the store answer reads. The
    // view's is created first: a commit ordered between them is seen by the log's read, not the
    // view's, so the document is always at least as new as the view
    // (https://w3c.github.io/IndexedDB/#transaction-scheduling).
    let viewRead: IDBPTransaction<StoreSchema, ['meta', 'kv', 'view'], 'readonly'>
    let logRead: IDBPTransaction<StoreSchema, ['updates'], 'readonly'>
    try {
      viewRead = this.db.transaction(['meta', 'kv', 'view'], 'readonly')
      logRead = this.db.transaction(['updates'], 'readonly')
    } catch (error) {
      throw persistenceError(error, 'loading')
    }
    let viewDone!: (packedRead: boolean) => void
    const viewSettled = new Promise<boolean>((resolve) => {
      viewDone = resolve
    })
    const updates = this.readLog(logRead, viewSettled)
    // Settled by the caller, maybe later; never an unhandled rejection meanwhile.
    updates.catch(() => {})
    try {
      let packedRead = false
      const [format, mark, packed, rowKeys, rows] = await Promise.all([
        viewRead.objectStore('meta').get('format'),
        viewRead.objectStore('meta').get('materialized'),
        viewRead.objectStore('view').get(VIEW_KEY).then((record) => {
          packedRead = record !== undefined
          return record
        }),
        viewRead.objectStore('kv').getAllKeys(),
        viewRead.objectStore('kv').getAll(),
      ]).finally(() => viewDone(packedRead))
      if (format !== undefined && format > IDB_FORMAT_VERSION) {
        throw new KvsyncError('UNSUPPORTED_FORMAT', `store "${this.storeName}" uses format ${format}, newer than ${IDB_FORMAT_VERSION}; it was left as is`)
      }
      this.rows = rows.length
      return { updates, materialized: mark === 1 ? storedView(packed, rowKeys, rows) : undefined }
    } catch (error) {
      throw persistenceError(error, 'loading')
    }
  }

  /**
   * Reads the update log. Its records are taken from the requests (which deserializes them on
   * the main thread: ~15 ms for a 100k-key store in Chromium) only after the view's, and when a
   * packed view was read (a big store, whose first reads the view serves) one task later, so
   * that the first `get` after `openStore` does not wait behind them when the log arrives
   * first (Chromium, 100k keys: first get 2–47 ms sooner, most on a loaded machine).
   */
  private async readLog(logRead: IDBPTransaction<StoreSchema, ['updates'], 'readonly'>, viewSettled: Promise<boolean>): Promise<Uint8Array[]> {
    try {
      const store = unwrap(logRead.objectStore('updates'))
      const keysRequest = store.getAllKeys()
      const valuesRequest = store.getAll()
      const [, , packedRead] = await Promise.all([succeeded(keysRequest), succeeded(valuesRequest), viewSettled])
      if (packedRead) await nextTask()
      const recordIds = keysRequest.result as number[]
      const updates = valuesRequest.result as unknown[]
      for (const update of updates) {
        if (!(update instanceof Uint8Array)) throw new KvsyncError('CORRUPT_DATA', `store database "${this.name}" holds a record that is not an update; it was left as is`)
      }
      recordIds.forEach((id) => this.known.add(id))
      this.count = updates.length
      return updates as Uint8Array[]
    } catch (error) {
      throw persistenceError(error, 'loading')
    }
  }

  async append(updates: readonly Uint8Array[], rows?: MaterializedRows): Promise<readonly number[]> {
    if (updates.length === 0 && (rows === undefined || rows.size === 0)) return []
    try {
      // 'strict' resolves only once the data is flushed to disk, 'relaxed' once the OS has it
      // (https://w3c.github.io/IndexedDB/#dom-idbtransactiondurability).
      const transaction = this.db.transaction(['updates', 'kv'], 'readwrite', { durability: this.durability })
      const added = Promise.all(updates.map((update) => transaction.objectStore('updates').add(update)))
      const written = rows === undefined ? Promise.resolve() : writeRows(transaction.objectStore('kv'), rows)
      const [ids] = await Promise.all([added, written, transaction.done])
      this.count += updates.length
      this.rows += rows?.size ?? 0
      ids.forEach((id) => this.known.add(id))
      return ids
    } catch (error) {
      throw persistenceError(error, 'saving')
    }
  }

  async compact(plan: CompactPlan): Promise<number | undefined> {
    try {
      const transaction = this.db.transaction(['updates', 'kv', 'view', 'meta'], 'readwrite', { durability: this.durability })
      const updates = transaction.objectStore('updates')
      // Another tab may have committed updates whose broadcast has not reached us yet: read
      // them back inside this transaction (nothing can commit in between) before clearing.
      const unknown = (await updates.getAllKeys()).filter((id) => !this.known.has(id))
      if (unknown.length > 0) {
        const missed = await Promise.all(unknown.map((id) => updates.get(id)))
        plan.absorb?.(missed.filter((update): update is Uint8Array => update instanceof Uint8Array))
      }
      const snapshot = plan.snapshot()
      void updates.clear()
      const id = updates.add(snapshot)
      const view = plan.allEntries !== undefined ? packEntries(plan.allEntries()) : plan.allRows !== undefined ? packRows(plan.allRows()) : undefined
      if (view !== undefined) {
        // The whole view, as of the snapshot, replaces the packed one and the rows since.
        void transaction.objectStore('kv').clear()
        void transaction.objectStore('view').put(view, VIEW_KEY)
        void transaction.objectStore('meta').put(1, 'materialized')
      }
      const [snapshotId] = await Promise.all([id, transaction.done])
      this.known.clear()
      this.known.add(snapshotId)
      this.count = 1
      if (view !== undefined) this.rows = 0
      return snapshotId
    } catch (error) {
      throw persistenceError(error, 'compacting')
    }
  }

  markKnown(records: readonly number[]): void {
    records.forEach((id) => this.known.add(id))
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.db.close()
  }

  async destroy(): Promise<void> {
    await this.close()
    await new Promise<void>((resolve, reject) => {
      const request = indexedDB.deleteDatabase(this.name)
      request.onsuccess = () => resolve()
      request.onerror = () => reject(persistenceError(request.error, 'deleting'))
      // Other tabs get a versionchange event and close their connection (see `blocking` in
      // open); deletion completes then, and `onsuccess` follows.
      request.onblocked = () => {}
    })
  }

  private closeForVersionChange(): void {
    if (this.closed) return
    this.closed = true
    this.db.close()
  }
}

/**
 * Resolves in a later task. A posted message rather than `setTimeout(0)`: timers of hidden pages
 * are throttled to about once a second (https://developer.chrome.com/blog/timer-throttling-in-chrome-88),
 * and writes made meanwhile wait for the log.
 */
function nextTask(): Promise<void> {
  if (typeof MessageChannel !== 'function') return new Promise((resolve) => setTimeout(resolve, 0))
  return new Promise((resolve) => {
    const { port1, port2 } = new MessageChannel()
    port1.onmessage = () => {
      // Closed so that an open port never keeps a Node process alive.
      port1.close()
      resolve()
    }
    port2.postMessage(undefined)
  })
}

/** Resolves once `request` succeeded, without reading its result; rejects with its error. */
function succeeded(request: IDBRequest): Promise<void> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve()
    request.onerror = () => reject(request.error)
  })
}

/** The part of the `kv` object store that writeRows needs. */
interface KvObjectStore {
  get(key: string): Promise<Uint8Array | undefined>
  put(value: Uint8Array, key: string): Promise<string>
}

/**
 * The view at open: the packed rows of the last compaction and the rows written since (merged
 * per read, see MaterializedView). `undefined` (rebuild) when something is damaged: the view is
 * derived data.
 */
function storedView(packedRecord: unknown, rowKeys: string[], rows: unknown[]): StoredView | undefined {
  let packed: PackedView | undefined
  if (packedRecord !== undefined) {
    packed = PackedView.parse(packedRecord)
    if (packed === undefined) return undefined
  }
  if (rowKeys.length !== rows.length) return undefined
  const since = new Map<string, Uint8Array>()
  for (let index = 0; index < rows.length; index++) {
    const row = rows[index]
    if (!(row instanceof Uint8Array)) return undefined
    since.set(rowKeys[index]!, row)
  }
  return { packed, rows: since }
}

/** Writes each row unless the stored row already beats it (see rowWins). */
async function writeRows(kv: KvObjectStore, rows: MaterializedRows): Promise<void> {
  await Promise.all(
    [...rows].map(async ([key, row]) => {
      const candidate = decodeRow(row)
      if (candidate === undefined) return
      const stored = await kv.get(key)
      if (rowWins(candidate, stored === undefined ? undefined : decodeRow(stored))) await kv.put(row, key)
    }),
  )
}
