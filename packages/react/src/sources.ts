import { isKvsyncError, type KvValue, type Store, type SyncStatus } from '@kvsync/browser'
import { valuesEqual } from './equal.js'

/**
 * What `useSyncExternalStore` needs: a subscribe function and a snapshot getter that returns
 * the same reference until the data it covers changes.
 */
export interface ExternalSource<S> {
  readonly subscribe: (notify: () => void) => () => void
  readonly getSnapshot: () => S
}

const noop = (): void => {}

/**
 * Runs `read`; if the store was closed under a still-mounted component (the provider unmounting,
 * or switching stores), keeps what was last rendered instead of throwing during render.
 */
function readOpen<S>(read: () => S, fallback: S): S {
  try {
    return read()
  } catch (error) {
    if (isKvsyncError(error, 'STORE_CLOSED')) return fallback
    throw error
  }
}

function subscribeOpen(subscribe: () => () => void): () => void {
  try {
    return subscribe()
  } catch (error) {
    if (isKvsyncError(error, 'STORE_CLOSED')) return noop
    throw error
  }
}

/**
 * Says when a cached snapshot must be re-read: after a change event, and always while nothing is
 * subscribed. Unsubscribed reads happen when React renders a component before its subscription
 * exists, and when it checks a concurrent render for tearing right before committing: both must
 * see the store as it is now, not as it was at the last read.
 */
class ChangeTracker {
  private subscribers = 0
  private dirty = true

  track(notify: () => void, subscribe: (onChange: () => void) => () => void): () => void {
    const off = subscribeOpen(() =>
      subscribe(() => {
        this.dirty = true
        notify()
      }),
    )
    this.subscribers++
    // A change may have landed between render and subscribe; React re-reads the snapshot
    // right after subscribing, so make that read look at the store again.
    this.dirty = true
    let active = true
    return () => {
      if (!active) return
      active = false
      this.subscribers--
      off()
    }
  }

  stale(): boolean {
    return this.dirty || this.subscribers === 0
  }

  fresh(): void {
    this.dirty = false
  }
}

/**
 * The value of one key. The snapshot is re-read only after a change event for that key (so
 * other keys' changes cost nothing) and keeps its previous reference when the new value is
 * structurally equal.
 */
export function valueSource(store: Store, key: string): ExternalSource<KvValue | undefined> {
  let cached: KvValue | undefined
  const tracker = new ChangeTracker()
  return {
    subscribe(notify) {
      return tracker.track(notify, (onChange) => store.subscribe(key, onChange))
    },
    getSnapshot() {
      if (tracker.stale()) {
        const next = readOpen(() => store.get(key), cached)
        if (!valuesEqual(next, cached)) cached = next
        tracker.fresh()
      }
      return cached
    },
  }
}

/**
 * `[key, value]` pairs under a prefix, sorted by key. Re-read only after a change under the
 * prefix; unchanged values (and their pairs) keep their references, and so does the whole array
 * when nothing visible changed.
 */
export function entriesSource(store: Store, prefix: string): ExternalSource<ReadonlyArray<readonly [string, KvValue]>> {
  let cached: ReadonlyArray<readonly [string, KvValue]> = []
  const tracker = new ChangeTracker()
  return {
    subscribe(notify) {
      return tracker.track(notify, (onChange) => store.subscribe({ prefix }, onChange))
    },
    getSnapshot() {
      if (!tracker.stale()) return cached
      tracker.fresh()
      const fresh = readOpen(() => store.entries({ prefix }), undefined)
      if (fresh === undefined) return cached
      const previous = new Map(cached.map((pair) => [pair[0], pair]))
      let changed = fresh.length !== cached.length
      const next = fresh.map(([key, value], index) => {
        const old = previous.get(key)
        const pair = old !== undefined && valuesEqual(old[1], value) ? old : ([key, value] as const)
        if (pair !== cached[index]) changed = true
        return pair
      })
      if (changed) cached = next
      return cached
    },
  }
}

/** Where a store stands with its server, as {@link useSyncStatus} returns it. */
export interface SyncState {
  /**
   * `offline`, `connecting`, `syncing` or `synced` (see `Store.status`). A local-only store, and
   * any store while the provider is still opening it, reads `offline`.
   */
  readonly status: SyncStatus
  /**
   * Writes made through this store object that the server has not yet acknowledged as durable;
   * 0 once everything is saved on the server. Always 0 before the store is open.
   */
  readonly unsavedWrites: number
  /** False while the provider is still opening the store (or failed to). */
  readonly ready: boolean
}

/** The state before a store is open, and on the server during SSR. */
export const NOT_READY: SyncState = Object.freeze({ status: 'offline', unsavedWrites: 0, ready: false })

/** Status and unsaved-write count of a store, one snapshot object per distinct state. */
export function syncSource(store: Store): ExternalSource<SyncState> {
  let cached: SyncState = NOT_READY
  const read = (): SyncState => {
    const status = readOpen(() => store.status, cached.status)
    const unsavedWrites = readOpen(() => store.unsavedWrites, cached.unsavedWrites)
    if (cached.ready && cached.status === status && cached.unsavedWrites === unsavedWrites) return cached
    cached = Object.freeze({ status, unsavedWrites, ready: true })
    return cached
  }
  return {
    subscribe(notify) {
      const offStatus = subscribeOpen(() => store.onStatusChange(notify))
      const offUnsaved = subscribeOpen(() => store.onUnsavedChange(() => notify()))
      return () => {
        offStatus()
        offUnsaved()
      }
    },
    getSnapshot: read,
  }
}
