import { KV_ARRAY_NAME, KvRegister, KvsyncError, forEachAddedItem, type KvChange, type KvEntry, type KvValue } from '@kvsync/shared'
import * as Y from 'yjs'
import { MaterializedView, encodeRow, type StoredView } from './storage/materialized.js'
import type { MaterializedRows } from './storage/types.js'

/** Transaction origins of updates that must not be saved again by this instance. */
export const Origins = {
  /** What persistence loaded at open. */
  loaded: Symbol('kvsync.loaded'),
  /** An update another tab committed (and broadcast after its commit). */
  tab: Symbol('kvsync.tab'),
  /** An update another tab failed to commit (it is in memory only, in that tab). */
  tabUnsaved: Symbol('kvsync.tab-unsaved'),
  /** Stored updates another tab committed, read back during compaction. */
  absorbed: Symbol('kvsync.absorbed'),
} as const

const notSaved: ReadonlySet<unknown> = new Set(Object.values(Origins))

/** Whether an update with this transaction origin must be committed by this instance. */
export function mustSave(origin: unknown): boolean {
  return !notSaved.has(origin)
}

/** Options of {@link Replica}. */
export interface ReplicaOptions {
  name: string
  now?: (() => number) | undefined
  maxValueBytes?: number | undefined
  onChanges: (changes: KvChange[]) => void
  onError: (error: KvsyncError) => void
}

/**
 * The in-memory copy of a store: its Yjs document and register, and — until the document has
 * been decoded — the materialized view that answers reads meanwhile. Tracks the keys whose
 * winning entry may have changed, so commits can write their materialized rows.
 *
 * Decoding a 100k-key document takes about half a second; the view lets `openStore` resolve
 * before that. Reads switch to the register the moment the document is loaded; writes load it
 * first (synchronously: the stored updates are already in memory).
 */
export class Replica {
  readonly doc = new Y.Doc()
  private register: KvRegister | undefined
  private view: MaterializedView | undefined
  private pending: Uint8Array[] | undefined
  private failure: unknown
  private arrival: Promise<void> = Promise.resolve()
  private readonly dirty = new Set<string>()
  private readonly loadedListeners: Array<() => void> = []

  constructor(private readonly options: ReplicaOptions) {}

  /** Whether the document is decoded (reads come from the register). */
  get loaded(): boolean {
    return this.register !== undefined
  }

  /** Takes what persistence loaded and decodes it now. Throws `CORRUPT_DATA`. */
  init(updates: Uint8Array[]): void {
    this.decode(updates)
  }

  /**
   * Serves reads from the materialized view until the document is decoded ({@link load}),
   * which needs the stored updates: they may still be arriving ({@link arrived}).
   */
  initFromView(view: StoredView, updates: Promise<Uint8Array[]>): void {
    this.view = new MaterializedView(view, this.options.now ?? Date.now)
    this.arrival = updates.then(
      (bytes) => {
        this.pending = bytes
      },
      (error: unknown) => {
        this.failure = error
      },
    )
  }

  /** Whether {@link load} can run now (the stored updates are in memory, or it already ran). */
  get canLoad(): boolean {
    return this.register !== undefined || this.pending !== undefined || this.failure !== undefined
  }

  /** Resolves once {@link canLoad}. */
  arrived(): Promise<void> {
    return this.arrival
  }

  /** Decodes the document if it is not yet. Synchronous; throws `CORRUPT_DATA`. */
  load(): KvRegister {
    if (this.register !== undefined) return this.register
    // A failed decode is final: the document may hold part of the data, so it must never be
    // written to (and saved) as if it were the store.
    if (this.failure !== undefined) throw this.failure
    if (this.pending === undefined) throw new KvsyncError('PERSISTENCE_FAILED', `store "${this.options.name}" is still loading`)
    try {
      this.decode(this.pending)
    } catch (error) {
      this.failure = error
      throw error
    }
    this.pending = undefined
    return this.register!
  }

  /** Calls `listener` once the document is loaded (at once if it is). */
  onLoaded(listener: () => void): void {
    if (this.register !== undefined) listener()
    else this.loadedListeners.push(listener)
  }

  /** Reads: the register once loaded, the materialized view before. */
  get reader(): Pick<KvRegister, 'get' | 'has' | 'keys' | 'entries' | 'size'> {
    return this.register ?? this.view ?? this.load()
  }

  /** Applies an update from elsewhere (another tab), loading the document first. */
  apply(update: Uint8Array, origin: unknown): void {
    this.load()
    Y.applyUpdateV2(this.doc, update, origin)
  }

  /** The full state, for compaction. */
  snapshot(): Uint8Array {
    this.load()
    return Y.encodeStateAsUpdateV2(this.doc)
  }

  /**
   * Rows of the keys changed since the last call; forgets them. `undefined` (and nothing
   * encoded) when more than `limit` keys changed: the caller writes the whole view instead.
   */
  takeRows(limit = Infinity): MaterializedRows | undefined {
    const rows = new Map<string, Uint8Array>()
    if (this.register === undefined) return rows
    if (this.dirty.size > limit) {
      this.dirty.clear()
      return undefined
    }
    for (const key of this.dirty) {
      const entry = this.register.entry(key)
      if (entry !== undefined) rows.set(key, encodeRow(entry))
    }
    this.dirty.clear()
    return rows
  }

  /** Rows of every key with an entry (rebuilding the view). */
  allRows(): MaterializedRows {
    const register = this.load()
    this.dirty.clear()
    const rows = new Map<string, Uint8Array>()
    // Keys with an entry are those of the register's index; visible or not, the row is kept.
    for (const [key, entry] of register.winners()) rows.set(key, encodeRow(entry))
    return rows
  }

  /** Every key's winning entry (rebuilding the view; like {@link allRows}, without encoding rows). */
  allEntries(): Array<[string, KvEntry]> {
    const register = this.load()
    this.dirty.clear()
    return Array.from(register.winners())
  }

  /** The register (loading the document), for writes. */
  writer(): KvRegister {
    return this.load()
  }

  get<T extends KvValue>(key: string): T | undefined {
    return this.reader.get(key) as T | undefined
  }

  destroy(): void {
    this.register?.destroy()
    this.doc.destroy()
  }

  /**
   * Marks the keys whose winner this transaction changed: those of the items it added that the
   * register took as winners. (An added item that lost, or was superseded within the
   * transaction, leaves its key's row as it was, or another added item marks it.) Registered
   * after the register's own listener, so its index is up to date here.
   */
  private markAdded(transaction: Y.Transaction, array: Y.Array<Uint8Array>, register: KvRegister): void {
    forEachAddedItem(transaction, array, (item) => {
      const key = register.keyOf(item)
      if (key !== undefined) this.dirty.add(key)
    })
  }

  private decode(updates: Uint8Array[]): void {
    try {
      Y.transact(this.doc, () => updates.forEach((update) => Y.applyUpdateV2(this.doc, update)), Origins.loaded)
    } catch (error) {
      throw new KvsyncError('CORRUPT_DATA', `store "${this.options.name}" has a stored update that cannot be decoded; it was left as is`, { cause: error })
    }
    // Built on the loaded document, the register indexes it without announcing every key as a
    // change: subscribers already saw these values through the materialized view.
    const register = new KvRegister(this.doc, {
      now: this.options.now,
      maxValueBytes: this.options.maxValueBytes,
      onInvalidEntry: (report) =>
        this.options.onError(new KvsyncError('CORRUPT_DATA', `ignored a malformed entry ${report.client}:${report.clock} (${report.reason})`)),
    })
    register.onChange((changes) => this.options.onChanges(changes))
    const array = this.doc.getArray<Uint8Array>(KV_ARRAY_NAME)
    this.doc.on('afterTransaction', (transaction: Y.Transaction) => {
      // Updates other tabs committed carry their rows already (see storage/types.ts).
      if (mustSave(transaction.origin)) this.markAdded(transaction, array, register)
    })
    this.register = register
    this.view = undefined
    for (const listener of this.loadedListeners.splice(0)) listener()
  }
}
