/**
 * Where a client keeps its copy of a store between sessions. Updates are Yjs V2 updates (more
 * compact than V1 on disk). Every method's promise settles: on failure it rejects with a
 * `KvsyncError` (`QUOTA_EXCEEDED`, `PERSISTENCE_FAILED`, `CORRUPT_DATA`, `UNSUPPORTED_FORMAT`).
 */
export interface LocalPersistence {
  /** Every stored update, oldest first; `[]` for a new store. */
  load(): Promise<Uint8Array[]>
  /** Appends updates in one transaction; resolves once committed. */
  append(updates: readonly Uint8Array[]): Promise<void>
  /**
   * Replaces everything stored with one snapshot, atomically. `snapshot` is called at the moment
   * the replacement is ordered after every append already requested, so the snapshot it returns
   * covers all of them; appends requested later are kept.
   */
  compact(snapshot: () => Uint8Array): Promise<void>
  /** How many updates are stored (appends since the last compaction, plus the snapshot). */
  readonly storedCount: number
  /** Releases the database. Idempotent. */
  close(): Promise<void>
  /** Deletes everything stored for this store. */
  destroy(): Promise<void>
}
