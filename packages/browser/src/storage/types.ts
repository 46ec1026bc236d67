import type { StoredUpdate } from '@kvsync/shared'

/** How big a stored log is (see `LogSize`, which every persistence here keeps). */
export interface StoredLogSize {
  /** How many updates are stored (appends since the last compaction, plus the snapshot). */
  readonly count: number
  /** Bytes of all stored updates. */
  readonly bytes: number
  /** Bytes of the stored V2 snapshot (0 without one); the rest is V1 updates appended since. */
  readonly snapshotBytes: number
}

/** What {@link LocalPersistence.compact} needs. */
export interface CompactPlan {
  /**
   * Called once the replacement is ordered after every append already requested (by this
   * instance and, for shared storage, by other tabs) and after `absorb`: the snapshot it returns
   * must cover everything it replaces. A Yjs V2 update (stored as `{ v2 }`).
   */
  snapshot: () => Uint8Array
  /**
   * For storage shared between tabs: receives stored updates this instance has not seen yet
   * (another tab committed them and its broadcast has not arrived), to merge them into the
   * document before the snapshot is taken. Without it they would be cleared and lost.
   */
  absorb?: (updates: StoredUpdate[]) => void
}

/** What {@link LocalPersistence.readUnknown} found: record ids and the updates they hold. */
export interface UnknownRecords {
  readonly records: readonly number[]
  readonly updates: StoredUpdate[]
}

/**
 * Where a client keeps its copy of a store between sessions: the document's Yjs updates (a V2
 * snapshot, then the V1 updates appended since: see `StoredUpdate`), nothing else. Reads of a big store are answered
 * from these bytes before the document is decoded (`ScannedEntries`), so there is no second
 * copy of the data to keep in step. Every method's promise settles: on failure it rejects with
 * a `KvsyncError` (`QUOTA_EXCEEDED`, `PERSISTENCE_FAILED`, `CORRUPT_DATA`, `UNSUPPORTED_FORMAT`).
 */
export interface LocalPersistence {
  /** Every stored update, oldest first; `[]` for a new store. */
  load(): Promise<StoredUpdate[]>
  /**
   * Appends Yjs V1 updates in one transaction; resolves once committed, with the record ids of the
   * appended updates where the storage has them (shared storage: IndexedDB).
   */
  append(updates: readonly Uint8Array[]): Promise<readonly number[]>
  /**
   * Replaces every stored update with one snapshot, atomically (see {@link CompactPlan}).
   * Resolves with the record id of the snapshot where the storage has one.
   */
  compact(plan: CompactPlan): Promise<number | undefined>
  /** How big the stored log is (for the compaction policy). */
  readonly size: StoredLogSize
  /**
   * Shared storage only: record ids another instance committed and this one has applied (from a
   * broadcast), so compaction need not read them back.
   */
  markKnown?(records: readonly number[]): void
  /**
   * Shared storage only: the stored updates this instance neither loaded, wrote nor was told of
   * (another instance committed them before it knew of this one). They are not marked known:
   * call {@link markKnown} with `records` once they are applied.
   */
  readUnknown?(): Promise<UnknownRecords>
  /** Releases the storage. Idempotent. */
  close(): Promise<void>
  /** Deletes everything stored for this store. */
  destroy(): Promise<void>
}
