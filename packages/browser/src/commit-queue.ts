import { KvsyncError } from '@kvsync/shared'
import type { LocalPersistence } from './storage/types.js'

const INITIAL_RETRY_MS = 1_000
const MAX_RETRY_MS = 60_000

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

/** Options of {@link CommitQueue}. */
export interface CommitQueueOptions {
  persistence: LocalPersistence
  /** The full current state, for compaction and for recovering after a failed commit. */
  snapshot: () => Uint8Array
  /** Compact once this many updates are stored. Default 200. */
  compactAfter?: number
  onError: (error: KvsyncError) => void
}

/**
 * Turns document updates into IndexedDB commits: every update added in the same task goes
 * into one transaction (a microtask later), and each caller gets the promise of the commit that
 * holds its update. A failed commit rejects its promise, keeps the data in memory, and the next
 * commit writes a full snapshot instead, so nothing that is in memory is lost once storage works
 * again.
 */
export class CommitQueue {
  private current: Batch | undefined
  private readonly inflight = new Set<Promise<void>>()
  private needsSnapshot = false
  private retryTimer: ReturnType<typeof setTimeout> | undefined
  private retryDelay = INITIAL_RETRY_MS
  private readonly compactAfter: number

  constructor(private readonly options: CommitQueueOptions) {
    this.compactAfter = options.compactAfter ?? 200
  }

  /** Queues an update; returns the promise of the commit that will hold it. */
  add(update: Uint8Array): Promise<void> {
    if (this.current === undefined) {
      const batch = newBatch()
      this.current = batch
      queueMicrotask(() => this.commit(batch))
    }
    this.current.updates.push(update)
    return this.current.done
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

  /** Stops retrying failed commits. */
  dispose(): void {
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer)
    this.retryTimer = undefined
  }

  private commit(batch: Batch): void {
    if (this.current === batch) this.current = undefined
    const { persistence, snapshot } = this.options
    const work = (async () => {
      if (this.needsSnapshot) {
        // A previous commit failed: its updates are only in memory. A snapshot covers them all.
        await persistence.compact(snapshot)
        this.needsSnapshot = false
      } else if (batch.updates.length > 0) {
        await persistence.append(batch.updates)
      }
    })()
    const tracked = work.then(
      async () => {
        batch.resolve()
        this.retryDelay = INITIAL_RETRY_MS
        if (persistence.storedCount > this.compactAfter) await this.compact()
      },
      (error: unknown) => {
        this.needsSnapshot = true
        const failure = error instanceof KvsyncError ? error : new KvsyncError('PERSISTENCE_FAILED', 'saving failed', { cause: error })
        batch.reject(failure)
        this.options.onError(failure)
        this.scheduleRetry()
      },
    )
    this.inflight.add(tracked)
    void tracked.finally(() => this.inflight.delete(tracked))
  }

  private async compact(): Promise<void> {
    try {
      await this.options.persistence.compact(this.options.snapshot)
    } catch (error) {
      // The appended updates are intact; compaction is tried again after the next commit.
      this.options.onError(error instanceof KvsyncError ? error : new KvsyncError('PERSISTENCE_FAILED', 'compaction failed', { cause: error }))
    }
  }

  private scheduleRetry(): void {
    if (this.retryTimer !== undefined) return
    const delay = this.retryDelay
    this.retryDelay = Math.min(this.retryDelay * 2, MAX_RETRY_MS)
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined
      if (!this.needsSnapshot || this.current !== undefined) return
      const batch = newBatch()
      this.commit(batch)
    }, delay)
  }
}
