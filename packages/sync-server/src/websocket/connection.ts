import { CloseCodes, KvsyncError, encodeDurableAck, encodeErrorMessage, isKvsyncError } from '@kvsync/shared'
import type { Access } from '../auth/access.js'
import type { DocumentLease } from '../documents/registry.js'
import type { DocumentPeer, ServerDocument } from '../documents/server-document.js'
import { TokenBucket } from '../limits/token-bucket.js'
import { errorCode } from '../logger.js'
import type { Logger } from '../logger.js'
import type { ServerMetrics } from '../metrics/server-metrics.js'
import { handleClientMessage, isWriteMessage } from '../protocol/handle-message.js'
import type { MessageContext } from '../protocol/handle-message.js'
import type { AwarenessLimits } from '../protocol/write-check.js'
import { closeCodeFor, explainsClose } from './close-reasons.js'
import type { CloseCode, ConnectionLimits, ConnectionOptions } from './connection-options.js'
import type { PeerSocket, SocketOwner } from './peer-socket.js'

/** setTimeout's longest delay (2^31 − 1 ms); longer ones fire at once. */
const MAX_TIMER_MS = 2_147_483_647

/**
 * One client's WebSocket, attached to one store. Frames that arrive while the store loads are
 * queued and handled in order once it is ready, so a client never gets a sync step 2 of a
 * not-yet-loaded (empty-looking) store.
 *
 * Enforces the per-connection limits (message size and rate, send buffer), the token's write
 * permission and expiry, and sends kvsync clients (those that said `hello`) durable acks and
 * coded errors. It is itself the {@link MessageContext} its messages are handled in, so a
 * connection costs one object and its socket listeners rather than a context and a closure per
 * callback (idle connections are most of a server's connections).
 */
export class Connection implements DocumentPeer, MessageContext, SocketOwner {
  readonly store: string
  awarenessClients: Set<number> | undefined
  /** Protocol version the client announced with `hello`; `undefined` for stock clients. */
  kvsyncVersion: number | undefined
  /** Cleared on every ping, set by the pong or any frame; see {@link Connection.ping}. */
  alive = true
  /** Whether this connection's token allows writing to the store. */
  readonly canWrite: boolean
  readonly #socket: PeerSocket
  readonly #lease: DocumentLease
  readonly #logger: Logger
  readonly #access: Access
  readonly #limits: ConnectionLimits
  readonly #metrics: ServerMetrics
  readonly #now: () => number
  readonly #bucket: TokenBucket
  readonly #onClosed: (connection: Connection) => void
  /** Frames received before the document loaded; `undefined` once attached (or closed). */
  #pending: Uint8Array[] | undefined = []
  #pendingBytes = 0
  #document: ServerDocument | undefined
  #expiryTimer: NodeJS.Timeout | undefined
  #closed = false
  #unconfirmedWrites = 0
  /** Updates received in this turn, applied together by #applyWrites. */
  #writes: Uint8Array[] | undefined
  /** Whether every one of #writes came in an update message (not a sync step 2). */
  #writesIncremental = true
  /** Clocks of writes that became durable in this microtask checkpoint, sent as one ack. */
  #ackClocks: Map<number, number> | undefined

  constructor(options: ConnectionOptions) {
    this.#socket = options.socket
    this.#lease = options.lease
    this.#logger = options.logger
    this.#access = options.access
    this.#limits = options.limits
    this.#metrics = options.metrics
    this.#now = options.now
    this.#onClosed = options.onClosed
    this.#bucket = new TokenBucket({ rate: options.limits.messageRate, burst: options.limits.messageBurst })
    this.store = options.lease.name
    this.canWrite = options.access.canWrite(this.store)
    this.#socket.binaryType = 'nodebuffer'
    this.#socket.attachOwner(this)
    this.#scheduleExpiry()
    options.lease.ready.then(
      (document) => this.#attach(document),
      (error: unknown) => {
        this.fail(isKvsyncError(error) ? error : new KvsyncError('STORAGE_FAILED', 'the store could not be loaded', { cause: error }))
      },
    )
  }

  /** The document this connection is attached to (its messages are handled only once it is). */
  get document(): ServerDocument {
    return this.#document as ServerDocument
  }

  /** This connection, as the origin of its updates and awareness changes. */
  get peer(): DocumentPeer {
    return this
  }

  /**
   * {@link DocumentPeer.wantsOwnUpdates}: only stock clients get their own updates back. A
   * kvsync client (it said hello) has them, and the durable ack confirms them.
   */
  get wantsOwnUpdates(): boolean {
    return this.kvsyncVersion === undefined
  }

  get awarenessLimits(): AwarenessLimits {
    return this.#limits.awareness
  }

  /** Writes still waiting to become durable. */
  get unconfirmedWrites(): number {
    return this.#unconfirmedWrites
  }

  /**
   * Sends one protocol message as one binary frame; a no-op once the socket is closing. A
   * reader whose send buffer already holds more than `maxBufferedBytes` is closed with 4003
   * instead: buffering for it would grow without bound. (The check comes before the send, so a
   * single large message such as a first sync step 2 always goes out.)
   */
  send(message: Uint8Array): void {
    if (this.#socket.readyState !== this.#socket.OPEN) return
    if (this.#socket.bufferedAmount > this.#limits.maxBufferedBytes) {
      this.fail(new KvsyncError('SLOW_CONSUMER', `more than ${this.#limits.maxBufferedBytes} bytes wait to be sent`))
      return
    }
    this.#metrics.messagesOut.inc()
    this.#metrics.bytesOut.inc({}, message.byteLength)
    // Binary, since it is not a string. No callback: a failed write makes ws close the socket,
    // which detaches us, and a closure per message would be garbage for every broadcast.
    this.#socket.send(message)
  }

  /**
   * Closes the connection because of `error`, with the close code the `closeCodeFor` table
   * gives. Permanent closes (4400–4499) are explained to kvsync clients with a coded error
   * message first.
   */
  fail(error: KvsyncError): void {
    if (this.#closed) return
    const closeCode = closeCodeFor(error.code)
    this.#metrics.errors.inc({ code: error.code })
    const level = error.code === 'STORE_CLOSED' ? 'debug' : 'info'
    this.#logger[level]('closing a connection', { doc: this.store, code: error.code, close: closeCode.code, reason: error.message })
    if (this.kvsyncVersion !== undefined && explainsClose(closeCode)) this.send(encodeErrorMessage(error.code, error.message))
    this.close(closeCode)
  }

  /** Closes with a code from the `CloseCodes` table and detaches from the document. */
  close(closeCode: CloseCode): void {
    if (this.#socket.readyState === this.#socket.OPEN || this.#socket.readyState === this.#socket.CONNECTING) {
      this.#socket.close(closeCode.code, closeCode.reason)
    }
    this.#detach()
  }

  /**
   * Heartbeat tick: drops the connection if nothing (no pong, no frame) arrived since the
   * previous tick, then pings again. Stock clients answer pings automatically.
   */
  ping(): void {
    if (!this.alive) {
      this.#logger.info('dropping an unresponsive connection', { doc: this.store })
      this.terminate()
      return
    }
    this.alive = false
    if (this.#socket.readyState === this.#socket.OPEN) this.#socket.ping()
  }

  /** Drops the TCP connection without a closing handshake (dead peers). */
  terminate(): void {
    this.#socket.terminate()
    this.#detach()
  }

  /** Resolves once the socket is fully closed. */
  whenClosed(): Promise<void> {
    if (this.#socket.readyState === this.#socket.CLOSED) return Promise.resolve()
    return new Promise((resolve) => this.#socket.once('close', () => resolve()))
  }

  /** {@link MessageContext.reply}: sends to this connection only. */
  reply(message: Uint8Array): void {
    this.send(message)
  }

  /** {@link MessageContext.write}: holds the update until the end of this turn (see #applyWrites). */
  write(update: Uint8Array, incremental: boolean): void {
    this.#metrics.updatesIn.inc()
    const writes = (this.#writes ??= [])
    writes.push(update)
    if (!incremental) this.#writesIncremental = false
    // Frames read together (one socket read) are handled in one synchronous loop; the
    // microtask runs right after it.
    if (writes.length === 1) queueMicrotask(() => this.#applyWrites())
  }

  /** {@link MessageContext.refused}: a write was refused; kvsync clients are told why. */
  refused(error: KvsyncError): void {
    this.#metrics.errors.inc({ code: error.code })
    this.#logger.debug('refused a write', { doc: this.store, code: error.code })
    if (this.kvsyncVersion !== undefined) this.send(encodeErrorMessage(error.code, error.message))
  }

  /** {@link MessageContext.announceKvsync}: on hello, ack the document's whole state once it is durable. */
  announceKvsync(version: number): void {
    const first = this.kvsyncVersion === undefined
    this.kvsyncVersion = version
    if (first) this.#ackWhenDurable(this.document.whenDurable(), this.document.stateVector())
  }

  #attach(document: ServerDocument): void {
    if (this.#closed) return
    this.#document = document
    document.peers.add(this)
    this.#metrics.connectionsAccepted.inc()
    this.send(document.syncStep1Message())
    const states = document.awarenessStatesMessage()
    if (states !== undefined) this.send(states)
    const pending = this.#pending ?? []
    this.#pending = undefined
    for (const data of pending) {
      if (this.#closed) return
      this.#handle(data)
    }
  }

  /** @internal {@link SocketOwner.socketClosed}, called by the socket only. */
  socketClosed(): void {
    this.#detach()
  }

  /** @internal {@link SocketOwner.socketError}, called by the socket only. */
  socketError(error: Error): void {
    // ws reports frames it rejects (too large, bad framing) as WS_ERR_* and closes with 1009 /
    // 1002 itself; network failures (ECONNRESET) are routine.
    const code = errorCode(error)
    const level = code?.startsWith('WS_ERR_') === true ? 'warn' : 'debug'
    if (level === 'warn') this.#metrics.errors.inc({ code: code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? 'MESSAGE_TOO_LARGE' : 'PROTOCOL_ERROR' })
    this.#logger[level]('socket error', { doc: this.store, code, error })
  }

  /** @internal {@link SocketOwner.receive}, called by the socket only. */
  receive(data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
    this.alive = true
    if (this.#closed) return
    const bytes = toBytes(data)
    this.#metrics.messagesIn.inc()
    this.#metrics.bytesIn.inc({}, bytes.byteLength)
    if (!this.#bucket.take()) {
      this.fail(new KvsyncError('RATE_LIMITED', `more than ${this.#limits.messageRate} messages per second`))
      return
    }
    if (bytes.byteLength > this.#limits.maxMessageBytes) {
      this.fail(new KvsyncError('MESSAGE_TOO_LARGE', `a message of ${bytes.byteLength} bytes exceeds ${this.#limits.maxMessageBytes}`))
      return
    }
    if (!isBinary) {
      this.fail(new KvsyncError('PROTOCOL_ERROR', 'text frames are not part of the protocol'))
      return
    }
    if (this.#pending !== undefined) {
      this.#pendingBytes += bytes.byteLength
      if (this.#pendingBytes > this.#limits.maxPendingBytes) {
        this.fail(new KvsyncError('RATE_LIMITED', `more than ${this.#limits.maxPendingBytes} bytes arrived before the store loaded`))
        return
      }
      this.#pending.push(bytes)
      return
    }
    this.#handle(bytes)
  }

  #handle(data: Uint8Array): void {
    if (this.#document === undefined) return
    if (!isWriteMessage(data) && this.#writes !== undefined && this.#writes.length > 0) {
      // Everything else sees the updates that came before it; a malformed one closes us here,
      // and the frames after it are dropped, as when each update was applied on arrival.
      this.#applyWrites()
      if (this.#closed) return
    }
    try {
      handleClientMessage(this, data)
    } catch (error) {
      // lib0 decoders throw plain errors on truncated input: garbage all the same.
      this.fail(isKvsyncError(error) ? error : new KvsyncError('PROTOCOL_ERROR', 'malformed message', { cause: error }))
    }
  }

  /**
   * Applies the updates this connection sent in this turn in one Yjs transaction (one stored
   * row, one broadcast entry, one ack) instead of one each. Each is still checked on its own:
   * the ones before a malformed one stay applied, as when each was applied on arrival.
   */
  #applyWrites(): void {
    try {
      this.#applyWritesOr(true)
    } catch (error) {
      // Runs as a microtask, outside #handle's guard: nothing may escape to the process.
      this.fail(isKvsyncError(error) ? error : new KvsyncError('SERVER_ERROR', 'applying updates failed', { cause: error }))
    }
  }

  /** See #applyWrites; with `failConnection` false a malformed update is dropped silently. */
  #applyWritesOr(failConnection: boolean): void {
    const updates = this.#writes
    if (updates === undefined || updates.length === 0) return
    const incremental = this.#writesIncremental
    this.#writes = undefined
    this.#writesIncremental = true
    const document = this.#document
    if (document === undefined) return
    const { applied, error } = document.applyUpdates(updates, this, incremental)
    // An update that integrated nothing (an empty step 2) has nothing to acknowledge.
    if (applied.clocks.size > 0) this.#ackWhenDurable(applied.durable, applied.clocks)
    else applied.durable.catch(() => {})
    if (error !== undefined && failConnection) this.fail(error)
  }

  /** `clocks` becomes this connection's (it may be the next ack's map). */
  #ackWhenDurable(durable: Promise<void>, clocks: Map<number, number>): void {
    this.#unconfirmedWrites++
    durable.then(
      () => {
        this.#unconfirmedWrites--
        // Only kvsync clients understand acks; one that says hello later gets a full ack then.
        if (this.kvsyncVersion === undefined || this.#closed) return
        // The writes of one group commit become durable together: one ack (the per-client
        // maximum of their clocks, still a true "durable below") instead of one per write.
        const merged = this.#ackClocks
        if (merged === undefined) {
          this.#ackClocks = clocks
          queueMicrotask(() => this.#sendAck())
          return
        }
        for (const [client, clock] of clocks) if (clock > (merged.get(client) ?? 0)) merged.set(client, clock)
      },
      () => {
        // The write queue logged the failure; this write will never be acknowledged.
        this.#unconfirmedWrites--
      },
    )
  }

  #sendAck(): void {
    const clocks = this.#ackClocks
    this.#ackClocks = undefined
    if (clocks === undefined || this.#closed) return
    this.#metrics.durableAcks.inc()
    this.send(encodeDurableAck(clocks))
  }

  /** Closes the connection with 4401 when its token expires (leeway included). */
  #scheduleExpiry(): void {
    const expiresAt = this.#access.expiresAt
    if (expiresAt === undefined || this.#closed) return
    const delay = expiresAt - this.#now()
    if (delay <= 0) {
      this.fail(new KvsyncError('UNAUTHORIZED', 'the token has expired'))
      return
    }
    this.#expiryTimer = setTimeout(() => this.#scheduleExpiry(), Math.min(delay, MAX_TIMER_MS))
    this.#expiryTimer.unref()
  }

  #detach(): void {
    if (this.#closed) return
    // Updates that arrived before the close are applied, as they were when applied on arrival;
    // the connection is closing already, so a malformed one is only dropped.
    this.#applyWritesOr(false)
    this.#closed = true
    clearTimeout(this.#expiryTimer)
    this.#pending = undefined
    this.#document?.removePeer(this)
    this.#lease.release()
    this.#onClosed(this)
  }
}

/** ws hands out a Buffer, an ArrayBuffer or fragments, depending on `binaryType`. */
function toBytes(data: Buffer | ArrayBuffer | Buffer[]): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data)
  if (data instanceof ArrayBuffer) return new Uint8Array(data)
  return data
}
