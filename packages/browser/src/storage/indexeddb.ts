import { KvsyncError } from '@kvsync/shared'
import { openDB, type DBSchema, type IDBPDatabase } from 'idb'
import type { LocalPersistence } from './types.js'

/**
 * On-disk format of a store in IndexedDB. Bump when the layout changes; a database written by a
 * newer version is refused (never rewritten or wiped).
 */
export const IDB_FORMAT_VERSION = 1

interface StoreSchema extends DBSchema {
  /** Yjs V2 updates under auto-increment keys: a snapshot followed by appended updates. */
  updates: { key: number; value: Uint8Array }
  /** Format bookkeeping: `format` → IDB_FORMAT_VERSION of the writer. */
  meta: { key: string; value: number }
}

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

/** Persists a store in its own IndexedDB database (see {@link databaseName}). */
export class IndexedDbPersistence implements LocalPersistence {
  private count = 0
  private closed = false

  private constructor(
    private readonly name: string,
    private readonly db: IDBPDatabase<StoreSchema>,
  ) {}

  /** Opens (creating if needed) the database of store `storeName`. */
  static async open(storeName: string): Promise<IndexedDbPersistence> {
    const name = databaseName(storeName)
    let db: IDBPDatabase<StoreSchema>
    try {
      db = await openDB<StoreSchema>(name, IDB_FORMAT_VERSION, {
        upgrade(database, oldVersion) {
          if (oldVersion < 1) {
            database.createObjectStore('updates', { autoIncrement: true })
            database.createObjectStore('meta')
          }
        },
      })
    } catch (error) {
      if ((error as { name?: unknown } | null)?.name === 'VersionError') {
        throw new KvsyncError('UNSUPPORTED_FORMAT', `store "${storeName}" was written by a newer kvsync (IndexedDB version above ${IDB_FORMAT_VERSION}); upgrade kvsync to open it`, { cause: error })
      }
      throw persistenceError(error, `opening store "${storeName}"`)
    }
    const format = await db.get('meta', 'format')
    if (format !== undefined && format > IDB_FORMAT_VERSION) {
      db.close()
      throw new KvsyncError('UNSUPPORTED_FORMAT', `store "${storeName}" uses format ${format}, newer than ${IDB_FORMAT_VERSION}`)
    }
    if (format === undefined) await db.put('meta', IDB_FORMAT_VERSION, 'format')
    return new IndexedDbPersistence(name, db)
  }

  get storedCount(): number {
    return this.count
  }

  async load(): Promise<Uint8Array[]> {
    try {
      const updates = await this.db.getAll('updates')
      for (const update of updates) {
        if (!(update instanceof Uint8Array)) throw new KvsyncError('CORRUPT_DATA', `store database "${this.name}" holds a record that is not an update`)
      }
      this.count = updates.length
      return updates
    } catch (error) {
      throw persistenceError(error, 'loading')
    }
  }

  async append(updates: readonly Uint8Array[]): Promise<void> {
    if (updates.length === 0) return
    try {
      const transaction = this.db.transaction('updates', 'readwrite', { durability: 'strict' })
      for (const update of updates) void transaction.store.add(update)
      await transaction.done
      this.count += updates.length
    } catch (error) {
      throw persistenceError(error, 'saving')
    }
  }

  async compact(snapshot: () => Uint8Array): Promise<void> {
    try {
      const transaction = this.db.transaction('updates', 'readwrite', { durability: 'strict' })
      // The transaction is queued after every append already requested, so the snapshot taken
      // now covers everything it clears (see LocalPersistence.compact).
      void transaction.store.clear()
      void transaction.store.add(snapshot())
      await transaction.done
      this.count = 1
    } catch (error) {
      throw persistenceError(error, 'compacting')
    }
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
      // Other tabs hold the database open; deletion completes when they close it.
      request.onblocked = () => resolve()
    })
  }
}
