import { KvsyncError } from '@kvsync/shared'
import type { DocStorage } from '@kvsync/shared'
import type { AuthOptions } from './auth/authenticator.js'
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
  /**
   * Hibernate a loaded store (clients still connected) that has not changed for this long: it
   * keeps only its encoded state, about a tenth of the memory, answers new clients from it, and
   * is decoded again by the next update that changes it (or a due sweep). Stores larger than
   * 64 KiB encoded wait proportionally longer, since waking costs a decode (about 0.1 µs per
   * byte). `0` keeps every loaded store awake. Default `10_000` ms.
   */
  readonly hibernateAfterMs?: number
  /** Merge a store's stored updates into one snapshot once this many accumulated. Default `500`. */
  readonly compactAfterUpdates?: number
  /** How often loaded stores are swept of expired entries and old tombstones. Default `60_000` ms. */
  readonly sweepIntervalMs?: number
  /**
   * How long a delete's tombstone is kept. A client offline for longer that still holds an
   * older concurrent write can bring it back (docs/semantics.md). Default 30 days.
   */
  readonly tombstoneRetentionMs?: number
  /**
   * Largest message (WebSocket frame) accepted. A larger one closes the connection with 4413
   * (after a coded `MESSAGE_TOO_LARGE` error to kvsync clients); one more than twice as large
   * (or 1 MiB more) is refused by ws itself with 1009 before it is buffered. Also bounds the
   * updates a store keeps waiting for missing dependencies. Default 16 MiB.
   */
  readonly maxPayloadBytes?: number
  /**
   * Token verification. Without `auth.secret` / `auth.publicKey` the server runs in **open
   * mode**: anyone who can connect may read and write every store. Open mode is refused on a
   * non-loopback `host` unless `insecure` is set.
   */
  readonly auth?: AuthOptions
  /** Allow open mode (no auth) on a non-loopback host. Default `false`. */
  readonly insecure?: boolean
  /** Most WebSocket connections at once; more are closed with 4004. Default `10_000`. */
  readonly maxConnections?: number
  /** Sustained messages per second one connection may send (token bucket). Default `500`. */
  readonly messageRate?: number
  /** Burst of messages one connection may send above the rate. Default `2_000`. */
  readonly messageBurst?: number
  /**
   * Bytes a connection may have waiting in its send buffer (a slow reader) before it is closed
   * with 4003 instead of buffering more. Default 16 MiB.
   */
  readonly maxBufferedBytes?: number
  /** Largest awareness update (all states in one message). Default 64 KiB. */
  readonly maxAwarenessBytes?: number
  /** Most awareness client ids one connection may announce. Default `8`. */
  readonly maxAwarenessClients?: number
  /**
   * How long a refused connection (bad token, forbidden or invalid store) waits for the client's
   * first frame: a kvsync client sends `hello` first and then gets a coded error before the
   * close. Default `1_000` ms.
   */
  readonly rejectGraceMs?: number
  /** Ping interval; connections that miss a pong for a whole interval are dropped. Default `30_000` ms. */
  readonly pingIntervalMs?: number
  /** How long `close()` waits for clients to acknowledge the close before dropping them. Default `2_000` ms. */
  readonly closeTimeoutMs?: number
  /**
   * Give the memory that unloaded and hibernated stores freed back to the system (glibc's
   * `malloc_trim`, through a small native helper the package builds when it is installed):
   * without it the process keeps its peak RSS. Where the helper is missing (an info line at
   * start says why) or the C library is not glibc (a debug line), nothing happens. Default `true`.
   */
  readonly releaseFreedMemory?: boolean
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
  readonly hibernateAfterMs: number
  readonly compactAfterUpdates: number
  readonly sweepIntervalMs: number
  readonly tombstoneRetentionMs: number
  readonly maxPayloadBytes: number
  readonly pingIntervalMs: number
  readonly closeTimeoutMs: number
  readonly auth: AuthOptions
  readonly insecure: boolean
  readonly maxConnections: number
  readonly messageRate: number
  readonly messageBurst: number
  readonly maxBufferedBytes: number
  readonly maxAwarenessBytes: number
  readonly maxAwarenessClients: number
  readonly rejectGraceMs: number
  readonly releaseFreedMemory: boolean
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
    hibernateAfterMs: nonNegativeInteger('hibernateAfterMs', options.hibernateAfterMs, 10_000),
    compactAfterUpdates: positiveInteger('compactAfterUpdates', options.compactAfterUpdates, 500),
    sweepIntervalMs: positiveInteger('sweepIntervalMs', options.sweepIntervalMs, 60_000),
    tombstoneRetentionMs: positiveInteger('tombstoneRetentionMs', options.tombstoneRetentionMs, 30 * 24 * 3600 * 1000),
    maxPayloadBytes: positiveInteger('maxPayloadBytes', options.maxPayloadBytes, 16 * 1024 * 1024),
    pingIntervalMs: positiveInteger('pingIntervalMs', options.pingIntervalMs, 30_000),
    closeTimeoutMs: nonNegativeInteger('closeTimeoutMs', options.closeTimeoutMs, 2_000),
    auth: options.auth ?? {},
    insecure: options.insecure === true,
    maxConnections: positiveInteger('maxConnections', options.maxConnections, 10_000),
    messageRate: positiveInteger('messageRate', options.messageRate, 500),
    messageBurst: positiveInteger('messageBurst', options.messageBurst, 2_000),
    maxBufferedBytes: positiveInteger('maxBufferedBytes', options.maxBufferedBytes, 16 * 1024 * 1024),
    maxAwarenessBytes: positiveInteger('maxAwarenessBytes', options.maxAwarenessBytes, 64 * 1024),
    maxAwarenessClients: positiveInteger('maxAwarenessClients', options.maxAwarenessClients, 8),
    rejectGraceMs: nonNegativeInteger('rejectGraceMs', options.rejectGraceMs, 1_000),
    releaseFreedMemory: booleanOption('releaseFreedMemory', options.releaseFreedMemory, true),
  }
}

/** Whether `host` only accepts connections from this machine. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host
  return bare === 'localhost' || bare === '::1' || /^127(\.\d{1,3}){3}$/.test(bare)
}

function nonNegativeInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new KvsyncError('INVALID_OPTION', `${name} must be a non-negative integer, got ${String(value)}`)
  }
  return value
}

function booleanOption(name: string, value: boolean | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') throw new KvsyncError('INVALID_OPTION', `${name} must be true or false, got ${String(value)}`)
  return value
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new KvsyncError('INVALID_OPTION', `${name} must be a positive integer, got ${String(value)}`)
  }
  return value
}
