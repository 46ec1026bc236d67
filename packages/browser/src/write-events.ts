import type { KvChange, KvValue } from '@kvsync/shared'
import type { Subscriptions } from './subscriptions.js'

/**
 * Tells subscribers of the store's own writes when they are made, before the document has them
 * (see PendingWrites): one event per `set`/`delete` call, in call order, or — inside
 * `transact(fn)` — one event per key after `fn`, from the value before the batch to the value
 * after it. Events are worded as the register words them (`origin: 'local'`; none when the key
 * is absent before and after), and the document's own events for these writes are suppressed
 * (it receives them in a silent transaction), so each write is announced exactly once.
 */
export class WriteEvents {
  private depth = 0
  /** Inside a batch: each written key's value before the batch. */
  private before: Map<string, KvValue | undefined> | undefined

  constructor(
    private readonly subscriptions: Subscriptions,
    /** What reads return for a key now (pending writes included). */
    private readonly read: (key: string) => KvValue | undefined,
  ) {}

  /** Makes the write of `key` visible to reads with `apply`, and announces it. */
  write(key: string, apply: () => void): void {
    if (this.subscriptions.size === 0) {
      apply()
      return
    }
    if (this.before !== undefined) {
      if (!this.before.has(key)) this.before.set(key, this.read(key))
      apply()
      return
    }
    const old = this.read(key)
    apply()
    this.announce(new Map([[key, old]]))
  }

  /** Runs `fn` as one batch (nested batches join the outermost); announces unless `closed()`. */
  batch(fn: () => void, closed: () => boolean): void {
    if (this.depth++ === 0) this.before = new Map()
    try {
      fn()
    } finally {
      if (--this.depth === 0) {
        const before = this.before!
        this.before = undefined
        if (!closed()) this.announce(before)
      }
    }
  }

  private announce(before: Map<string, KvValue | undefined>): void {
    if (this.subscriptions.size === 0) return
    const changes: KvChange[] = []
    for (const [key, oldValue] of before) {
      const value = this.read(key)
      if (oldValue === undefined && value === undefined) continue
      changes.push({ key, value, oldValue, origin: 'local' })
    }
    if (changes.length > 0) this.subscriptions.dispatch(changes)
  }
}
