import { KvsyncError, type StoredUpdate } from '@kvsync/shared'
import type { LocalPersistence } from './storage/types.js'

const INITIAL_RETRY_MS = 1_000
const MAX_RETRY_MS = 60_000
/** Default of {@link CommitQueueOptions.compactAfterBytes}. */
const COMPACT_AFTER_BYTES = 256 * 1024

interface Batch {
  readonly updates: Uint8Array[]
  readonly done: Promise<void>
  resolve(): void
  reject(error: unknown): void
}

function newBatch(): Batch {
  let resolve!: () => void
  let reject!: (error: unknown) => void
  const done = new Promise<void>((res, rej) => {
    resolve = res
    reject = rej
  })
  // Writers that do not await must not trigger unhandled-rejection noise; errors also reach
  // the store's error listeners.
  done.catch(() => {})
  return { updates: [], done, resolve, reject }
}

function asKvsyncError(error: unknown, message: string): KvsyncError {
  return error instanceof KvsyncError ? error : new KvsyncError('PERSISTENCE_FAILED', message, { cause: error })
}

/** Options of {@link CommitQueue}. */
export interface CommitQueueOptions {
  persistence: LocalPersistence
  /** The full current state, for compaction and for recovering after a failed commit. */
  snapshot: () => Uint8Array
  /** Merges stored updates another tab committed into the document (see CompactPlan.absorb). */
  absorb?: (updates: StoredUpdate[]) => void
  /**
   * Called first when a commit starts, to hand the document writes still held back (the
   * store's pending writes of this task); updates it causes join this commit.
   */
  beforeCommit?: () => void
  /**
   * Compact once this many updates are stored. Default 500: each compaction holds the next
   * commits back for a few round trips, which at 200 cost awaited sets about a tenth (bench L1),
   * while opening a log of 500 small updates takes ≈ 25 ms in Chromium (200: ≈ 13 ms).
   */
  compactAfter?: number
  /**
   * Compact once the updates appended since the snapshot take more bytes than the snapshot
   * itself and than this many. Keeps stored bytes within about twice the compacted state plus
   * this, whatever the writes (rewriting big batches of keys grows the log fast), while the
   * cost of compacting (encoding the whole state once) stays proportional to what was
   * appended. Default 256 KiB.
   */
  compactAfterBytes?: number
  onError: (error: KvsyncError) => void
  /** After a commit: its updates and their record ids (for other tabs). */
  onCommitted?: (updates: readonly Uint8Array[], records: readonly number[]) => void
  /** After a failed commit: its updates, which now live only in memory. */
  onFailed?: (updates: readonly Uint8Array[]) => void
  /** After a compaction: the snapshot's record id, if the storage has ids. */
  onCompacted?: (record: number | undefined) => void
}

/**
 * Turns document updates into storage commits: every update added in the same task goes into
 * one transaction (a microtask later), and each caller gets the promise of the commit that
 * holds its update. A failed commit rejects its promise, keeps the data in memory, and the next
 * commit writes a full snapshot instead, so nothing that is in memory is lost once storage works
 * again.
 */
export class CommitQueue {
  private current: Batch | undefined
  private readonly inflight = new Set<Promise<void>>()
  private compacting: Promise<void> | undefined
  private needsSnapshot = false
  private retryTimer: ReturnType<typeof setTimeout> | undefined
  private retryDelay = INITIAL_RETRY_MS
  private readonly compactAfter: number
  private readonly compactAfterBytes: number
  private disposed = false

  constructor(private readonly options: CommitQueueOptions) {
    this.compactAfter = options.compactAfter ?? 500
    this.compactAfterBytes = options.compactAfterBytes ?? COMPACT_AFTER_BYTES
  }

  /** Queues an update; returns the promise of the commit that will hold it. */
  add(update: Uint8Array): Promise<void> {
    const batch = this.open()
    batch.updates.push(update)
    return batch.done
  }

  /**
   * Asks for a commit without an update (rows only, or a snapshot). Returns its promise.
   * Used after rebuilding state that must reach storage.
   */
  touch(): Promise<void> {
    return this.open().done
  }

  /** Makes the next commit a full snapshot (e.g. after a failed rebuild). */
  requireSnapshot(): void {
    this.needsSnapshot = true
  }

  /** The promise of the commit being gathered in this task, if any. */
  pending(): Promise<void> | undefined {
    return this.current?.done
  }

  /** Resolves when everything added so far is committed (or has failed). */
  async flush(): Promise<void> {
    while (this.current !== undefined || this.inflight.size > 0) {
      const waiting = [...this.inflight]
      if (this.current !== undefined) waiting.push(this.current.done)
      await Promise.allSettled(waiting)
    }
  }

  /** {@link flush}, then waits for a compaction under way (before closing the storage). */
  async settle(): Promise<void> {
    await this.flush()
    while (this.compacting !== undefined) {
      await this.compacting
      await this.flush()
    }
  }

  /** Stops retrying failed commits. */
  dispose(): void {
    this.disposed = true
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer)
    this.retryTimer = undefined
  }

  private open(): Batch {
    if (this.current === undefined) {
      const batch = newBatch()
      this.current = batch
      queueMicrotask(() => this.commit(batch))
    }
    return this.current
  }

  private commit(batch: Batch): void {
    try {
      this.options.beforeCommit?.()
    } catch (error) {
      this.options.onError(asKvsyncError(error, 'applying pending writes failed'))
    }
    if (this.current === batch) this.current = undefined
    const { persistence } = this.options
    const work = this.needsSnapshot ? this.recover() : persistence.append(batch.updates)
    const tracked = work.then(
      async (records) => {
        batch.resolve()
        this.retryDelay = INITIAL_RETRY_MS
        this.options.onCommitted?.(batch.updates, records ?? [])
        if (this.shouldCompact()) this.compactInBackground()
      },
      (error: unknown) => {
        this.needsSnapshot = true
        const failure = asKvsyncError(error, 'saving failed')
        batch.reject(failure)
        this.options.onFailed?.(batch.updates)
        this.options.onError(failure)
        this.scheduleRetry()
      },
    )
    this.inflight.add(tracked)
    void tracked.finally(() => this.inflight.delete(tracked))
  }

  /**
   * Whether to replace the log by a snapshot: past `compactAfter` updates, or once the V1
   * updates appended since the snapshot outweigh it and `compactAfterBytes` (a first big import
   * included: its V2 snapshot is about a tenth smaller and compresses better on disk).
   */
  private shouldCompact(): boolean {
    const { count, bytes, snapshotBytes } = this.options.persistence.size
    if (count > this.compactAfter) return true
    const appended = bytes - snapshotBytes
    return appended > snapshotBytes && appended > this.compactAfterBytes
  }

  /**
   * Starts a compaction unless one runs. Not part of the commit that asked for it: writes are
   * durable without it, so `flush()` and the writers' promises do not wait for the snapshot to
   * be encoded and written (`settle()` does). IndexedDB orders it after the appends before it.
   */
  private compactInBackground(): void {
    if (this.compacting !== undefined || this.disposed) return
    this.compacting = this.compact().finally(() => {
      this.compacting = undefined
    })
  }

  /**
   * Writes a snapshot instead of an append after a failed commit: its updates are only in
   * memory, and a snapshot covers them all.
   */
  private async recover(): Promise<undefined> {
    const record = await this.compactNow()
    this.needsSnapshot = false
    this.options.onCompacted?.(record)
    return undefined
  }

  private compactNow(): Promise<number | undefined> {
    const { snapshot, absorb } = this.options
    return this.options.persistence.compact({ snapshot, absorb })
  }

  private async compact(): Promise<void> {
    try {
      const record = await this.compactNow()
      this.options.onCompacted?.(record)
    } catch (error) {
      // The appended updates are intact: the next commit past compactAfter tries again.
      this.options.onError(asKvsyncError(error, 'compaction failed'))
    }
  }

  private scheduleRetry(): void {
    if (this.retryTimer !== undefined || this.disposed) return
    const delay = this.retryDelay
    this.retryDelay = Math.min(this.retryDelay * 2, MAX_RETRY_MS)
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined
      if (!this.needsSnapshot || this.current !== undefined) return
      this.commit(newBatch())
    }, delay)
  }
}
