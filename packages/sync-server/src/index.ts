/**
 * @packageDocumentation
 * The kvsync sync server: a WebSocket endpoint that speaks the y-websocket protocol (plus kvsync
 * extensions), relays every update of a store to all its clients and persists it, with HTTP
 * (`/healthz`, static files) on the same port. Storage is pluggable: SQLite by default, memory
 * for tests.
 *
 * @example
 * ```ts
 * import { createSyncServer } from '@kvsync/sync-server'
 *
 * const server = createSyncServer({ port: 1234, dataDir: './data' })
 * const { url } = await server.listen()
 * console.log(`listening on ${url}`)
 * process.on('SIGTERM', () => void server.close())
 * ```
 */
export { createSyncServer } from './server.js'
export type { SyncServer, SyncServerAddress, SyncServerInternals, SyncServerStats } from './server.js'
export type { SyncServerOptions } from './options.js'
export { isLoopbackHost } from './options.js'
export type { AuthOptions } from './auth/authenticator.js'
export { Authenticator, MIN_SECRET_BYTES } from './auth/authenticator.js'
export type { Access } from './auth/access.js'
export { compileStorePattern } from './auth/access.js'
export type { JwtAlgorithm } from './auth/jwt.js'
export type { Logger, LogFields, LogFormat, LogLevel, LoggerOptions } from './logger.js'
export { createLineLogger, createLogger, silentLogger } from './logger.js'
export { MemoryDocStorage } from './storage/memory.js'
export { SqliteDocStorage, SQLITE_FILE_NAME } from './storage/sqlite.js'
export type { SqliteDocStorageOptions } from './storage/sqlite.js'
