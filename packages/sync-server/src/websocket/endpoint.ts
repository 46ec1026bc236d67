import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocketServer } from 'ws'
import type { WebSocket } from 'ws'
import { CloseCodes, KvsyncError, isKvsyncError } from '@kvsync/shared'
import type { Access } from '../auth/access.js'
import { redactUrl, tokenFromRequest } from '../auth/authenticator.js'
import type { Authenticator } from '../auth/authenticator.js'
import type { DocumentRegistry } from '../documents/registry.js'
import type { Logger } from '../logger.js'
import type { ServerMetrics } from '../metrics/server-metrics.js'
import { Connection } from './connection.js'
import type { ConnectionLimits } from './connection-options.js'
import { PeerSocket } from './peer-socket.js'
import { rejectSocket } from './reject.js'
import { storeFromUrl } from './store-url.js'

/** Options of {@link WebSocketEndpoint}. */
export interface WebSocketEndpointOptions {
  readonly registry: DocumentRegistry
  readonly logger: Logger
  readonly authenticator: Authenticator
  readonly metrics: ServerMetrics
  readonly limits: {
    readonly maxMessageBytes: number
    readonly messageRate: number
    readonly messageBurst: number
    readonly maxBufferedBytes: number
    readonly maxAwarenessBytes: number
    readonly maxAwarenessClients: number
  }
  /** Most sockets at once, refused ones included. */
  readonly maxConnections: number
  /** How long a refused socket waits for a hello; see `rejectSocket`. */
  readonly rejectGraceMs: number
  /** Interval between pings; a connection that did not answer the previous ping is dropped. */
  readonly pingIntervalMs: number
  /** How long `close` waits for clients to finish the closing handshake before dropping them. */
  readonly closeTimeoutMs: number
}

/**
 * The WebSocket side of the server: accepts upgrades handed over by the HTTP server, checks the
 * token and the store name, routes each connection to its store, and keeps connections alive
 * with pings.
 */
export class WebSocketEndpoint {
  readonly #options: WebSocketEndpointOptions
  readonly #server: WebSocketServer
  readonly #connections = new Set<Connection>()
  /** Refused sockets waiting to be closed; they count against `maxConnections`. */
  readonly #refused = new Set<WebSocket>()
  readonly #heartbeat: NodeJS.Timeout
  /** Shared by every connection, like the two callbacks below: nothing of it is per connection. */
  readonly #connectionLimits: ConnectionLimits
  readonly #now = (): number => this.#options.authenticator.now()
  readonly #onClosed = (closed: Connection): void => {
    this.#connections.delete(closed)
  }
  #closing = false

  constructor(options: WebSocketEndpointOptions) {
    this.#options = options
    const { maxMessageBytes } = options.limits
    // ws refuses frames above its maxPayload itself (1009) before buffering them; between
    // maxMessageBytes and that hard limit we see the frame and can answer with 4413 and a
    // coded error.
    const hardLimit = maxMessageBytes + Math.min(maxMessageBytes, 1024 * 1024)
    // Compression stays off: Yjs updates compress poorly and deflate costs CPU per reader. No
    // client tracking: we track sockets ourselves (#connections, #refused), and ws's own set
    // costs a closure per socket.
    this.#server = new WebSocketServer({ noServer: true, maxPayload: hardLimit, perMessageDeflate: false, clientTracking: false, WebSocket: PeerSocket })
    const { messageRate, messageBurst, maxBufferedBytes, maxAwarenessBytes, maxAwarenessClients } = options.limits
    this.#connectionLimits = {
      maxMessageBytes,
      messageRate,
      messageBurst,
      maxBufferedBytes,
      // Room for a full-size first update plus the handshake while the store loads.
      maxPendingBytes: 2 * maxMessageBytes,
      awareness: { maxBytes: maxAwarenessBytes, maxClients: maxAwarenessClients },
    }
    this.#heartbeat = setInterval(() => this.#ping(), options.pingIntervalMs)
    this.#heartbeat.unref()
  }

  /** Open connections attached to a store. */
  get connectionCount(): number {
    return this.#connections.size
  }

  /** Takes over an HTTP upgrade request (the Node `upgrade` event). */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    // Past the limit even counting refusals (a flood): answer in HTTP without upgrading.
    if (this.#closing || this.#refused.size >= this.#options.maxConnections) {
      if (!this.#closing) this.#options.metrics.errors.inc({ code: 'TOO_MANY_CONNECTIONS' })
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
      return
    }
    this.#server.handleUpgrade(request, socket, head, (webSocket) => this.#accept(webSocket, request))
  }

  /**
   * Closes every connection with `going away` (clients reconnect elsewhere or later) and waits
   * until they are closed, dropping those that do not answer within `closeTimeoutMs`.
   */
  async close(): Promise<void> {
    this.#closing = true
    clearInterval(this.#heartbeat)
    for (const socket of this.#refused) socket.terminate()
    const connections = [...this.#connections]
    const closed = Promise.all(connections.map((connection) => connection.whenClosed()))
    for (const connection of connections) connection.close(CloseCodes.goingAway)
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), this.#options.closeTimeoutMs)
    })
    const late = await Promise.race([closed.then(() => false), timedOut])
    clearTimeout(timer)
    if (late) for (const connection of connections) connection.terminate()
    await closed
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }

  #accept(socket: WebSocket, request: IncomingMessage): void {
    if (this.#closing) {
      socket.close(CloseCodes.goingAway.code, CloseCodes.goingAway.reason)
      return
    }
    if (this.#connections.size + this.#refused.size >= this.#options.maxConnections) {
      this.#refuse(socket, request, new KvsyncError('TOO_MANY_CONNECTIONS', `the server accepts at most ${this.#options.maxConnections} connections`))
      return
    }
    const target = storeFromUrl(request.url)
    if ('problem' in target) {
      this.#refuse(socket, request, new KvsyncError('INVALID_STORE_NAME', target.problem))
      return
    }
    let access: Access
    try {
      access = this.#options.authenticator.authenticate(tokenFromRequest(request, true))
    } catch (error) {
      this.#refuse(socket, request, isKvsyncError(error) ? error : new KvsyncError('UNAUTHORIZED', 'the token cannot be verified', { cause: error }))
      return
    }
    if (!access.canRead(target.store)) {
      this.#refuse(socket, request, new KvsyncError('FORBIDDEN', `this token may not read ${JSON.stringify(target.store)}`), access.subject)
      return
    }
    const connection = new Connection({
      // The server constructs PeerSockets (see the constructor); ws types them as its base class.
      socket: socket as PeerSocket,
      lease: this.#options.registry.open(target.store),
      logger: this.#options.logger,
      access,
      metrics: this.#options.metrics,
      now: this.#now,
      limits: this.#connectionLimits,
      onClosed: this.#onClosed,
    })
    this.#connections.add(connection)
  }

  #refuse(socket: WebSocket, request: IncomingMessage, error: KvsyncError, subject?: string): void {
    this.#options.metrics.errors.inc({ code: error.code })
    this.#options.logger.info('refused a connection', { url: redactUrl(request.url), code: error.code, reason: error.message, sub: subject })
    this.#refused.add(socket)
    rejectSocket(socket, error, this.#options.rejectGraceMs, () => this.#refused.delete(socket))
  }

  #ping(): void {
    for (const connection of this.#connections) connection.ping()
  }
}
