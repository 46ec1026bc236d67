import { KvsyncError } from '@kvsync/shared'
import type { DocStorage } from '@kvsync/shared'
import type { Logger } from './logger.js'

/** Options of {@link createSyncServer}. Every field is optional. */
export interface SyncServerOptions {
  /** Interface to listen on. Default `'127.0.0.1'` (local only); `'0.0.0.0'` for all. */
  readonly host?: string
  /** TCP port for HTTP and WebSocket. Default `1234`; `0` picks a free port. */
  readonly port?: number
  /**
   * Where documents are stored. Default: a `SqliteDocStorage` in `dataDir` when that is given,
   * else a `MemoryDocStorage` (nothing survives the process). A storage passed here belongs to
   * the caller: `close()` does not close it. Cannot be combined with `dataDir`.
   */
  readonly storage?: DocStorage
  /** Directory for the default SQLite storage (`kvsync.db`); created if missing. */
  readonly dataDir?: string
  /** Directory of static files served over HTTP (`index.html` for `/`). Default: none. */
  readonly staticDir?: string
  /** Unload a store this long after its last connection left. Default `30_000` ms. */
  readonly idleUnloadMs?: number
  /** Merge a store's stored updates into one snapshot once this many accumulated. Default `500`. */
  readonly compactAfterUpdates?: number
  /** How often loaded stores are swept of expired entries and old tombstones. Default `60_000` ms. */
  readonly sweepIntervalMs?: number
  /**
   * How long a delete's tombstone is kept. A client offline for longer that still holds an
   * older concurrent write can bring it back (docs/semantics.md). Default 30 days.
   */
  readonly tombstoneRetentionMs?: number
  /** Largest WebSocket frame accepted; larger ones close the connection (1009). Default 16 MiB. */
  readonly maxPayloadBytes?: number
  /** Ping interval; connections that miss a pong for a whole interval are dropped. Default `30_000` ms. */
  readonly pingIntervalMs?: number
  /** How long `close()` waits for clients to acknowledge the close before dropping them. Default `2_000` ms. */
  readonly closeTimeoutMs?: number
  /** Receives log lines. Default: one line per event on stderr, without debug lines. */
  readonly logger?: Logger
}

/** {@link SyncServerOptions} with defaults applied and values checked. */
export interface ResolvedOptions {
  readonly host: string
  readonly port: number
  readonly storage: DocStorage | undefined
  readonly dataDir: string | undefined
  readonly staticDir: string | undefined
  readonly idleUnloadMs: number
  readonly compactAfterUpdates: number
  readonly sweepIntervalMs: number
  readonly tombstoneRetentionMs: number
  readonly maxPayloadBytes: number
  readonly pingIntervalMs: number
  readonly closeTimeoutMs: number
}

/** Applies defaults; throws a `KvsyncError` `INVALID_OPTION` naming the first bad option. */
export function resolveOptions(options: SyncServerOptions): ResolvedOptions {
  if (options.storage !== undefined && options.dataDir !== undefined) {
    throw new KvsyncError('INVALID_OPTION', 'pass either storage or dataDir, not both')
  }
  const port = options.port ?? 1234
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new KvsyncError('INVALID_OPTION', `port must be an integer from 0 to 65535, got ${String(options.port)}`)
  }
  return {
    host: options.host ?? '127.0.0.1',
    port,
    storage: options.storage,
    dataDir: options.dataDir,
    staticDir: options.staticDir,
    idleUnloadMs: nonNegativeInteger('idleUnloadMs', options.idleUnloadMs, 30_000),
    compactAfterUpdates: positiveInteger('compactAfterUpdates', options.compactAfterUpdates, 500),
    sweepIntervalMs: positiveInteger('sweepIntervalMs', options.sweepIntervalMs, 60_000),
    tombstoneRetentionMs: positiveInteger('tombstoneRetentionMs', options.tombstoneRetentionMs, 30 * 24 * 3600 * 1000),
    maxPayloadBytes: positiveInteger('maxPayloadBytes', options.maxPayloadBytes, 16 * 1024 * 1024),
    pingIntervalMs: positiveInteger('pingIntervalMs', options.pingIntervalMs, 30_000),
    closeTimeoutMs: nonNegativeInteger('closeTimeoutMs', options.closeTimeoutMs, 2_000),
  }
}

function nonNegativeInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new KvsyncError('INVALID_OPTION', `${name} must be a non-negative integer, got ${String(value)}`)
  }
  return value
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new KvsyncError('INVALID_OPTION', `${name} must be a positive integer, got ${String(value)}`)
  }
  return value
}
