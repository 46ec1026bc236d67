/**
 * @packageDocumentation
 * Node-only additions to `@kvsync/browser`: {@link FilePersistence}, which keeps a store in an
 * append-only file with fsync, atomic compaction and a lock file. A separate entry point, so
 * that browser bundles never see `node:fs`.
 *
 * @example
 * ```ts
 * import WebSocket from 'ws'
 * import { openStore } from '@kvsync/browser'
 * import { FilePersistence } from '@kvsync/browser/node'
 * const store = await openStore('config/prod', {
 *   url: 'ws://127.0.0.1:8787',
 *   WebSocket,
 *   persistence: await FilePersistence.open('./config-prod.kvsync'),
 * })
 * ```
 */
export { FilePersistence, FILE_FORMAT_VERSION } from './storage/file.js'
