import { DEFAULT_MAX_VALUE_BYTES, KvOrigins, KvsyncError, ScannedEntries, assertKey, storedUpdateBytes, encodeValue, resolveExpiresAt, type KvRegister, type KvSetOptions, type KvValue } from '@kvsync/shared'
import * as Y from 'yjs'
import { CommitQueue } from './commit-queue.js'
import { PendingWrites, type PendingOp } from './pending-writes.js'
import { Origins, Replica, mustSave } from './replica.js'
import type { LocalPersistence } from './storage/types.js'
import { Subscriptions, type StoreEvent, type SubscriptionTarget } from './subscriptions.js'
import { DurableAcks } from './sync/acks.js'
import { WriteEvents } from './write-events.js'
import type { SyncStatus } from './sync/connection.js'
import { SyncHub, type ServerOptions } from './sync/hub.js'

/** A prefix filter for {@link Store.keys}, {@link Store.entries} and {@link Store.subscribe}. */
export interface PrefixQuery {
  prefix?: string
}

/** @internal What {@link openStore} hands to the store it builds. */
export interface StoreParts {
  name: string
  persistence: LocalPersistence
  sync: ServerOptions | undefined
  /** Coordinate with other tabs of this origin (see SyncHub). */
  tabs: boolean
  now?: (() => number) | undefined
  maxValueBytes?: number | undefined
  compactAfter?: number | undefined
  /** Stores with more stored bytes than this are decoded after `openStore` resolves. */
  backgroundLoadBytes?: number | undefined
  /** Local-only stores: how often expired entries and old tombstones are swept. */
  sweepIntervalMs?: number | undefined
  /** Local-only stores: how long tombstones are kept (docs/semantics.md). */
  tombstoneRetentionMs?: number | undefined
}

/** Defaults of the local-only sweep: the same as the sync server's. */
const SWEEP_INTERVAL_MS = 60_000
const TOMBSTONE_RETENTION_MS = 30 * 24 * 3600 * 1000

/** Default of {@link StoreParts.backgroundLoadBytes}: smaller stores decode in a few ms. */
const BACKGROUND_LOAD_BYTES = 256 * 1024

/**
 * An open store: a key-value map kept in memory, persisted locally and synced with a server.
 * Reads are synchronous; writes apply at once in memory and their promise resolves when they
 * are durable locally (they never wait for the network). Create one with `openStore`.
 */
export class Store {
  /** The store's name, as given to `openStore`. */
  readonly name: string
  private readonly replica: Replica
  private readonly persistence: LocalPersistence
  private readonly commits: CommitQueue
  private readonly hub: SyncHub
  private readonly acks = new DurableAcks()
  private readonly subscriptions = new Subscriptions()
  private readonly statusListeners = new Set<(status: SyncStatus) => void>()
  private readonly errorListeners = new Set<(error: KvsyncError) => void>()
  private readonly closeListeners = new Set<() => void>()
  private readonly hasServer: boolean
  private readonly backgroundLoadBytes: number
  private readonly sweepIntervalMs: number
  private readonly tombstoneRetentionMs: number
  private sweepTimer: ReturnType<typeof setInterval> | undefined
  private loadTimer: ReturnType<typeof setTimeout> | undefined
  private loading: Promise<void> | undefined
  /** Writes of the current task, not yet applied to the document. */
  private readonly pending: PendingWrites
  private readonly writeEvents: WriteEvents
  private loadFailed = false
  private readonly now: () => number
  private readonly maxValueBytes: number
  private closed = false

  /** @internal Use `openStore`. */
  constructor(parts: StoreParts) {
    this.name = parts.name
    this.persistence = parts.persistence
    this.hasServer = parts.sync !== undefined
    this.backgroundLoadBytes = parts.backgroundLoadBytes ?? BACKGROUND_LOAD_BYTES
    this.sweepIntervalMs = parts.sweepIntervalMs ?? SWEEP_INTERVAL_MS
    this.tombstoneRetentionMs = parts.tombstoneRetentionMs ?? TOMBSTONE_RETENTION_MS
    this.now = parts.now ?? Date.now
    this.maxValueBytes = parts.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES
    this.pending = new PendingWrites(this.now)
    this.writeEvents = new WriteEvents(this.subscriptions, (key) => this.get(key))
    this.replica = new Replica({
      name: parts.name,
      now: parts.now,
      maxValueBytes: parts.maxValueBytes,
      onChanges: (changes) => this.subscriptions.dispatch(changes),
      wantsChanges: () => this.subscriptions.size > 0,
      onError: (error) => this.reportError(error),
    })
    const doc = this.replica.doc
    this.hub = new SyncHub({
      storeName: parts.name,
      replica: this.replica,
      persistence: parts.persistence,
      acks: this.acks,
      server: parts.sync,
      tabs: parts.tabs,
      onStatus: (status) => this.statusListeners.forEach((listener) => listener(status)),
      onError: (error) => this.reportError(error),
      onDestroyed: () => {
        this.reportError(new KvsyncError('STORE_CLOSED', `store "${this.name}" was destroyed in another tab`))
        void this.close()
      },
    })
    this.commits = new CommitQueue({
      persistence: this.persistence,
      snapshot: () => this.replica.snapshot(),
      absorb: (updates) => updates.forEach((update) => this.replica.apply(update, Origins.absorbed)),
      compactAfter: parts.compactAfter,
      beforeCommit: () => this.applyPending(),
      onError: (error) => this.reportError(error),
      onCommitted: (updates, records) => this.hub.committed(updates, records, true),
      onFailed: (updates) => this.hub.committed(updates, [], false),
      onCompacted: (record) => this.hub.compacted(record),
    })
    // V1, the encoding the sync connection sends: Yjs encodes each transaction once for both.
    doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (mustSave(origin)) void this.commits.add(update)
    })
    doc.on('afterTransaction', (transaction: Y.Transaction) => {
      if (transaction.origin === KvOrigins.local) this.acks.recordLocal(doc.clientID, Y.getState(doc.store, doc.clientID))
    })
  }

  /** @internal Loads persisted state, then starts syncing. */
  async start(): Promise<void> {
    const updates = await this.persistence.load()
    this.replica.onLoaded(() => {
      this.hub.start()
      this.startLocalSweeps()
    })
    let bytes = 0
    for (const update of updates) bytes += storedUpdateBytes(update).byteLength
    // Big store: answer reads from the stored bytes now, decode the document in a later task.
    const view = bytes > this.backgroundLoadBytes ? ScannedEntries.scan(updates, this.now) : undefined
    if (view !== undefined) {
      this.replica.initFromView(view, updates)
      this.loadTimer = setTimeout(() => void this.whenLoaded().catch(() => {}), 0)
      return
    }
    this.replica.init(updates)
  }

  /**
   * Resolves once the whole document is decoded. Until then (big stores, right after
   * `openStore`) reads are answered from the entries scanned from the stored updates, and the
   * first write decodes it. Rejects with `CORRUPT_DATA` if a stored update cannot be decoded
   * (writes then throw it too).
   */
  whenLoaded(): Promise<void> {
    this.loading ??= Promise.resolve().then(() => {
      if (this.loadTimer !== undefined) clearTimeout(this.loadTimer)
      this.loadTimer = undefined
      if (!this.closed) this.writer()
    })
    return this.loading
  }

  /**
   * A store with a server leaves sweeping to the server (its tombstones reach every client). A
   * local-only store has nobody else to do it, so it sweeps itself: expired entries become
   * tombstones and tombstones past retention are dropped, so its stored state does not grow.
   */
  private startLocalSweeps(): void {
    if (this.hasServer || this.closed) return
    const sweep = (): void => {
      if (this.closed) return
      const register = this.replica.writer()
      register.sweepExpired()
      register.purgeTombstones(this.tombstoneRetentionMs)
    }
    sweep()
    this.sweepTimer = setInterval(sweep, this.sweepIntervalMs)
    // Sweeping alone must not keep a Node process alive.
    ;(this.sweepTimer as { unref?: () => void }).unref?.()
  }

  /** The register, decoding the document first if needed; a failure is reported once. */
  private writer(): KvRegister {
    try {
      return this.replica.writer()
    } catch (error) {
      const failure = error instanceof KvsyncError ? error : new KvsyncError('CORRUPT_DATA', 'loading failed', { cause: error })
      if (!this.loadFailed) {
        this.loadFailed = true
        this.pending.clear()
        this.reportError(failure)
      }
      throw failure
    }
  }

  /** The value of `key`, or `undefined` when it has none (never set, deleted or expired). */
  get<T extends KvValue = KvValue>(key: string): T | undefined {
    this.assertOpen()
    const pending = this.pending.read(key)
    if (pending !== undefined) return pending.value as T | undefined
    return this.replica.get<T>(key)
  }

  /** Whether `key` has a value. */
  has(key: string): boolean {
    this.assertOpen()
    return this.pending.has(key) ?? this.replica.reader.has(key)
  }

  /** Keys with a value, sorted; only those starting with `prefix` when given. */
  keys(query: PrefixQuery = {}): string[] {
    this.assertOpen()
    const keys = this.replica.reader.keys(query.prefix)
    return this.pending.size === 0 ? keys : this.pending.overlayKeys(keys, query.prefix ?? '')
  }

  /** `[key, value]` pairs, sorted by key; only keys starting with `prefix` when given. */
  entries<T extends KvValue = KvValue>(query: PrefixQuery = {}): Array<[string, T]> {
    this.assertOpen()
    if (this.pending.size === 0) return this.replica.reader.entries(query.prefix) as Array<[string, T]>
    return this.keys(query).map((key) => [key, this.get<T>(key)!])
  }

  /** Number of keys with a value. */
  get size(): number {
    this.assertOpen()
    if (this.pending.size === 0) return this.replica.reader.size
    return this.keys().length
  }

  /**
   * Sets `key` to `value`, at once in memory: reads and subscribers see it at once. The promise
   * resolves when the write is durable locally: its IndexedDB transaction committed with the
   * store's `durability` (one commit for all writes of the same task, which also reach the
   * document together, as one Yjs transaction, at the end of the task). Invalid input throws a
   * `KvsyncError` synchronously (`INVALID_KEY`, `INVALID_VALUE`, `VALUE_TOO_LARGE`,
   * `INVALID_OPTION`) and stores nothing; the promise
   * rejects only when saving fails (`QUOTA_EXCEEDED`, `PERSISTENCE_FAILED`), in which case the
   * value stays in memory (and syncs) and is saved again once storage works.
   */
  set(key: string, value: KvValue, options?: KvSetOptions): Promise<void> {
    this.assertOpen()
    assertKey(key)
    const bytes = encodeValue(value, this.maxValueBytes)
    return this.write({ key, value: bytes, expiresAt: resolveExpiresAt(options, this.now()) })
  }

  /** Deletes `key`. Resolves when the delete is durable locally. */
  delete(key: string): Promise<void> {
    this.assertOpen()
    assertKey(key)
    return this.write({ key, value: undefined, expiresAt: undefined })
  }

  /**
   * Runs `fn` (synchronous) as one batch: its writes become one update, one local commit and
   * one message to the server, and subscribers get one event per key changed, after `fn`. If
   * `fn` throws, writes it made before throwing are kept.
   */
  transact(fn: () => void): Promise<void> {
    this.assertOpen()
    const committed = this.writeTarget()
    this.writeEvents.batch(fn, () => this.closed)
    return committed
  }

  /** Resolves when every write made so far is durable locally (or has failed). */
  async flush(): Promise<void> {
    this.applyPending()
    await this.commits.flush()
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

  /**
   * Where the store stands with its server; always `offline` for a local-only store. In a tab
   * that does not hold the connection, this is the leader tab's status (and `synced` once this
   * tab also has what the leader had when it synced).
   */
  get status(): SyncStatus {
    return this.hub.currentStatus
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
    if (!this.hasServer) return Promise.reject(new KvsyncError('INVALID_OPTION', `store "${this.name}" has no server url`))
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

  /**
   * Resolves once every write made through this store object so far is durable on the server
   * (the server's durable acknowledgement covers it). Writes keep their place when the
   * connection drops: the promise waits across reconnects and leader changes. Rejects with
   * `INVALID_OPTION` without a server URL and `STORE_CLOSED` if the store closes first.
   */
  whenSaved(): Promise<void> {
    if (!this.hasServer) return Promise.reject(new KvsyncError('INVALID_OPTION', `store "${this.name}" has no server url`))
    if (this.closed) return Promise.reject(new KvsyncError('STORE_CLOSED', `store "${this.name}" is closed`))
    // This task's writes get their Yjs clock once applied.
    this.applyPending()
    return this.acks.wait()
  }

  /**
   * How many key writes made through this store object the server has not yet acknowledged as
   * durable (0 when all are saved on the server). A write counts from the end of its task, when
   * it reaches the document. See {@link onUnsavedChange}.
   */
  get unsavedWrites(): number {
    return this.acks.unsaved
  }

  /** Calls `listener` with {@link unsavedWrites} whenever it changes. Returns an unsubscribe. */
  onUnsavedChange(listener: (unsavedWrites: number) => void): () => void {
    return this.acks.onChange(listener)
  }

  /** Stops syncing, waits for pending local writes, and releases the database. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.loadTimer !== undefined) clearTimeout(this.loadTimer)
    if (this.sweepTimer !== undefined) clearInterval(this.sweepTimer)
    this.applyPending()
    // Commit before leaving the tabs: each commit's broadcast is how the other tabs (and through
    // the leader, the server) get the writes made just before close(). A compaction under way
    // finishes too, before the storage is closed under it.
    await this.commits.settle()
    this.commits.dispose()
    this.hub.close()
    this.closeListeners.forEach((listener) => listener())
    this.acks.rejectAll(new KvsyncError('STORE_CLOSED', `store "${this.name}" was closed`))
    this.replica.destroy()
    this.subscriptions.clear()
    await this.persistence.close()
  }

  /**
   * Deletes this store's local data on purpose (the IndexedDB database), after closing it.
   * Other tabs that have the store open are told to close it (they report `STORE_CLOSED` through
   * their error listeners); the database is deleted once they have. Data on the server is kept.
   */
  async destroy(): Promise<void> {
    this.hub.destroying()
    await this.close()
    await this.persistence.destroy()
  }

  /**
   * @internal Another connection made the browser close our database (a newer kvsync upgrading
   * it, or a deletion): say so once; later commits fail (and report) until the store reopens.
   */
  databaseLost(): void {
    if (this.closed) return
    this.reportError(new KvsyncError('PERSISTENCE_FAILED', `store "${this.name}": another tab or a newer kvsync closed its database; writes stay in memory until the store is reopened`))
  }

  private onClose(listener: () => void): () => void {
    this.closeListeners.add(listener)
    return () => this.closeListeners.delete(listener)
  }

  /**
   * Queues a validated write: reads see it at once, subscribers hear of it at once (or at the
   * end of the enclosing `transact`), and the document gets it with every other write of this
   * task, in one transaction (see {@link applyPending}).
   */
  private write(op: PendingOp): Promise<void> {
    const committed = this.writeTarget()
    this.writeEvents.write(op.key, () => this.pending.push(op))
    return committed
  }

  /**
   * The promise of the commit that will hold a write made now: this task's commit. Loads the
   * document first if it is not yet (throws `CORRUPT_DATA` if it cannot be decoded).
   */
  private writeTarget(): Promise<void> {
    this.writer()
    return this.commits.touch()
  }

  /**
   * Gives the document the pending writes, in one silent transaction (their events went out
   * when they were made). Runs before each commit and in `flush`, `close` and `whenSaved`;
   * never from a read (reads merge the overlay instead): a read may run inside a React render,
   * where the listeners a transaction notifies (unsaved-write counts) must not fire. Does
   * nothing while the document is not decoded (no write was made yet).
   */
  private applyPending(): void {
    if (this.pending.size === 0 || !this.replica.loaded) return
    this.pending.apply(this.replica.writer())
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
