import { KvsyncError } from '@kvsync/shared'
import type { DocStorage, DocStorageEntry } from '@kvsync/shared'
import { errorCode } from '../logger.js'
import type { Logger } from '../logger.js'

/** Options of {@link WriteQueue}. */
export interface WriteQueueOptions {
  readonly storage: DocStorage
  readonly logger: Logger
  /** First delay before retrying a failed write; doubles up to `maxRetryDelayMs`. Default 100. */
  readonly retryDelayMs?: number
  /** Longest delay between retries. Default 5000. */
  readonly maxRetryDelayMs?: number
  /** A batch is closed once it holds this many bytes, so one commit stays bounded. Default 32 MiB. */
  readonly maxBatchBytes?: number
  /** Told the duration of every storage write that succeeded (for the latency histogram). */
  readonly onWritten?: (kind: 'append' | 'compact', seconds: number) => void
  /** Told the error of every storage write that failed (for the error counters). */
  readonly onFailed?: (error: unknown) => void
}

interface Deferred {
  resolve(): void
  reject(error: unknown): void
}

interface AppendJob {
  readonly kind: 'append'
  readonly entries: DocStorageEntry[]
  /**
   * Settles once every entry is stored (or dropped): one promise per batch, not one per
   * update. A batch holds the appends of a turn (hundreds of them in a busy turn), and each
   * update's promise, executor and callbacks lived until the commit, long enough to be copied
   * by the young-generation GC.
   */
  readonly done: Promise<void>
  readonly waiter: Deferred
  bytes: number
  /** Entries already stored when falling back to one `appendUpdate` per entry. */
  stored: number
}

interface CompactJob {
  readonly kind: 'compact'
  readonly doc: string
  readonly snapshot: () => Uint8Array
  readonly waiter: Deferred
}

type Job = AppendJob | CompactJob

/**
 * Serializes every write to storage and groups appends into batches (group commit).
 *
 * - Appends that arrive in the same turn of the event loop (several WebSocket frames read in
 *   one poll phase) share one `appendUpdates` call. Appends that arrive while a commit is
 *   running form the next batch, so the batch grows with the load.
 * - A compaction runs between batches: every append enqueued before it is stored, none enqueued
 *   after it is, so the number of updates it replaces is exact.
 * - A failed write keeps its updates queued and is retried with backoff; the documents stay in
 *   memory meanwhile. Only {@link WriteQueue.close} gives up, after one last attempt.
 */
export class WriteQueue {
  readonly #storage: DocStorage
  readonly #logger: Logger
  readonly #retryDelayMs: number
  readonly #maxRetryDelayMs: number
  readonly #maxBatchBytes: number
  readonly #onWritten: WriteQueueOptions['onWritten']
  readonly #onFailed: WriteQueueOptions['onFailed']
  readonly #jobs: Job[] = []
  /** Updates stored per document, counted from its load; the input of exact compaction. */
  readonly #storedCounts = new Map<string, number>()
  /** Latest pending write per document, so callers can wait for "everything so far". */
  readonly #lastWrite = new Map<string, Promise<void>>()
  #draining = false
  #scheduled = false
  #closing = false
  #retryTimer: NodeJS.Timeout | undefined
  #wakeRetry: (() => void) | undefined
  #lost = 0
  #failingSince: number | undefined
  readonly #idleWaiters: Array<() => void> = []

  constructor(options: WriteQueueOptions) {
    this.#storage = options.storage
    this.#logger = options.logger
    this.#retryDelayMs = options.retryDelayMs ?? 100
    this.#maxRetryDelayMs = options.maxRetryDelayMs ?? 5000
    this.#maxBatchBytes = options.maxBatchBytes ?? 32 * 1024 * 1024
    this.#onWritten = options.onWritten
    this.#onFailed = options.onFailed
  }

  /** Storage writes (batches and compactions) queued or running. */
  get pendingJobs(): number {
    return this.#jobs.length
  }

  /**
   * When the write now being retried first failed (`Date.now()`), or `undefined` while storage
   * works. Readiness probes report the server as not ready meanwhile: it keeps every update in
   * memory but acknowledges none.
   */
  get failingSince(): number | undefined {
    return this.#failingSince
  }

  /** Records how many updates storage held for `doc` when it was loaded. */
  noteLoaded(doc: string, count: number): void {
    this.#storedCounts.set(doc, count)
  }

  /** Forgets the bookkeeping of an unloaded document. */
  forget(doc: string): void {
    this.#storedCounts.delete(doc)
    this.#lastWrite.delete(doc)
  }

  /** How many updates of `doc` are stored (not counting queued ones). */
  storedCount(doc: string): number {
    return this.#storedCounts.get(doc) ?? 0
  }

  /**
   * Queues `update` for `doc`; resolves once it is durable (the promise is shared by the
   * updates stored in the same batch). A caller that does not need it may ignore it: a
   * rejection nobody listens to is not reported as unhandled (the queue logged it).
   */
  append(doc: string, update: Uint8Array): Promise<void> {
    if (this.#closing) return Promise.reject(closedError(doc))
    const last = this.#jobs.at(-1)
    // The head job may be running (and its entries already handed to storage): never extend it.
    const running = this.#draining && last === this.#jobs[0]
    let job: AppendJob
    if (last?.kind === 'append' && !running && last.bytes < this.#maxBatchBytes) {
      job = last
    } else {
      job = newAppendJob()
      this.#jobs.push(job)
    }
    job.entries.push({ doc, update })
    job.bytes += update.byteLength
    this.#track(doc, job.done)
    this.#schedule()
    return job.done
  }

  /**
   * Replaces the stored updates of `doc` with `snapshot()` once every append queued before this
   * call is stored. `snapshot` runs when the compaction starts, so it sees the latest state.
   * Resolves to `false` when there was nothing to compact.
   */
  compact(doc: string, snapshot: () => Uint8Array): Promise<boolean> {
    if (this.#closing) return Promise.reject(closedError(doc))
    let compacted = false
    const promise = new Promise<void>((resolve, reject) => {
      this.#jobs.push({
        kind: 'compact',
        doc,
        snapshot: () => {
          compacted = true
          return snapshot()
        },
        waiter: { resolve, reject },
      })
    })
    this.#track(doc, promise)
    this.#schedule()
    return promise.then(() => compacted)
  }

  /** Resolves once every write queued so far for `doc` is done (rejects if one was dropped). */
  settled(doc: string): Promise<void> {
    return this.#lastWrite.get(doc) ?? Promise.resolve()
  }

  /**
   * Makes one last attempt at everything queued and stops accepting writes. Rejects with
   * `PERSISTENCE_FAILED` when some updates could not be stored.
   */
  async close(): Promise<void> {
    this.#closing = true
    this.#wakeRetry?.()
    this.#schedule()
    await this.#whenIdle()
    if (this.#lost > 0) {
      throw new KvsyncError('PERSISTENCE_FAILED', `${this.#lost} writes could not be stored before closing`)
    }
  }

  #track(doc: string, promise: Promise<void>): void {
    this.#lastWrite.set(doc, promise)
  }

  #whenIdle(): Promise<void> {
    if (this.#jobs.length === 0 && !this.#draining && !this.#scheduled) return Promise.resolve()
    return new Promise<void>((resolve) => this.#idleWaiters.push(resolve))
  }

  #schedule(): void {
    if (this.#scheduled || this.#draining) return
    this.#scheduled = true
    // setImmediate (not a microtask): frames read in the same poll phase join one batch.
    setImmediate(() => {
      this.#scheduled = false
      void this.#drain()
    })
  }

  async #drain(): Promise<void> {
    if (this.#draining) return
    this.#draining = true
    try {
      let failures = 0
      for (let job = this.#jobs[0]; job !== undefined; job = this.#jobs[0]) {
        try {
          const started = performance.now()
          await this.#run(job)
          this.#onWritten?.(job.kind, (performance.now() - started) / 1000)
          this.#jobs.shift()
          settle(job, undefined)
          failures = 0
          this.#failingSince = undefined
        } catch (error) {
          failures++
          this.#failingSince ??= Date.now()
          this.#onFailed?.(error)
          this.#logFailure(job, error, failures)
          if (this.#closing) {
            this.#jobs.shift()
            this.#lost += job.kind === 'append' ? job.entries.length - job.stored : 1
            settle(job, new KvsyncError('PERSISTENCE_FAILED', 'storage failed while the server was closing', { cause: error }))
            continue
          }
          await this.#waitBeforeRetry(failures)
        }
      }
    } finally {
      this.#draining = false
      for (const resolve of this.#idleWaiters.splice(0)) resolve()
    }
  }

  async #run(job: Job): Promise<void> {
    if (job.kind === 'compact') {
      const replaced = this.storedCount(job.doc)
      if (replaced <= 1) return
      await this.#storage.compact(job.doc, job.snapshot(), replaced)
      this.#storedCounts.set(job.doc, 1)
      return
    }
    if (this.#storage.appendUpdates !== undefined && job.stored === 0) {
      await this.#storage.appendUpdates(job.entries)
      for (const entry of job.entries) this.#countStored(entry.doc)
      job.stored = job.entries.length
      return
    }
    // Without group commit, resume after the last stored entry so a retry stores no duplicates.
    for (; job.stored < job.entries.length; job.stored++) {
      const entry = job.entries[job.stored] as DocStorageEntry
      await this.#storage.appendUpdate(entry.doc, entry.update)
      this.#countStored(entry.doc)
    }
  }

  #countStored(doc: string): void {
    this.#storedCounts.set(doc, this.storedCount(doc) + 1)
  }

  #logFailure(job: Job, error: unknown, failures: number): void {
    const docs = job.kind === 'compact' ? [job.doc] : [...new Set(job.entries.map((entry) => entry.doc))]
    this.#logger.error(job.kind === 'compact' ? 'compaction failed' : 'persisting updates failed', {
      doc: docs.join(','),
      code: errorCode(error),
      error,
      attempt: failures,
      willRetry: !this.#closing,
    })
  }

  #waitBeforeRetry(failures: number): Promise<void> {
    const delay = Math.min(this.#maxRetryDelayMs, this.#retryDelayMs * 2 ** (failures - 1))
    return new Promise<void>((resolve) => {
      const wake = (): void => {
        clearTimeout(this.#retryTimer)
        this.#retryTimer = undefined
        this.#wakeRetry = undefined
        resolve()
      }
      this.#wakeRetry = wake
      this.#retryTimer = setTimeout(wake, delay)
    })
  }
}

function settle(job: Job, error: unknown): void {
  if (error === undefined) job.waiter.resolve()
  else job.waiter.reject(error)
}

function newAppendJob(): AppendJob {
  let waiter: Deferred | undefined
  const done = new Promise<void>((resolve, reject) => {
    waiter = { resolve, reject }
  })
  // Callers may ignore the promise (ServerDocument does: it waits through `settled`).
  done.catch(() => {})
  return { kind: 'append', entries: [], done, waiter: waiter as Deferred, bytes: 0, stored: 0 }
}

function closedError(doc: string): KvsyncError {
  return new KvsyncError('STORE_CLOSED', `cannot persist ${JSON.stringify(doc)}: the write queue is closed`)
}
