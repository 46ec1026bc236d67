import {
  CloseCodes,
  KvsyncError,
  MessageType,
  PROTOCOL_VERSION,
  encodeHello,
  isPermanentCloseCode,
  readDurableAck,
  readErrorMessage,
  type KvsyncErrorCode,
} from '@kvsync/shared'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import * as syncProtocol from 'y-protocols/sync'
import type * as Y from 'yjs'
import { Backoff, type BackoffOptions } from './backoff.js'

/** Where a store stands with its server. */
export type SyncStatus = 'offline' | 'connecting' | 'syncing' | 'synced'

/** The subset of the WebSocket API the client uses (browser `WebSocket` and `ws` both fit). */
export interface WebSocketLike {
  binaryType: string
  readonly readyState: number
  send(data: Uint8Array): void
  close(code?: number, reason?: string): void
  onopen: ((event: unknown) => void) | null
  onmessage: ((event: { data: unknown }) => void) | null
  onclose: ((event: { code: number; reason: string }) => void) | null
  onerror: ((event: unknown) => void) | null
}

/** A WebSocket constructor, such as the browser's `WebSocket` or `ws`'s default export. */
export type WebSocketConstructor = new (url: string) => WebSocketLike

/** Options of {@link SyncConnection}. */
export interface SyncConnectionOptions {
  doc: Y.Doc
  storeName: string
  /** Server base URLs (`ws://host:port`), tried in turn. */
  urls: readonly string[]
  token?: string | undefined
  WebSocket: WebSocketConstructor
  onStatus: (status: SyncStatus) => void
  onError: (error: KvsyncError) => void
  /** A durable acknowledgement from the server: every update of client C below clock K is durable. */
  onDurableAck?: ((clocks: Map<number, number>) => void) | undefined
  backoff?: BackoffOptions | undefined
  /** Reconnect when nothing was heard from the server for this long. Default 30 s. */
  timeoutMs?: number | undefined
}

const OPEN = 1

/** Maps a permanent close code to the error the application sees. */
function closeError(code: number, reason: string): KvsyncError {
  const codes: Record<number, KvsyncErrorCode> = {
    [CloseCodes.unauthorized.code]: 'UNAUTHORIZED',
    [CloseCodes.forbidden.code]: 'FORBIDDEN',
    [CloseCodes.invalidStoreName.code]: 'INVALID_STORE_NAME',
    [CloseCodes.messageTooLarge.code]: 'MESSAGE_TOO_LARGE',
    [CloseCodes.versionMismatch.code]: 'PROTOCOL_VERSION_MISMATCH',
  }
  return new KvsyncError(codes[code] ?? 'PROTOCOL_ERROR', `the server closed the connection for good (${code} ${reason})`)
}

/** The URL of store `storeName` on the server at `base` (the y-websocket convention). */
export function storeUrl(base: string, storeName: string, token?: string): string {
  // Store names only use URL-safe characters (see storeNameProblem), so no escaping is needed.
  const url = `${base.replace(/\/+$/, '')}/${storeName}`
  return token === undefined ? url : `${url}?token=${encodeURIComponent(token)}`
}

/**
 * Keeps one Yjs document in sync with a server over the y-websocket protocol: sync step 1/2 on
 * connect, then incremental updates both ways; reconnects with backoff and jitter, cycling
 * through the given URLs; goes quiet while the browser reports being offline.
 */
export class SyncConnection {
  private socket: WebSocketLike | undefined
  private status: SyncStatus = 'offline'
  private running = false
  private urlIndex = 0
  private retryTimer: ReturnType<typeof setTimeout> | undefined
  private livenessTimer: ReturnType<typeof setInterval> | undefined
  private lastHeard = 0
  private readonly backoff: Backoff
  private readonly timeoutMs: number

  constructor(private readonly options: SyncConnectionOptions) {
    this.backoff = new Backoff(options.backoff)
    this.timeoutMs = options.timeoutMs ?? 30_000
  }

  get currentStatus(): SyncStatus {
    return this.status
  }

  /** Starts connecting; keeps trying until {@link stop}. */
  start(): void {
    if (this.running) return
    this.running = true
    this.options.doc.on('update', this.onDocUpdate)
    globalThis.addEventListener?.('online', this.onOnline)
    globalThis.addEventListener?.('offline', this.onOffline)
    this.connect()
  }

  /** Closes the connection and stops reconnecting. */
  stop(): void {
    if (!this.running) return
    this.running = false
    this.options.doc.off('update', this.onDocUpdate)
    globalThis.removeEventListener?.('online', this.onOnline)
    globalThis.removeEventListener?.('offline', this.onOffline)
    this.clearTimers()
    this.dropSocket(CloseCodes.normal.code, CloseCodes.normal.reason)
    this.setStatus('offline')
  }

  private browserOffline(): boolean {
    const navigatorLike = (globalThis as { navigator?: { onLine?: boolean } }).navigator
    return navigatorLike?.onLine === false
  }

  private connect(): void {
    this.retryTimer = undefined
    if (!this.running) return
    if (this.browserOffline()) {
      this.setStatus('offline')
      return
    }
    const { urls, storeName, token } = this.options
    const url = storeUrl(urls[this.urlIndex % urls.length]!, storeName, token)
    this.urlIndex = (this.urlIndex + 1) % urls.length
    this.setStatus('connecting')
    let socket: WebSocketLike
    try {
      socket = new this.options.WebSocket(url)
    } catch (error) {
      this.options.onError(new KvsyncError('INVALID_OPTION', `cannot open a WebSocket to ${url}`, { cause: error }))
      this.scheduleRetry()
      return
    }
    socket.binaryType = 'arraybuffer'
    this.socket = socket
    socket.onopen = () => this.onOpen(socket)
    socket.onmessage = (event) => this.onMessage(socket, event.data)
    socket.onclose = (event) => this.onClose(socket, event.code, event.reason)
    socket.onerror = () => {
      // The close event that always follows carries what we act on.
    }
  }

  private onOpen(socket: WebSocketLike): void {
    if (socket !== this.socket) return
    this.lastHeard = Date.now()
    this.setStatus('syncing')
    socket.send(encodeHello(PROTOCOL_VERSION))
    const step1 = encoding.createEncoder()
    encoding.writeVarUint(step1, MessageType.sync)
    syncProtocol.writeSyncStep1(step1, this.options.doc)
    socket.send(encoding.toUint8Array(step1))
    this.livenessTimer = setInterval(() => this.checkLiveness(socket), Math.max(1_000, this.timeoutMs / 3))
  }

  /** Browsers cannot see protocol pings, so ask for awareness to hear from a quiet server. */
  private checkLiveness(socket: WebSocketLike): void {
    const silentFor = Date.now() - this.lastHeard
    if (silentFor >= this.timeoutMs) {
      socket.close(CloseCodes.goingAway.code, 'server silent')
      this.onClose(socket, 4000, 'server silent')
    } else if (silentFor >= this.timeoutMs / 3 && socket.readyState === OPEN) {
      const query = encoding.createEncoder()
      encoding.writeVarUint(query, MessageType.queryAwareness)
      socket.send(encoding.toUint8Array(query))
    }
  }

  private onMessage(socket: WebSocketLike, data: unknown): void {
    if (socket !== this.socket) return
    this.lastHeard = Date.now()
    const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : data instanceof Uint8Array ? data : undefined
    if (bytes === undefined) return
    try {
      const decoder = decoding.createDecoder(bytes)
      const type = decoding.readVarUint(decoder)
      if (type === MessageType.sync) {
        const reply = encoding.createEncoder()
        encoding.writeVarUint(reply, MessageType.sync)
        const syncType = syncProtocol.readSyncMessage(decoder, reply, this.options.doc, this)
        if (encoding.length(reply) > 1 && socket.readyState === OPEN) socket.send(encoding.toUint8Array(reply))
        if (syncType === syncProtocol.messageYjsSyncStep2) {
          this.backoff.reset()
          this.setStatus('synced')
        }
      } else if (type === MessageType.error) {
        const { code, message } = readErrorMessage(decoder)
        this.options.onError(new KvsyncError(code as KvsyncErrorCode, `server: ${message}`))
      } else if (type === MessageType.durableAck) {
        this.options.onDurableAck?.(readDurableAck(decoder))
      }
      // Awareness (1) and other messages only prove the server is alive.
    } catch (error) {
      this.options.onError(new KvsyncError('PROTOCOL_ERROR', 'could not apply a message from the server', { cause: error }))
      socket.close(CloseCodes.protocolError.code, CloseCodes.protocolError.reason)
      // Reported above; retry (maybe another URL) rather than treat our own close as permanent.
      this.onClose(socket, CloseCodes.goingAway.code, 'bad message from server')
    }
  }

  private onClose(socket: WebSocketLike, code: number, reason: string): void {
    if (socket !== this.socket) return
    this.socket = undefined
    this.clearTimers()
    if (!this.running) return
    if (isPermanentCloseCode(code)) {
      this.options.onError(closeError(code, reason))
      this.running = false
      this.options.doc.off('update', this.onDocUpdate)
      this.setStatus('offline')
      return
    }
    this.scheduleRetry()
  }

  private scheduleRetry(): void {
    if (!this.running) return
    this.setStatus(this.browserOffline() ? 'offline' : 'connecting')
    this.retryTimer = setTimeout(() => this.connect(), this.backoff.next())
  }

  private readonly onDocUpdate = (update: Uint8Array, origin: unknown): void => {
    // Updates that came from this connection need not go back; everything else does.
    if (origin === this || this.socket?.readyState !== OPEN) return
    const message = encoding.createEncoder()
    encoding.writeVarUint(message, MessageType.sync)
    syncProtocol.writeUpdate(message, update)
    this.socket.send(encoding.toUint8Array(message))
  }

  private readonly onOnline = (): void => {
    if (!this.running || this.socket !== undefined) return
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer)
    this.backoff.reset()
    this.connect()
  }

  private readonly onOffline = (): void => {
    if (!this.running) return
    // Chromium may keep a socket open while offline; drop it so status tells the truth.
    this.clearTimers()
    this.dropSocket(CloseCodes.goingAway.code, 'browser offline')
    this.setStatus('offline')
  }

  private dropSocket(code: number, reason: string): void {
    const socket = this.socket
    this.socket = undefined
    if (socket === undefined) return
    socket.onopen = socket.onmessage = socket.onclose = null
    // Not null: `ws` emits 'error' when a socket still connecting is closed, and an EventEmitter
    // 'error' without a listener throws (https://nodejs.org/api/events.html#error-events).
    socket.onerror = () => {}
    try {
      socket.close(code, reason)
    } catch {
      // Closing a socket that never opened can throw in some implementations; it is gone anyway.
    }
  }

  private clearTimers(): void {
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer)
    if (this.livenessTimer !== undefined) clearInterval(this.livenessTimer)
    this.retryTimer = undefined
    this.livenessTimer = undefined
  }

  private setStatus(status: SyncStatus): void {
    if (this.status === status) return
    this.status = status
    this.options.onStatus(status)
  }
}
