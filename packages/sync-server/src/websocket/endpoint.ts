import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocketServer } from 'ws'
import type { WebSocket } from 'ws'
import { CloseCodes } from '@kvsync/shared'
import type { DocumentRegistry } from '../documents/registry.js'
import type { Logger } from '../logger.js'
import { Connection } from './connection.js'
import { storeFromUrl } from './store-url.js'

/** Options of {@link WebSocketEndpoint}. */
export interface WebSocketEndpointOptions {
  readonly registry: DocumentRegistry
  readonly logger: Logger
  /** Largest frame accepted; ws closes the connection with 1009 above it. */
  readonly maxPayloadBytes: number
  /** Interval between pings; a connection that did not answer the previous ping is dropped. */
  readonly pingIntervalMs: number
  /** How long `close` waits for clients to finish the closing handshake before dropping them. */
  readonly closeTimeoutMs: number
}

/**
 * The WebSocket side of the server: accepts upgrades handed over by the HTTP server, routes
 * each connection to its store, and keeps connections alive with pings.
 */
export class WebSocketEndpoint {
  readonly #options: WebSocketEndpointOptions
  readonly #server: WebSocketServer
  readonly #connections = new Set<Connection>()
  readonly #heartbeat: NodeJS.Timeout
  #closing = false

  constructor(options: WebSocketEndpointOptions) {
    this.#options = options
    // Compression stays off: Yjs updates compress poorly and deflate costs CPU per reader.
    this.#server = new WebSocketServer({ noServer: true, maxPayload: options.maxPayloadBytes, perMessageDeflate: false })
    this.#heartbeat = setInterval(() => this.#ping(), options.pingIntervalMs)
    this.#heartbeat.unref()
  }

  /** Open connections. */
  get connectionCount(): number {
    return this.#connections.size
  }

  /** Takes over an HTTP upgrade request (the Node `upgrade` event). */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.#closing) {
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
    const target = storeFromUrl(request.url)
    if ('problem' in target) {
      this.#options.logger.info('rejected a connection', { url: request.url, problem: target.problem })
      socket.close(CloseCodes.invalidStoreName.code, CloseCodes.invalidStoreName.reason)
      return
    }
    const connection = new Connection({
      socket,
      lease: this.#options.registry.open(target.store),
      logger: this.#options.logger,
      // Room for a full-size first update plus the handshake while the store loads.
      maxPendingBytes: 2 * this.#options.maxPayloadBytes,
      onClosed: (closed) => this.#connections.delete(closed),
    })
    this.#connections.add(connection)
  }

  #ping(): void {
    for (const connection of this.#connections) connection.ping()
  }
}
