import { KvsyncError, isStoredUpdate, type StoredUpdate } from '@kvsync/shared'
import { openDB, unwrap, type DBSchema, type IDBPDatabase, type IDBPObjectStore } from 'idb'
import { LogSize } from './log-size.js'
import type { CompactPlan, LocalPersistence, UnknownRecords } from './types.js'

/**
 * On-disk format of a store in IndexedDB (also the database version). Bump when the layout
 * changes; a database written by a newer version is refused (never rewritten or wiped).
 *
 * 1. `updates` (update log + snapshot), `meta`.
 * 2. added a materialized view (`kv`, `view`: a second copy of every key's winning entry,
 *    written with each commit) so that big stores could answer reads before Yjs decoded them.
 * 3. drops the view again: reads are now answered from the update log itself
 *    (`ScannedEntries`), so each commit is one request and each key is stored once; and
 *    commits are Yjs V1 updates (the encoding the sync connection sends, so Yjs encodes each
 *    transaction once), snapshots V2 marked `{ v2 }` (see `StoredUpdate`). Formats 1 and 2
 *    stored bare V2 updates: upgrading marks each as `{ v2 }`, and a format-2 database loses the
 *    view's two object stores.
 */
export const IDB_FORMAT_VERSION = 3

interface StoreSchema extends DBSchema {
  /** Stored updates under auto-increment keys: a V2 snapshot followed by appended V1 updates. */
  updates: { key: number; value: StoredUpdate }
  /** Bookkeeping: `format` → IDB_FORMAT_VERSION of the writer. */
  meta: { key: string; value: number }
}

/** Object stores and meta keys of format 2, removed by the upgrade to 3. */
const FORMAT_2_STORES = ['kv', 'view'] as const
const FORMAT_2_MATERIALIZED_MARK = 'materialized'

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
  readonly size = new LogSize()
  private closed = false
  /** Update records whose content this instance's document already holds. */
  private readonly known = new Set<number>()

  /** The same connection without idb's wrappers, for commits. */
  private readonly raw: IDBDatabase
  /** Options of readwrite transactions (see {@link transactionOptions}). */
  private readonly writeOptions: IDBTransactionOptions | undefined

  private constructor(
    private readonly storeName: string,
    private readonly name: string,
    private readonly db: IDBPDatabase<StoreSchema>,
    durability: Durability,
  ) {
    this.raw = unwrap(db)
    this.writeOptions = transactionOptions(durability)
  }

  /** Opens (creating or upgrading if needed) the database of store `storeName`. */
  static async open(storeName: string, options: IndexedDbPersistenceOptions = {}): Promise<IndexedDbPersistence> {
    assertDurability(options.durability)
    const name = databaseName(storeName)
    let db: IDBPDatabase<StoreSchema>
    let instance: IndexedDbPersistence | undefined
    try {
      db = await openDB<StoreSchema>(name, IDB_FORMAT_VERSION, {
        upgrade(database, oldVersion, _newVersion, transaction) {
          // Every request of the upgrade settles with the transaction; an aborted upgrade (an
          // unconvertible record) rejects them all, and openDB reports it.
          const settled = (request: Promise<unknown>) => void request.catch(() => {})
          settled(transaction.done)
          if (oldVersion < 1) {
            database.createObjectStore('updates', { autoIncrement: true })
            database.createObjectStore('meta')
          } else if (oldVersion < 3) {
            markV2(transaction.objectStore('updates')).catch(() => {
              // Only an aborted upgrade rejects it, and then openDB rejects too.
            })
          }
          if (oldVersion === 2) {
            // The schema type no longer knows these names: they are format 2's.
            const untyped = database as unknown as IDBPDatabase
            for (const name of FORMAT_2_STORES) if (untyped.objectStoreNames.contains(name)) untyped.deleteObjectStore(name)
            settled(transaction.objectStore('meta').delete(FORMAT_2_MATERIALIZED_MARK))
          }
          settled(transaction.objectStore('meta').put(IDB_FORMAT_VERSION, 'format'))
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
    // The format mark is checked by load(), in the same transaction as the log: one round trip
    // less before the first read.
    instance = new IndexedDbPersistence(storeName, name, db, options.durability ?? 'relaxed')
    return instance
  }

  async load(): Promise<StoredUpdate[]> {
    try {
      const transaction = this.db.transaction(['meta', 'updates'], 'readonly')
      const [format, recordIds, updates] = await Promise.all([
        transaction.objectStore('meta').get('format'),
        transaction.objectStore('updates').getAllKeys(),
        transaction.objectStore('updates').getAll() as Promise<unknown[]>,
      ])
      if (format !== undefined && format > IDB_FORMAT_VERSION) {
        throw new KvsyncError('UNSUPPORTED_FORMAT', `store "${this.storeName}" uses format ${format}, newer than ${IDB_FORMAT_VERSION}; it was left as is`)
      }
      this.assertUpdates(updates)
      recordIds.forEach((id) => this.known.add(id))
      this.size.loaded(updates)
      return updates
    } catch (error) {
      throw persistenceError(error, 'loading')
    }
  }

  append(updates: readonly Uint8Array[]): Promise<readonly number[]> {
    if (updates.length === 0) return Promise.resolve([])
    // The plain IndexedDB API rather than idb's wrappers: this runs once per commit (every
    // awaited set), and idb's proxies and done-promise listeners cost about a tenth of an
    // awaited set in Chromium.
    return new Promise((resolve, reject) => {
      const fail = (error: unknown) => reject(persistenceError(error, 'saving'))
      let transaction: IDBTransaction
      let requests: IDBRequest[]
      try {
        transaction = this.raw.transaction('updates', 'readwrite', this.writeOptions)
        const store = transaction.objectStore('updates')
        requests = updates.map((update) => store.add(update))
        // Nothing else joins this transaction: committing it now lets the browser write it as
        // soon as the adds are done, instead of after their success events reach this page and
        // it finds the transaction idle (one round trip between the processes less, about a
        // sixth of an awaited set in Chromium; bench L1). Optional for engines without it.
        transaction.commit?.()
      } catch (error) {
        fail(error)
        return
      }
      transaction.oncomplete = () => {
        const ids = requests.map((request) => request.result as number)
        this.size.appended(updates)
        ids.forEach((id) => this.known.add(id))
        resolve(ids)
      }
      // A failed request aborts the transaction: `abort` follows `error`, once.
      transaction.onabort = () => fail(transaction.error ?? new DOMException('the transaction was aborted', 'AbortError'))
    })
  }

  async compact(plan: CompactPlan): Promise<number | undefined> {
    try {
      const transaction = this.db.transaction('updates', 'readwrite', this.writeOptions)
      const updates = transaction.objectStore('updates')
      // Another tab may have committed updates whose broadcast has not reached us yet: read
      // them back inside this transaction (nothing can commit in between) before clearing.
      const missed = await this.readUnknownIn(updates)
      if (missed.updates.length > 0) plan.absorb?.(missed.updates)
      const snapshot = plan.snapshot()
      void updates.clear()
      const added = updates.add({ v2: snapshot })
      // As in append: nothing else joins, so the browser may write it without a round trip.
      transaction.commit?.()
      const [snapshotId] = await Promise.all([added, transaction.done])
      this.known.clear()
      this.known.add(snapshotId)
      this.size.compacted(snapshot)
      return snapshotId
    } catch (error) {
      throw persistenceError(error, 'compacting')
    }
  }

  async readUnknown(): Promise<UnknownRecords> {
    try {
      return await this.readUnknownIn(this.db.transaction('updates', 'readonly').objectStore('updates'))
    } catch (error) {
      throw persistenceError(error, 'reading updates of another tab')
    }
  }

  /**
   * The records this instance does not know, NOT marked known: a record is known once its
   * update is in the document, and compaction clears every record without reading back the
   * known ones, so marking one that was never applied would lose it.
   */
  private async readUnknownIn(updates: IDBPObjectStore<StoreSchema, ['updates'], 'updates', 'readonly' | 'readwrite'>): Promise<UnknownRecords> {
    const records = (await updates.getAllKeys()).filter((id) => !this.known.has(id))
    if (records.length === 0) return { records, updates: [] }
    const values: unknown[] = await Promise.all(records.map((id) => updates.get(id)))
    this.assertUpdates(values)
    return { records, updates: values }
  }

  /** Refuses a log holding anything but updates (CORRUPT_DATA), so nothing is cleared unread. */
  private assertUpdates(values: unknown[]): asserts values is StoredUpdate[] {
    if (!values.every(isStoredUpdate)) throw new KvsyncError('CORRUPT_DATA', `store database "${this.name}" holds a record that is not an update; it was left as is`)
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
 * Transaction options for a durability: 'strict' resolves only once the data is flushed to disk,
 * 'relaxed' once the OS has it (https://w3c.github.io/IndexedDB/#dom-idbtransactiondurability).
 * 'relaxed' passes no options: it is the browsers' default (Chromium since 121, Firefox,
 * Safari; Chromium 83–120 defaulted to 'strict', which only makes commits safer there), and an
 * options dictionary costs about 7% of an awaited set in Chromium (measured in bench L1).
 */
function transactionOptions(durability: Durability): IDBTransactionOptions | undefined {
  return durability === 'strict' ? { durability: 'strict' } : undefined
}

/** Marks each record of a format-1 or format-2 log (bare Yjs V2 updates) as `{ v2 }`, in the upgrade transaction. */
async function markV2(updates: IDBPObjectStore<StoreSchema, ArrayLike<'updates' | 'meta'>, 'updates', 'versionchange'>): Promise<void> {
  for (let cursor = await updates.openCursor(); cursor !== null; cursor = await cursor.continue()) {
    // Anything else stays as it is: loading reports it (CORRUPT_DATA) and never rewrites it.
    const value: unknown = cursor.value
    if (value instanceof Uint8Array) cursor.update({ v2: value }).catch(() => {})
  }
}
