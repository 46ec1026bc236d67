/**
 * How big a stored update log is, kept by each persistence from what it loads, appends and
 * compacts, so the store can decide when compacting pays off (see `CommitQueue`).
 */
export class LogSize {
  /** Updates stored: the snapshot (or first update) and those appended since. */
  count = 0
  /** Bytes of all stored updates. */
  bytes = 0
  /** Bytes of the oldest stored update: the snapshot after a compaction. */
  snapshotBytes = 0

  loaded(updates: readonly Uint8Array[]): void {
    this.count = 0
    this.bytes = 0
    this.snapshotBytes = updates[0]?.byteLength ?? 0
    this.appended(updates)
  }

  appended(updates: readonly Uint8Array[]): void {
    if (this.count === 0 && updates.length > 0) this.snapshotBytes = updates[0]!.byteLength
    this.count += updates.length
    for (const update of updates) this.bytes += update.byteLength
  }

  compacted(snapshot: Uint8Array): void {
    this.count = 1
    this.bytes = snapshot.byteLength
    this.snapshotBytes = snapshot.byteLength
  }
}
