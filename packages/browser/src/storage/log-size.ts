import { isV2Update, storedUpdateBytes, type StoredUpdate } from '@kvsync/shared'

/**
 * How big a stored update log is, kept by each persistence from what it loads, appends and
 * compacts, so the store can decide when compacting pays off (see `CommitQueue`).
 */
export class LogSize {
  /** Updates stored: the snapshot, if any, and those appended since. */
  count = 0
  /** Bytes of all stored updates. */
  bytes = 0
  /** Bytes of the V2 snapshot a compaction wrote (0 when there is none). */
  snapshotBytes = 0

  loaded(updates: readonly StoredUpdate[]): void {
    this.count = updates.length
    this.bytes = 0
    this.snapshotBytes = 0
    for (const update of updates) {
      const length = storedUpdateBytes(update).byteLength
      this.bytes += length
      if (isV2Update(update)) this.snapshotBytes += length
    }
  }

  appended(updates: readonly Uint8Array[]): void {
    this.count += updates.length
    for (const update of updates) this.bytes += update.byteLength
  }

  compacted(snapshot: Uint8Array): void {
    this.count = 1
    this.bytes = snapshot.byteLength
    this.snapshotBytes = snapshot.byteLength
  }
}
