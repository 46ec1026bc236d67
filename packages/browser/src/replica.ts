import { KvRegister, KvsyncError, applyStoredUpdate, type KvChange, type KvValue, type ScannedEntries, type StoredUpdate } from '@kvsync/shared'
import * as Y from 'yjs'

/** Transaction origins of updates that must not be saved again by this instance. */
export const Origins = {
  /** What persistence loaded at open. */
  loaded: Symbol('kvsync.loaded'),
  /** An update another tab committed (and broadcast after its commit). */
  tab: Symbol('kvsync.tab'),
  /** An update another tab failed to commit (it is in memory only, in that tab). */
  tabUnsaved: Symbol('kvsync.tab-unsaved'),
  /** Stored updates another tab committed, read back from storage (compaction, tabs meeting). */
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
  /** Whether `onChanges` has anyone to tell (see KvRegisterOptions.wantsChanges). */
  wantsChanges: () => boolean
  onError: (error: KvsyncError) => void
}

/** What reads need: the register once the document is decoded, its scanned stand-in before. */
export type StoreReader = Pick<KvRegister, 'get' | 'has' | 'keys' | 'entries' | 'size'>

/**
 * The in-memory copy of a store: its Yjs document and register, and — until the document has
 * been decoded — the entries scanned from the stored updates (`ScannedEntries`), which answer
 * reads meanwhile.
 *
 * Decoding a 100k-key document takes about half a second; scanning its bytes a few tens of
 * milliseconds, so `openStore` can resolve before the decode. Reads switch to the register the
 * moment the document is loaded; writes load it first (synchronously: the stored updates are in
 * memory).
 */
export class Replica {
  readonly doc = new Y.Doc()
  private register: KvRegister | undefined
  private view: ScannedEntries | undefined
  /** Stored updates not decoded yet (while `view` answers reads). */
  private stored: StoredUpdate[] | undefined
  private failure: unknown
  private readonly loadedListeners: Array<() => void> = []

  constructor(private readonly options: ReplicaOptions) {}

  /** Whether the document is decoded (reads come from the register). */
  get loaded(): boolean {
    return this.register !== undefined
  }

  /** Takes what persistence loaded and decodes it now. Throws `CORRUPT_DATA`. */
  init(updates: StoredUpdate[]): void {
    this.decode(updates)
  }

  /** Serves reads from `view`, scanned from `updates`, until {@link load} decodes them. */
  initFromView(view: ScannedEntries, updates: StoredUpdate[]): void {
    this.view = view
    this.stored = updates
  }

  /** Decodes the document if it is not yet. Synchronous; throws `CORRUPT_DATA`. */
  load(): KvRegister {
    if (this.register !== undefined) return this.register
    // A failed decode is final: the document may hold part of the data, so it must never be
    // written to (and saved) as if it were the store.
    if (this.failure !== undefined) throw this.failure
    try {
      this.decode(this.stored ?? [])
    } catch (error) {
      this.failure = error
      throw error
    }
    this.stored = undefined
    return this.register!
  }

  /** Calls `listener` once the document is loaded (at once if it is). */
  onLoaded(listener: () => void): void {
    if (this.register !== undefined) listener()
    else this.loadedListeners.push(listener)
  }

  /** Reads: the register once loaded, the scanned entries before. */
  get reader(): StoreReader {
    return this.register ?? this.view ?? this.load()
  }

  /** Applies an update from elsewhere (another tab, or read back from storage), loading the document first. */
  apply(update: StoredUpdate, origin: unknown): void {
    this.load()
    applyStoredUpdate(this.doc, update, origin)
  }

  /** The full state, for compaction: a Yjs V2 update (see `StoredUpdate`). */
  snapshot(): Uint8Array {
    this.load()
    return Y.encodeStateAsUpdateV2(this.doc)
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

  private decode(updates: StoredUpdate[]): void {
    try {
      Y.transact(this.doc, () => updates.forEach((update) => applyStoredUpdate(this.doc, update)), Origins.loaded)
    } catch (error) {
      throw new KvsyncError('CORRUPT_DATA', `store "${this.options.name}" has a stored update that cannot be decoded; it was left as is`, { cause: error })
    }
    // Built on the loaded document, the register indexes it without announcing every key as a
    // change: subscribers already saw these values through the scanned entries.
    const register = new KvRegister(this.doc, {
      now: this.options.now,
      maxValueBytes: this.options.maxValueBytes,
      wantsChanges: this.options.wantsChanges,
      onInvalidEntry: (report) =>
        this.options.onError(new KvsyncError('CORRUPT_DATA', `ignored a malformed entry ${report.client}:${report.clock} (${report.reason})`)),
    })
    register.onChange((changes) => this.options.onChanges(changes))
    this.register = register
    this.view = undefined
    for (const listener of this.loadedListeners.splice(0)) listener()
  }
}
