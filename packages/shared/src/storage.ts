/**
 * Where a sync server keeps the durable state of its documents (stores). Adapters see only
 * opaque document ids and update bytes; Yjs merging, compaction policy and protocol logic stay
 * in the server core.
 *
 * Contract every adapter must keep (checked by `runDocStorageSuite` from
 * `@kvsync/shared/testing`):
 *
 * - **Missing is empty.** Loading a document that was never written, or was deleted, resolves
 *   to `[]`; it never throws.
 * - **Order.** `loadUpdates` returns a document's updates in the order their appends were
 *   called, even when the calls overlap (adapters serialize internally if they must). Ids are
 *   compared exactly: `a`, `a/b` and `ab` are three unrelated documents.
 * - **Durability.** The promise of `appendUpdate`, `appendUpdates` and `compact` resolves only
 *   once the change survives a process crash (a `kill -9`). Acknowledgements to clients are
 *   built on this promise.
 * - **Atomicity.** `appendUpdates` stores the whole batch or nothing. `compact` replaces the
 *   first `replacedCount` updates with `merged` in one step: a reader sees either the old
 *   updates or `merged`, and updates appended after the first `replacedCount` survive, after
 *   `merged`. When fewer than `replacedCount` updates are stored, all of them are replaced.
 * - **Copies.** Adapters keep their own copy of the bytes: mutating a buffer after passing it in
 *   (or after receiving it from `loadUpdates`) does not change what is stored. Empty updates
 *   (zero bytes) round-trip as empty updates.
 * - **Closing.** `close` is idempotent. Other calls after `close` reject with a `KvsyncError`
 *   with code `STORE_CLOSED`. Failures reject with a `KvsyncError` with code `STORAGE_FAILED`
 *   whose `cause` is the driver's error.
 */
export interface DocStorage {
  /** All stored updates of `doc`, oldest first; `[]` when the document does not exist. */
  loadUpdates(doc: string): Promise<Uint8Array[]>
  /** Appends one update to `doc`; resolves once it is durable. */
  appendUpdate(doc: string, update: Uint8Array): Promise<void>
  /**
   * Group commit: appends every entry, in array order, in one transaction, and resolves once all
   * are durable. Optional; callers fall back to `appendUpdate` one entry at a time.
   */
  appendUpdates?(batch: ReadonlyArray<DocStorageEntry>): Promise<void>
  /**
   * Atomically replaces the first `replacedCount` stored updates of `doc` with `merged`, which
   * must contain (at least) their combined content. Later updates are kept, after `merged`.
   */
  compact(doc: string, merged: Uint8Array, replacedCount: number): Promise<void>
  /** Ids of all documents with at least one stored update, in no particular order. */
  listDocs(): Promise<string[]>
  /** Removes every update of `doc`; deleting a missing document is not an error. */
  deleteDoc(doc: string): Promise<void>
  /** Releases files and connections. Idempotent. */
  close?(): Promise<void>
}

/** One update of a group commit; see {@link DocStorage.appendUpdates}. */
export interface DocStorageEntry {
  readonly doc: string
  readonly update: Uint8Array
}
