import type { KvChange } from '@kvsync/shared'

/** Which changes a subscriber wants: one key, every key under a prefix, or everything. */
export type SubscriptionTarget = string | { prefix: string } | undefined

/** A change as subscribers see it. */
export type StoreEvent = KvChange

interface Subscriber {
  readonly target: SubscriptionTarget
  readonly callback: (event: StoreEvent) => void
}

function matches(target: SubscriptionTarget, key: string): boolean {
  if (target === undefined) return true
  if (typeof target === 'string') return target === key
  return key.startsWith(target.prefix)
}

/**
 * Routes each change to the subscribers of its key, its prefixes and of everything. Keyed
 * subscribers are found in O(1), so many `subscribe(key)` calls stay cheap.
 */
export class Subscriptions {
  private readonly byKey = new Map<string, Set<Subscriber>>()
  private readonly others = new Set<Subscriber>()

  add(target: SubscriptionTarget, callback: (event: StoreEvent) => void): () => void {
    const subscriber: Subscriber = { target, callback }
    let bucket: Set<Subscriber>
    if (typeof target === 'string') {
      bucket = this.byKey.get(target) ?? new Set()
      this.byKey.set(target, bucket)
    } else {
      bucket = this.others
    }
    bucket.add(subscriber)
    return () => {
      bucket.delete(subscriber)
      if (typeof target === 'string' && bucket.size === 0) this.byKey.delete(target)
    }
  }

  get size(): number {
    return this.byKey.size + this.others.size
  }

  dispatch(changes: readonly KvChange[]): void {
    if (this.byKey.size === 0 && this.others.size === 0) return
    for (const change of changes) {
      const keyed = this.byKey.get(change.key)
      const targets = [...(keyed ?? []), ...[...this.others].filter((s) => matches(s.target, change.key))]
      for (const subscriber of targets) {
        try {
          subscriber.callback(change)
        } catch (error) {
          // One failing subscriber must not starve the others; surface it like an uncaught error.
          queueMicrotask(() => {
            throw error
          })
        }
      }
    }
  }

  clear(): void {
    this.byKey.clear()
    this.others.clear()
  }
}
