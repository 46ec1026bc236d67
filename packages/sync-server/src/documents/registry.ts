import { KvsyncError, isKvsyncError } from '@kvsync/shared'
import type { DocStorage } from '@kvsync/shared'
import { errorCode } from '../logger.js'
import type { Logger } from '../logger.js'
import type { ServerMetrics } from '../metrics/server-metrics.js'
import { AWARENESS_TIMEOUT_MS } from './awareness-relay.js'
import { hibernationCheckIntervalMs, hibernationDelayMs } from './hibernation.js'
import { ServerDocument } from './server-document.js'
import type { WriteQueue } from './write-queue.js'

/** Options of {@link DocumentRegistry}. */
export interface DocumentRegistryOptions {
  readonly storage: DocStorage
  readonly queue: WriteQueue
  readonly logger: Logger
  /** Unload a document this long after its last lease was released. */
  readonly idleUnloadMs: number
  /**
   * Hibernate a loaded document (keep only its encoded state) once it has not changed for this
   * long, longer for big ones (see `hibernationDelayMs`); `0` keeps every document awake.
   */
  readonly hibernateAfterMs: number
  /** Compact a document's stored updates once this many accumulated. */
  readonly compactAfterUpdates: number
  /** Sweep loaded documents (expired entries, old tombstones) this often. */
  readonly sweepIntervalMs: number
  /** Drop tombstones older than this (see docs/semantics.md, "tombstone retention"). */
  readonly tombstoneRetentionMs: number
  /** Bound on a document's updates waiting for missing dependencies; see `ServerDocument`. */
  readonly maxPendingBytes: number
  readonly metrics?: ServerMetrics
  /** Called after documents were unloaded or hibernated: their memory is garbage now. */
  readonly onMemoryFreed?: () => void
}

/**
 * A claim on one document: keeps it loaded until released. Every `open` must be matched by one
 * `release`, whether or not `ready` resolved.
 */
export interface DocumentLease {
  readonly name: string
  /**
   * The loaded document. Rejects with a `KvsyncError`: `STORAGE_FAILED` (storage unreachable),
   * `CORRUPT_DATA` (stored bytes unusable) or `STORE_CLOSED` (the registry is closing).
   */
  readonly ready: Promise<ServerDocument>
  /** Gives the claim back. Idempotent. */
  release(): void
}

/** Most time one turn of the event loop spends hibernating documents. */
const HIBERNATION_SLICE_MS = 10

interface Entry {
  readonly name: string
  readonly loading: Promise<ServerDocument>
  leases: number
  idleTimer: NodeJS.Timeout | undefined
}

/** One lease per connection: a plain object with a method, no closure per lease. */
class Lease implements DocumentLease {
  readonly ready: Promise<ServerDocument>
  readonly #entry: Entry
  readonly #release: (entry: Entry) => void
  #released = false

  constructor(entry: Entry, release: (entry: Entry) => void) {
    this.ready = entry.loading
    this.#entry = entry
    this.#release = release
  }

  get name(): string {
    return this.#entry.name
  }

  release(): void {
    if (this.#released) return
    this.#released = true
    this.#release(this.#entry)
  }
}

/**
 * Loads each store's document on first use and unloads it when idle, so memory stays bounded
 * with many stores. Concurrent opens of one store share one load. An idle document is compacted
 * before it is dropped; if it is opened again meanwhile, the in-memory copy is kept. Documents
 * that stay loaded (clients connected) but do not change are hibernated, and the awareness
 * states of every document are timed out, each by one timer for all documents.
 */
export class DocumentRegistry {
  readonly #options: DocumentRegistryOptions
  readonly #entries = new Map<string, Entry>()
  readonly #loaded = new Set<ServerDocument>()
  readonly #timers: NodeJS.Timeout[] = []
  readonly #releaseEntry = (entry: Entry): void => this.#release(entry)
  /** A hibernation slice is scheduled (see #hibernateSlice). */
  #hibernating = false
  #closing: Promise<void> | undefined

  constructor(options: DocumentRegistryOptions) {
    this.#options = options
    this.#every(options.sweepIntervalMs, () => this.sweepAll())
    // y-protocols checks every tenth of the timeout.
    this.#every(AWARENESS_TIMEOUT_MS / 10, () => this.expireAwareness(Date.now()))
    if (options.hibernateAfterMs > 0) this.#every(hibernationCheckIntervalMs(options.hibernateAfterMs), () => this.#hibernateSlice())
  }

  /**
   * Hibernates the awake documents that have not changed for their hibernation delay by `now`
   * (`performance.now()` time), until `budgetMs` of work is spent; returns how many, and
   * whether some were left for later. Does nothing with `hibernateAfterMs` 0. A failure is
   * logged and leaves that document awake.
   */
  hibernateIdle(now: number, budgetMs = Infinity): { hibernated: number; more: boolean } {
    const started = performance.now()
    let hibernated = 0
    if (this.#options.hibernateAfterMs === 0) return { hibernated, more: false }
    let more = false
    for (const document of this.#loaded) {
      if (document.hibernated || now - document.changedAt < hibernationDelayMs(this.#options.hibernateAfterMs, document.sizeBytes)) continue
      try {
        if (document.hibernate()) hibernated++
      } catch (error) {
        this.#options.logger.error('hibernating failed', { doc: document.name, code: errorCode(error), error })
      }
      // Checked after each document, so every slice makes progress.
      if (performance.now() - started >= budgetMs) {
        more = true
        break
      }
    }
    if (hibernated > 0) this.#options.onMemoryFreed?.()
    return { hibernated, more }
  }

  /**
   * One timer tick of hibernation. Encoding is synchronous (about 0.1 ms for 100 keys), so when
   * thousands of stores fall idle together the work is cut into slices of
   * {@link HIBERNATION_SLICE_MS}, the next one after the I/O that arrived meanwhile.
   */
  #hibernateSlice(): void {
    if (this.#hibernating || this.#closing !== undefined) return
    const { more } = this.hibernateIdle(performance.now(), HIBERNATION_SLICE_MS)
    if (!more) return
    this.#hibernating = true
    setImmediate(() => {
      this.#hibernating = false
      this.#hibernateSlice()
    })
  }

  /** Removes awareness states not renewed in time, in every loaded document. */
  expireAwareness(now: number): void {
    for (const document of this.#loaded) document.expireAwareness(now)
  }

  /** Number of loaded documents that are hibernated. */
  get hibernatedCount(): number {
    let count = 0
    for (const document of this.#loaded) if (document.hibernated) count++
    return count
  }

  /** Sweeps every loaded document now; returns the totals. */
  sweepAll(): { expired: number; purged: number } {
    const totals = { expired: 0, purged: 0 }
    for (const document of this.#loaded) {
      try {
        const { expired, purged } = document.sweep()
        totals.expired += expired
        totals.purged += purged
      } catch (error) {
        this.#options.logger.error('sweep failed', { doc: document.name, code: errorCode(error), error })
      }
    }
    if (totals.expired + totals.purged > 0) this.#options.logger.debug('swept', totals)
    return totals
  }

  /** Number of documents loaded or loading. */
  get size(): number {
    return this.#entries.size
  }

  /** Whether `name` is loaded or loading. */
  has(name: string): boolean {
    return this.#entries.has(name)
  }

  /** Claims the document `name`, loading it from storage if needed. */
  open(name: string): DocumentLease {
    if (this.#closing !== undefined) {
      const ready = Promise.reject(new KvsyncError('STORE_CLOSED', `cannot open ${JSON.stringify(name)}: the server is closing`))
      return { name, ready, release() {} }
    }
    let entry = this.#entries.get(name)
    if (entry === undefined) {
      entry = { name, loading: this.#load(name), leases: 0, idleTimer: undefined }
      this.#entries.set(name, entry)
    }
    entry.leases++
    clearTimeout(entry.idleTimer)
    entry.idleTimer = undefined
    return new Lease(entry, this.#releaseEntry)
  }

  /**
   * Compacts and drops every document after the queued writes are done. New opens are refused
   * from the first call on. Rejects with `PERSISTENCE_FAILED` if some updates could not be stored.
   */
  close(): Promise<void> {
    this.#closing ??= this.#closeAll()
    return this.#closing
  }

  async #load(name: string): Promise<ServerDocument> {
    const { storage, queue, logger, compactAfterUpdates, tombstoneRetentionMs, maxPendingBytes, metrics } = this.#options
    try {
      const storedUpdates = await storage.loadUpdates(name)
      const document = ServerDocument.load({ name, storedUpdates, queue, compactAfterUpdates, tombstoneRetentionMs, logger, maxPendingBytes, ...(metrics !== undefined ? { metrics } : {}) })
      queue.noteLoaded(name, storedUpdates.length)
      this.#loaded.add(document)
      document.sweep()
      metrics?.storesLoaded.inc()
      logger.debug('loaded', { doc: name, updates: storedUpdates.length })
      return document
    } catch (cause) {
      this.#entries.delete(name)
      const error = isKvsyncError(cause, 'CORRUPT_DATA')
        ? cause
        : new KvsyncError('STORAGE_FAILED', `cannot load ${JSON.stringify(name)} from storage`, { cause })
      metrics?.errors.inc({ code: error.code })
      logger.error('loading a store failed', { doc: name, code: error.code, error: cause })
      throw error
    }
  }

  #release(entry: Entry): void {
    entry.leases--
    if (entry.leases > 0 || this.#closing !== undefined || this.#entries.get(entry.name) !== entry) return
    entry.idleTimer = setTimeout(() => {
      entry.idleTimer = undefined
      void this.#unload(entry)
    }, this.#options.idleUnloadMs)
    // An idle document must not keep the process alive.
    entry.idleTimer.unref()
  }

  async #unload(entry: Entry): Promise<void> {
    let document: ServerDocument
    try {
      document = await entry.loading
    } catch {
      return
    }
    try {
      await document.compact()
    } catch (error) {
      // Only a closing queue rejects; close() takes over this document.
      this.#options.logger.debug('unload interrupted by close', { doc: entry.name, code: errorCode(error) })
      return
    }
    // Opened again while compacting, or closing: keep the in-memory copy.
    if (entry.leases > 0 || this.#closing !== undefined || this.#entries.get(entry.name) !== entry) return
    this.#entries.delete(entry.name)
    this.#loaded.delete(document)
    this.#options.queue.forget(entry.name)
    document.destroy()
    this.#options.metrics?.storesUnloaded.inc()
    this.#options.onMemoryFreed?.()
    this.#options.logger.debug('unloaded', { doc: entry.name })
  }

  #every(ms: number, tick: () => void): void {
    const timer = setInterval(tick, ms)
    // Housekeeping must not keep the process alive.
    timer.unref()
    this.#timers.push(timer)
  }

  async #closeAll(): Promise<void> {
    for (const timer of this.#timers) clearInterval(timer)
    const entries = [...this.#entries.values()]
    for (const entry of entries) clearTimeout(entry.idleTimer)
    const documents: ServerDocument[] = []
    await Promise.all(
      entries.map(async (entry) => {
        try {
          documents.push(await entry.loading)
        } catch {
          // Never loaded: nothing to save.
        }
      }),
    )
    const compactions = documents.map((document) =>
      document.compact().catch((error: unknown) => {
        this.#options.logger.error('final compaction failed', { doc: document.name, code: errorCode(error), error })
      }),
    )
    try {
      await this.#options.queue.close()
    } finally {
      await Promise.all(compactions)
      for (const document of documents) document.destroy()
      this.#entries.clear()
      this.#loaded.clear()
    }
  }
}
