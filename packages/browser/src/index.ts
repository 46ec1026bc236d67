/**
 * @packageDocumentation
 * The kvsync client: an offline-first key-value store kept in memory, persisted in IndexedDB
 * and synced through a kvsync (or any y-websocket) server. Also runs in Node.
 *
 * @example
 * ```ts
 * import { openStore } from '@kvsync/browser'
 * const store = await openStore('prefs/user-42', { url: 'ws://127.0.0.1:8787' })
 * await store.set('theme', 'dark')
 * store.get('theme') // 'dark'
 * ```
 */
export { openStore } from './open-store.js'
export type { OpenStoreOptions } from './open-store.js'
export { Store } from './store.js'
export type { PrefixQuery } from './store.js'
export type { StoreEvent, SubscriptionTarget } from './subscriptions.js'
export type { SyncStatus, WebSocketConstructor, WebSocketLike } from './sync/connection.js'
export type { BackoffOptions } from './sync/backoff.js'
export type { CompactPlan, LocalPersistence, UnknownRecords } from './storage/types.js'
export { MemoryPersistence } from './storage/memory.js'
export { IndexedDbPersistence, IDB_FORMAT_VERSION, databaseName } from './storage/indexeddb.js'
export type { Durability, IndexedDbPersistenceOptions } from './storage/indexeddb.js'
export { KvsyncError, isKvsyncError } from '@kvsync/shared'
export type { KvChange, KvChangeOrigin, KvSetOptions, KvValue, KvsyncErrorCode } from '@kvsync/shared'
