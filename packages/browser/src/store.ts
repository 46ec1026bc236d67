import { KvRegister, KvsyncError, type KvSetOptions, type KvValue } from '@kvsync/shared'
import * as Y from 'yjs'
import { CommitQueue } from './commit-queue.js'
import type { LocalPersistence } from './storage/types.js'
import { Subscriptions, type StoreEvent, type SubscriptionTarget } from './subscriptions.js'
import { SyncConnection, type SyncConnectionOptions, type SyncStatus } from './sync/connection.js'

/** Origin of the transaction that applies what persistence loaded (it need not be saved again). */
const LOADED = Symbol('kvsync.loaded')

/** A prefix filter for {@link Store.keys}, {@link Store.entries} and {@link Store.subscribe}. */
export interface PrefixQuery {
  prefix?: string
}

/** @internal What {@link openStore} hands to the store it builds. */
export interface StoreParts {
  name: string
  persistence: LocalPersistence
  sync: Omit<SyncConnectionOptions, 'doc' | 'onStatus' | 'onError' | 'storeName'> | undefined
  now?: (() => number) | undefined
  maxValueBytes?: number | undefined
  compactAfter?: number | undefined
}

/**
 * An open store: a key-value map kept in memory, persisted locally and synced with a server.
 * Reads are synchronous; writes apply at once in memory and their promise resolves when they
 * are durable locally (they never wait for the network). Create one with `openStore`.
 */
export class Store {
  /** The store's name, as given to `openStore`. */
  readonly name: string
  private readonly doc = new Y.Doc()
  private readonly register: KvRegister
  private readonly persistence: LocalPersistence
  private readonly commits: CommitQueue
  private readonly subscriptions = new Subscriptions()
  private readonly statusListeners = new Set<(status: SyncStatus) => void>()
  private readonly errorListeners = new Set<(error: KvsyncError) => void>()
  private readonly closeListeners = new Set<() => void>()
  private readonly connection: SyncConnection | undefined
  private closed = false

  /** @internal Use `openStore`. */
  constructor(parts: StoreParts) {
    this.name = parts.name
    this.persistence = parts.persistence
    this.register = new KvRegister(this.doc, {
      now: parts.now,
      maxValueBytes: parts.maxValueBytes,
      onInvalidEntry: (report) =>
        this.reportError(new KvsyncError('CORRUPT_DATA', `ignored a malformed entry ${report.client}:${report.clock} (${report.reason})`)),
    })
    this.register.onChange((changes) => this.subscriptions.dispatch(changes))
    this.commits = new CommitQueue({
      persistence: this.persistence,
      snapshot: () => Y.encodeStateAsUpdateV2(this.doc),
      compactAfter: parts.compactAfter,
      onError: (error) => this.reportError(error),
    })
    this.doc.on('updateV2', (update: Uint8Array, origin: unknown) => {
      if (origin !== LOADED) void this.commits.add(update)
    })
    this.connection =
      parts.sync === undefined
        ? undefined
        : new SyncConnection({
            ...parts.sync,
            doc: this.doc,
            storeName: parts.name,
            onStatus: (status) => this.statusListeners.forEach((listener) => listener(status)),
            onError: (error) => this.reportError(error),
          })
  }

  /** @internal Loads persisted state, then starts syncing. */
  async start(): Promise<void> {
    const updates = await this.persistence.load()
    try {
      Y.transact(this.doc, () => updates.forEach((update) => Y.applyUpdateV2(this.doc, update)), LOADED)
    } catch (error) {
      throw new KvsyncError('CORRUPT_DATA', `store "${this.name}" has a stored update that cannot be decoded; it was left as is`, { cause: error })
    }
    this.connection?.start()
  }

  /** The value of `key`, or `undefined` when it has none (never set, deleted or expired). */
  get<T extends KvValue = KvValue>(key: string): T | undefined {
    this.assertOpen()
    return this.register.get(key) as T | undefined
  }

  /** Whether `key` has a value. */
  has(key: string): boolean {
    this.assertOpen()
    return this.register.has(key)
  }

  /** Keys with a value, sorted; only those starting with `prefix` when given. */
  keys(query: PrefixQuery = {}): string[] {
    this.assertOpen()
    return this.register.keys(query.prefix)
  }

  /** `[key, value]` pairs, sorted by key; only keys starting with `prefix` when given. */
  entries<T extends KvValue = KvValue>(query: PrefixQuery = {}): Array<[string, T]> {
    this.assertOpen()
    return this.register.entries(query.prefix) as Array<[string, T]>
  }

  /** Number of keys with a value. */
  get size(): number {
    this.assertOpen()
    return this.register.size
  }

  /**
   * Sets `key` to `value`, at once in memory. The promise resolves when the write is durable
   * locally (one commit for all writes of the same task). Invalid input throws a `KvsyncError`
   * synchronously (`INVALID_KEY`, `INVALID_VALUE`, `VALUE_TOO_LARGE`, `INVALID_OPTION`) and
   * stores nothing; the promise rejects only when saving fails (`QUOTA_EXCEEDED`,
   * `PERSISTENCE_FAILED`), in which case the value stays in memory and is saved again later.
   */
  set(key: string, value: KvValue, options?: KvSetOptions): Promise<void> {
    this.assertOpen()
    this.register.set(key, value, options)
    return this.committed()
  }

  /** Deletes `key`. Resolves when the delete is durable locally. */
  delete(key: string): Promise<void> {
    this.assertOpen()
    this.register.delete(key)
    return this.committed()
  }

  /**
   * Runs `fn` (synchronous) as one batch: its writes become one update, one local commit and
   * one message to the server. If `fn` throws, writes it made before throwing are kept.
   */
  transact(fn: () => void): Promise<void> {
    this.assertOpen()
    this.register.transact(fn)
    return this.committed()
  }

  /** Resolves when every write made so far is durable locally (or has failed). */
  flush(): Promise<void> {
    return this.commits.flush()
  }

  /**
   * Calls `callback` for each change: of `target` when it is a key, of keys under
   * `target.prefix`, or of every key when no target is given. Returns an unsubscribe function.
   */
  subscribe(callback: (event: StoreEvent) => void): () => void
  subscribe(target: string | { prefix: string }, callback: (event: StoreEvent) => void): () => void
  subscribe(
    targetOrCallback: string | { prefix: string } | ((event: StoreEvent) => void),
    maybeCallback?: (event: StoreEvent) => void,
  ): () => void {
    this.assertOpen()
    const target: SubscriptionTarget = typeof targetOrCallback === 'function' ? undefined : targetOrCallback
    const callback = typeof targetOrCallback === 'function' ? targetOrCallback : maybeCallback
    if (typeof callback !== 'function') throw new KvsyncError('INVALID_OPTION', 'subscribe needs a callback function')
    if (target !== undefined && typeof target !== 'string' && typeof target?.prefix !== 'string') {
      throw new KvsyncError('INVALID_OPTION', 'subscribe target must be a key or { prefix }')
    }
    return this.subscriptions.add(target, callback)
  }

  /** Where the store stands with its server; always `offline` for a local-only store. */
  get status(): SyncStatus {
    return this.connection?.currentStatus ?? 'offline'
  }

  /** Calls `listener` on every status change. Returns an unsubscribe function. */
  onStatusChange(listener: (status: SyncStatus) => void): () => void {
    this.statusListeners.add(listener)
    return () => this.statusListeners.delete(listener)
  }

  /**
   * Calls `listener` with errors that no promise carries: failed background saves, malformed
   * entries written by other clients, errors from the server. Returns an unsubscribe function.
   */
  onError(listener: (error: KvsyncError) => void): () => void {
    this.errorListeners.add(listener)
    return () => this.errorListeners.delete(listener)
  }

  /**
   * Resolves once the store has exchanged state with the server (status `synced`). Rejects with
   * `INVALID_OPTION` for a store opened without a server URL, and with `STORE_CLOSED` if the
   * store is closed first.
   */
  whenSynced(): Promise<void> {
    if (this.connection === undefined) return Promise.reject(new KvsyncError('INVALID_OPTION', `store "${this.name}" has no server url`))
    if (this.status === 'synced') return Promise.resolve()
    return new Promise((resolve, reject) => {
      const offStatus = this.onStatusChange((status) => {
        if (status !== 'synced') return
        offStatus()
        offClose()
        resolve()
      })
      const offClose = this.onClose(() => {
        offStatus()
        reject(new KvsyncError('STORE_CLOSED', `store "${this.name}" was closed`))
      })
    })
  }

  /** Stops syncing, waits for pending local writes, and releases the database. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.connection?.stop()
    await this.commits.flush()
    this.commits.dispose()
    this.closeListeners.forEach((listener) => listener())
    this.register.destroy()
    this.subscriptions.clear()
    this.doc.destroy()
    await this.persistence.close()
  }

  private onClose(listener: () => void): () => void {
    this.closeListeners.add(listener)
    return () => this.closeListeners.delete(listener)
  }

  private committed(): Promise<void> {
    return this.commits.pending() ?? this.commits.flush()
  }

  private assertOpen(): void {
    if (this.closed) throw new KvsyncError('STORE_CLOSED', `store "${this.name}" is closed`)
  }

  private reportError(error: KvsyncError): void {
    if (this.errorListeners.size === 0) {
      console.warn(`[kvsync] store "${this.name}": ${error.code}: ${error.message}`)
      return
    }
    this.errorListeners.forEach((listener) => listener(error))
  }
}
