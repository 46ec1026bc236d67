import { KvsyncError, assertStoreName } from '@kvsync/shared'
import { IndexedDbPersistence, assertDurability, type Durability } from './storage/indexeddb.js'
import { MemoryPersistence } from './storage/memory.js'
import type { LocalPersistence } from './storage/types.js'
import { Store } from './store.js'
import type { BackoffOptions } from './sync/backoff.js'
import type { WebSocketConstructor } from './sync/connection.js'
import { canCoordinateTabs } from './tabs/coordinator.js'

/** Options of {@link openStore}. */
export interface OpenStoreOptions {
  /**
   * Server base URL (`ws://host:port` or `wss://…`), or several tried in turn. The store name is
   * appended as the path. Without it the store is local-only.
   */
  url?: string | readonly string[]
  /** Token sent as `?token=` for servers that require auth. */
  token?: string
  /**
   * Where the local copy lives: `'indexeddb'` (default where IndexedDB exists), `'memory'`
   * (default elsewhere, e.g. Node), or a custom {@link LocalPersistence}.
   */
  persistence?: 'indexeddb' | 'memory' | LocalPersistence
  /** WebSocket implementation. Default: the global `WebSocket`; in Node 20 pass `ws`'s export. */
  WebSocket?: WebSocketConstructor
  /** Reconnect backoff. Default: 250 ms doubling up to 15 s, with full jitter. */
  backoff?: BackoffOptions
  /** Largest encoded value accepted by `set`, in bytes. Default 1 MiB. */
  maxValueBytes?: number
  /**
   * Local commits after which the stored update log is compacted into one snapshot. Default 500
   * (y-indexeddb's choice too; in Chromium a log of 500 small updates opens in about 25 ms).
   * The log is also compacted once the updates appended since the last snapshot take more bytes
   * than the snapshot and than 256 KiB, so stored bytes stay within about twice the compacted
   * state.
   */
  compactAfter?: number
  /**
   * Coordinate with other tabs of this origin that open the same store with IndexedDB
   * persistence: one tab (elected with Web Locks) holds the WebSocket, the others sync through it
   * over a BroadcastChannel. Default `true`; ignored where Web Locks or BroadcastChannel are
   * missing (e.g. Node), where every instance syncs on its own.
   */
  multiTab?: boolean
  /**
   * Stores whose stored update log is larger than this many bytes open without waiting for Yjs
   * to decode them: `openStore` resolves once the log is read and scanned (the entries it holds
   * answer reads), and the document is decoded right after (the first write decodes it at once;
   * see `store.whenLoaded()`). Smaller stores are decoded before `openStore` resolves. Default
   * 256 KiB (about 4,000 small keys).
   */
  backgroundLoadBytes?: number
  /**
   * Local-only stores (no `url`) sweep themselves this often: expired entries become tombstones
   * and tombstones older than `tombstoneRetentionMs` are dropped. Default 60 s. Stores with a
   * server leave this to the server.
   */
  sweepIntervalMs?: number
  /** Local-only stores: how long a delete's tombstone is kept. Default 30 days. */
  tombstoneRetentionMs?: number
  /**
   * IndexedDB only: how durable a commit must be before `await store.set()` resolves.
   * `'relaxed'` (default): written to the operating system, so it survives the tab being closed
   * and a crash of the page or the browser, but an OS crash or power loss may lose the last
   * commits. `'strict'`: flushed to disk, so it survives those too, at about 2 ms more per
   * commit. Either way an IndexedDB transaction is all or nothing.
   */
  durability?: Durability
  /** Clock for HLC timestamps and TTLs (tests). Default `Date.now`. */
  now?: () => number
}

function choosePersistence(
  name: string,
  option: OpenStoreOptions['persistence'],
  durability: Durability | undefined,
  onVersionChange: () => void,
): Promise<LocalPersistence> | LocalPersistence {
  if (typeof option === 'object' && option !== null) return option
  const hasIndexedDb = typeof (globalThis as { indexedDB?: unknown }).indexedDB === 'object'
  const kind = option ?? (hasIndexedDb ? 'indexeddb' : 'memory')
  if (kind === 'memory') return new MemoryPersistence()
  if (kind !== 'indexeddb') throw new KvsyncError('INVALID_OPTION', `persistence must be 'indexeddb', 'memory' or an object, got ${String(option)}`)
  if (!hasIndexedDb) throw new KvsyncError('INVALID_OPTION', "persistence 'indexeddb' needs IndexedDB, which this environment lacks")
  return IndexedDbPersistence.open(name, { onVersionChange, durability })
}

function serverUrls(url: OpenStoreOptions['url']): string[] | undefined {
  if (url === undefined) return undefined
  const urls = typeof url === 'string' ? [url] : [...url]
  if (urls.length === 0) throw new KvsyncError('INVALID_OPTION', 'url must not be an empty list')
  for (const candidate of urls) {
    if (typeof candidate !== 'string' || !/^wss?:\/\/[^/]+/.test(candidate)) {
      throw new KvsyncError('INVALID_OPTION', `url must be a ws:// or wss:// URL, got ${JSON.stringify(candidate)}`)
    }
  }
  return urls
}

/**
 * Opens store `name`: loads its local copy, then syncs with the server in the background.
 * Resolves once local data is readable; never waits for the network.
 *
 * @example
 * ```ts
 * const prefs = await openStore('prefs/user-42', { url: 'wss://sync.example.com' })
 * await prefs.set('theme', 'dark')
 * prefs.subscribe('theme', ({ value }) => applyTheme(value))
 * ```
 */
export async function openStore(name: string, options: OpenStoreOptions = {}): Promise<Store> {
  assertStoreName(name)
  assertDurability(options.durability)
  const urls = serverUrls(options.url)
  const WebSocketImpl = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket
  if (urls !== undefined && WebSocketImpl === undefined) {
    throw new KvsyncError('INVALID_OPTION', "no WebSocket implementation: pass { WebSocket } (in Node: import WebSocket from 'ws')")
  }
  let opened: Store | undefined
  const persistence = await choosePersistence(name, options.persistence, options.durability, () => opened?.databaseLost())
  const store = new Store({
    name,
    persistence,
    sync: urls === undefined ? undefined : { urls, token: options.token, WebSocket: WebSocketImpl!, backoff: options.backoff },
    now: options.now,
    maxValueBytes: options.maxValueBytes,
    compactAfter: options.compactAfter,
    backgroundLoadBytes: options.backgroundLoadBytes,
    sweepIntervalMs: options.sweepIntervalMs,
    tombstoneRetentionMs: options.tombstoneRetentionMs,
    tabs: persistence instanceof IndexedDbPersistence && options.multiTab !== false && canCoordinateTabs(),
  })
  opened = store
  try {
    await store.start()
  } catch (error) {
    await persistence.close()
    throw error
  }
  return store
}
