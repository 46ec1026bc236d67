import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { KvsyncError, isKvsyncError } from '@kvsync/shared'
import type { DocStorage } from '@kvsync/shared'
import { Authenticator } from './auth/authenticator.js'
import { DocumentRegistry } from './documents/registry.js'
import { WriteQueue } from './documents/write-queue.js'
import { createRequestHandler } from './http/handler.js'
import { createLineLogger, errorCode } from './logger.js'
import { createFreedMemoryTrimmer } from './memory/freed-memory-trimmer.js'
import { createServerMetrics } from './metrics/server-metrics.js'
import { isLoopbackHost, resolveOptions } from './options.js'
import type { SyncServerOptions } from './options.js'
import { MemoryDocStorage } from './storage/memory.js'
import { SqliteDocStorage } from './storage/sqlite.js'
import { WebSocketEndpoint } from './websocket/endpoint.js'

/** Where a listening {@link SyncServer} can be reached. */
export interface SyncServerAddress {
  /** The host it listens on, as configured. */
  readonly host: string
  /** The real port (the chosen one when `port: 0` was asked for). */
  readonly port: number
  /** Base WebSocket URL, e.g. `ws://127.0.0.1:1234`; append `/<store name>`. */
  readonly url: string
}

/** A kvsync sync server; see {@link createSyncServer}. */
export interface SyncServer {
  /**
   * Starts accepting HTTP and WebSocket connections. Rejects with a `KvsyncError`
   * `SERVER_ERROR` when the port cannot be bound, or `INVALID_OPTION` when called twice.
   */
  listen(): Promise<SyncServerAddress>
  /**
   * Graceful shutdown: stops accepting connections, closes clients with `going away` (1001),
   * waits until queued updates are stored, compacts loaded stores, and closes the storage it
   * opened itself. Idempotent. Rejects with `PERSISTENCE_FAILED` if some updates could not be
   * stored.
   */
  close(): Promise<void>
  /** A snapshot of what the server holds right now. */
  stats(): SyncServerStats
}

/** Counters returned by {@link SyncServer.stats}. */
export interface SyncServerStats {
  /** Open WebSocket connections. */
  readonly connections: number
  /** Stores loaded (or loading) in memory, hibernated ones included. */
  readonly loadedStores: number
  /** Loaded stores that are hibernated (only their encoded state in memory). */
  readonly hibernatedStores: number
}

/** What a running server exposes beyond its {@link SyncServer} API. */
export interface SyncServerInternals {
  /** Prometheus text, as `GET /metrics` returns it. */
  metricsText(): string
}

/**
 * Creates a sync server: a WebSocket endpoint speaking the y-websocket protocol (so stock
 * `y-websocket` providers can sync any store) plus HTTP (`/healthz`, optional static files) on
 * the same port. Nothing is bound until `listen()`.
 *
 * @example
 * ```ts
 * const server = createSyncServer({ port: 0, dataDir: './data' })
 * const { url } = await server.listen()
 * // clients connect to `${url}/prefs/user-42`
 * await server.close()
 * ```
 */
export function createSyncServer(options: SyncServerOptions = {}): SyncServer & SyncServerInternals {
  const config = resolveOptions(options)
  const logger = options.logger ?? createLineLogger()
  const authenticator = new Authenticator(config.auth)
  if (authenticator.open && !isLoopbackHost(config.host) && !config.insecure) {
    throw new KvsyncError(
      'INVALID_OPTION',
      `refusing to listen on ${config.host} without auth: anyone could read and write every store. Configure auth (a secret or a public key), listen on loopback, or pass insecure: true`,
    )
  }
  const ownedStorage: DocStorage | undefined =
    config.storage === undefined ? (config.dataDir !== undefined ? new SqliteDocStorage({ dataDir: config.dataDir }) : new MemoryDocStorage()) : undefined
  const storage = config.storage ?? (ownedStorage as DocStorage)
  let endpoint: WebSocketEndpoint | undefined
  let registry: DocumentRegistry | undefined
  let queue: WriteQueue | undefined
  const metrics = createServerMetrics({
    connections: () => endpoint?.connectionCount ?? 0,
    loadedStores: () => registry?.size ?? 0,
    hibernatedStores: () => registry?.hibernatedCount ?? 0,
    pendingWrites: () => queue?.pendingJobs ?? 0,
  })
  queue = new WriteQueue({
    storage,
    logger,
    onWritten: (_kind, seconds) => metrics.persistSeconds.observe(seconds),
    onFailed: (error) => metrics.errors.inc({ code: isKvsyncError(error) ? error.code : 'STORAGE_FAILED' }),
  })
  const trimmer = config.releaseFreedMemory ? createFreedMemoryTrimmer(logger, () => metrics.memoryTrims.inc()) : undefined
  registry = new DocumentRegistry({
    storage,
    queue,
    logger,
    metrics,
    idleUnloadMs: config.idleUnloadMs,
    hibernateAfterMs: config.hibernateAfterMs,
    compactAfterUpdates: config.compactAfterUpdates,
    sweepIntervalMs: config.sweepIntervalMs,
    tombstoneRetentionMs: config.tombstoneRetentionMs,
    maxPendingBytes: config.maxPayloadBytes,
    ...(trimmer !== undefined ? { onMemoryFreed: () => trimmer.noteFreed() } : {}),
  })
  endpoint = new WebSocketEndpoint({
    registry,
    logger,
    authenticator,
    metrics,
    maxConnections: config.maxConnections,
    rejectGraceMs: config.rejectGraceMs,
    pingIntervalMs: config.pingIntervalMs,
    closeTimeoutMs: config.closeTimeoutMs,
    limits: {
      maxMessageBytes: config.maxPayloadBytes,
      messageRate: config.messageRate,
      messageBurst: config.messageBurst,
      maxBufferedBytes: config.maxBufferedBytes,
      maxAwarenessBytes: config.maxAwarenessBytes,
      maxAwarenessClients: config.maxAwarenessClients,
    },
  })
  const notReady = (): string | undefined => {
    if (closing !== undefined) return 'shutting down'
    if (!http.listening) return 'not listening'
    const failingSince = queue?.failingSince
    if (failingSince !== undefined) return `storage failing since ${new Date(failingSince).toISOString()}: writes are kept in memory and retried, none is acknowledged`
    return undefined
  }
  const http = createServer(createRequestHandler({ logger, staticDir: config.staticDir, authenticator, metrics, notReady }))
  const wsEndpoint = endpoint
  const documents = registry
  http.on('upgrade', (request, socket, head: Buffer) => wsEndpoint.handleUpgrade(request, socket, head))

  let listening: Promise<SyncServerAddress> | undefined
  let closing: Promise<void> | undefined

  const listen = (): Promise<SyncServerAddress> => {
    if (closing !== undefined) return Promise.reject(new KvsyncError('INVALID_OPTION', 'this server was closed; create a new one'))
    if (listening !== undefined) return Promise.reject(new KvsyncError('INVALID_OPTION', 'listen() was already called'))
    listening = new Promise<SyncServerAddress>((resolve, reject) => {
      const onError = (cause: Error): void => {
        reject(new KvsyncError('SERVER_ERROR', `cannot listen on ${config.host}:${config.port} (${errorCode(cause) ?? cause.message})`, { cause }))
      }
      http.once('error', onError)
      http.listen(config.port, config.host, () => {
        http.off('error', onError)
        http.on('error', (error) => logger.error('HTTP server error', { code: errorCode(error), error }))
        const { port } = http.address() as AddressInfo
        const address = { host: config.host, port, url: `ws://${formatHost(config.host)}:${port}` }
        logger.debug('listening', { url: address.url })
        if (authenticator.open) {
          logger.warn('open mode: no auth configured, every client may read and write every store', { host: config.host, loopbackOnly: isLoopbackHost(config.host) })
        }
        resolve(address)
      })
    })
    return listening
  }

  const shutDown = async (): Promise<void> => {
    const httpClosed = http.listening ? new Promise<void>((resolve) => http.close(() => resolve())) : Promise.resolve()
    trimmer?.close()
    await wsEndpoint.close()
    let failure: unknown
    try {
      await documents.close()
    } catch (error) {
      failure = error
      logger.error('some updates were not stored', { code: errorCode(error), error })
    }
    try {
      await ownedStorage?.close?.()
    } catch (error) {
      failure ??= error
      logger.error('closing storage failed', { code: errorCode(error), error })
    }
    await httpClosed
    if (failure !== undefined) throw failure
  }

  return {
    listen,
    close: () => {
      closing ??= shutDown()
      return closing
    },
    stats: () => ({ connections: wsEndpoint.connectionCount, loadedStores: documents.size, hibernatedStores: documents.hibernatedCount }),
    metricsText: () => metrics.registry.render(),
  }
}

/** IPv6 literals need brackets inside a URL. */
function formatHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
}
