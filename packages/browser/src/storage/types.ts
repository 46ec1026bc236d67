import type { KvEntry } from '@kvsync/shared'
import type { StoredView } from './materialized.js'

/**
 * Rows of the materialized key → entry view: key → the key's winning entry encoded with
 * `encodeRow` (see materialized.ts). A persistence writes a row only when it beats the row
 * already stored (greater HLC, or a tombstone at an equal HLC), so tabs that commit in any order
 * converge on the winner.
 */
export type MaterializedRows = ReadonlyMap<string, Uint8Array>

/** What {@link LocalPersistence.load} returns. */
export interface LoadedState {
  /**
   * Every stored update, oldest first; `[]` for a new store. May still be arriving when `load`
   * resolves (IndexedDB reads the view and the log in parallel, and the view is enough for
   * reads); rejects like `load` would.
   */
  readonly updates: Promise<Uint8Array[]>
  /**
   * The materialized view, when this persistence keeps a complete one; `undefined` when it
   * keeps none or it must be rebuilt (a database from before the view existed).
   */
  readonly materialized: StoredView | undefined
}

/** What {@link LocalPersistence.compact} needs. */
export interface CompactPlan {
  /**
   * Called once the replacement is ordered after every append already requested (by this
   * instance and, for shared storage, by other tabs) and after `absorb`: the snapshot it returns
   * must cover everything it replaces.
   */
  snapshot: () => Uint8Array
  /**
   * For storage shared between tabs: receives stored updates this instance has not seen yet
   * (another tab committed them and its broadcast has not arrived), to merge them into the
   * document before the snapshot is taken. Without it they would be cleared and lost.
   */
  absorb?: (updates: Uint8Array[]) => void
  /**
   * Rows of every key: the whole materialized view, which replaces the stored one in the same
   * transaction (and marks it complete). Called right after `snapshot`, so that both describe
   * the same moment. Required by a persistence that materializes.
   */
  allRows?: () => MaterializedRows
  /**
   * The same as `allRows`, as each key's winning entry rather than its encoded row: cheaper for
   * a persistence that packs the view itself. When given, it is called instead of `allRows`.
   */
  allEntries?: () => Iterable<readonly [string, KvEntry]>
}

/**
 * Where a client keeps its copy of a store between sessions. Updates are Yjs V2 updates (more
 * compact than V1 on disk). Every method's promise settles: on failure it rejects with a
 * `KvsyncError` (`QUOTA_EXCEEDED`, `PERSISTENCE_FAILED`, `CORRUPT_DATA`, `UNSUPPORTED_FORMAT`).
 */
export interface LocalPersistence {
  /** The materialized view (when kept), and the stored updates. */
  load(): Promise<LoadedState>
  /**
   * Appends updates and writes `rows` in one transaction; resolves once committed, with the
   * record ids of the appended updates where the storage has them (shared storage: IndexedDB).
   */
  append(updates: readonly Uint8Array[], rows?: MaterializedRows): Promise<readonly number[]>
  /**
   * Replaces every stored update with one snapshot, atomically (see {@link CompactPlan}).
   * Resolves with the record id of the snapshot where the storage has one.
   */
  compact(plan: CompactPlan): Promise<number | undefined>
  /** How many updates are stored (appends since the last compaction, plus the snapshot). */
  readonly storedCount: number
  /** Whether this persistence keeps a materialized view (then the store sends rows with commits). */
  readonly materializes: boolean
  /**
   * Rows written one by one since the view was last stored whole (by a compaction). Reading
   * many single rows at open is slow, so the store compacts when this grows.
   */
  readonly rowCount?: number
  /**
   * Shared storage only: record ids another instance committed and this one has applied (from a
   * broadcast), so compaction need not read them back.
   */
  markKnown?(records: readonly number[]): void
  /** Releases the storage. Idempotent. */
  close(): Promise<void>
  /** Deletes everything stored for this store. */
  destroy(): Promise<void>
}
