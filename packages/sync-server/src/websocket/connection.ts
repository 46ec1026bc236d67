import type { WebSocket } from 'ws'
import { CloseCodes, isKvsyncError } from '@kvsync/shared'
import type { DocumentLease } from '../documents/registry.js'
import type { DocumentPeer, ServerDocument } from '../documents/server-document.js'
import { errorCode } from '../logger.js'
import type { Logger } from '../logger.js'
import { handleClientMessage } from '../protocol/handle-message.js'
import type { MessageContext } from '../protocol/handle-message.js'
import { awarenessMessage, syncStep1Message } from '../protocol/messages.js'

/** A close code and reason from the `CloseCodes` table. */
export interface CloseCode {
  readonly code: number
  readonly reason: string
}

/** Options of {@link Connection}. */
export interface ConnectionOptions {
  readonly socket: WebSocket
  readonly lease: DocumentLease
  readonly logger: Logger
  /** Bytes of frames a connection may queue while its document loads. */
  readonly maxPendingBytes: number
  /** Called once the connection is closed and detached from its document. */
  readonly onClosed: (connection: Connection) => void
}

/**
 * One client's WebSocket, attached to one store. Frames that arrive while the store loads are
 * queued and handled in order once it is ready, so a client never gets a sync step 2 of a
 * not-yet-loaded (empty-looking) store.
 *
 * Durable acknowledgements (a later issue) hook in at {@link Connection.wrote}: it receives, per
 * write, the promise that the write is durable.
 */
export class Connection implements DocumentPeer {
  readonly store: string
  readonly awarenessClients = new Set<number>()
  /** Protocol version the client announced with `hello`; `undefined` for stock clients. */
  kvsyncVersion: number | undefined
  /** Cleared on every ping, set by the pong or any frame; see {@link Connection.ping}. */
  alive = true
  readonly #socket: WebSocket
  readonly #lease: DocumentLease
  readonly #logger: Logger
  readonly #maxPendingBytes: number
  readonly #onClosed: (connection: Connection) => void
  #pending: Uint8Array[] | undefined = []
  #pendingBytes = 0
  #document: ServerDocument | undefined
  #context: MessageContext | undefined
  #closed = false
  /** Writes whose durability is still pending; reported per connection once durable acks land. */
  #unconfirmedWrites = 0

  constructor(options: ConnectionOptions) {
    this.#socket = options.socket
    this.#lease = options.lease
    this.#logger = options.logger
    this.#maxPendingBytes = options.maxPendingBytes
    this.#onClosed = options.onClosed
    this.store = options.lease.name
    this.#socket.binaryType = 'nodebuffer'
    this.#socket.on('message', this.#onMessage)
    this.#socket.on('pong', () => {
      this.alive = true
    })
    this.#socket.on('close', () => this.#detach())
    this.#socket.on('error', (error) => {
      // ws reports frames it rejects (too large, bad framing) as WS_ERR_* and closes with 1009 /
      // 1002 itself; network failures (ECONNRESET) are routine.
      const code = errorCode(error)
      const level = code?.startsWith('WS_ERR_') === true ? 'warn' : 'debug'
      this.#logger[level]('socket error', { doc: this.store, code, error })
    })
    options.lease.ready.then(this.#attach, (error: unknown) => {
      this.close(isKvsyncError(error, 'STORE_CLOSED') ? CloseCodes.goingAway : CloseCodes.storageUnavailable)
    })
  }

  /** Writes still waiting to become durable. */
  get unconfirmedWrites(): number {
    return this.#unconfirmedWrites
  }

  /** Sends one protocol message as one binary frame; a no-op once the socket is closing. */
  send(message: Uint8Array): void {
    if (this.#socket.readyState !== this.#socket.OPEN) return
    this.#socket.send(message, { binary: true }, (error) => {
      if (error !== undefined && error !== null) this.#logger.debug('send failed', { doc: this.store, error })
    })
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

  readonly #attach = (document: ServerDocument): void => {
    if (this.#closed) return
    this.#document = document
    this.#context = {
      document,
      peer: this,
      reply: (message) => this.send(message),
      announceKvsync: (version) => {
        this.kvsyncVersion = version
      },
      wrote: (durable) => this.#wrote(durable),
    }
    document.peers.add(this)
    this.send(syncStep1Message(document.doc))
    const clients = [...document.awareness.getStates().keys()]
    if (clients.length > 0) this.send(awarenessMessage(document.awareness, clients))
    const pending = this.#pending ?? []
    this.#pending = undefined
    for (const data of pending) {
      if (this.#closed) return
      this.#handle(data)
    }
  }

  readonly #onMessage = (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void => {
    this.alive = true
    if (this.#closed) return
    const bytes = toBytes(data)
    if (!isBinary) {
      this.#protocolError(undefined, 'text frame')
      return
    }
    if (this.#pending !== undefined) {
      this.#pendingBytes += bytes.byteLength
      if (this.#pendingBytes > this.#maxPendingBytes) {
        this.#logger.warn('too much data before the store loaded', { doc: this.store, bytes: this.#pendingBytes })
        this.close(CloseCodes.rateLimited)
        return
      }
      this.#pending.push(bytes)
      return
    }
    this.#handle(bytes)
  }

  #handle(data: Uint8Array): void {
    const context = this.#context
    if (context === undefined) return
    try {
      handleClientMessage(context, data)
    } catch (error) {
      this.#protocolError(error, 'malformed frame')
    }
  }

  #wrote(durable: Promise<void>): void {
    this.#unconfirmedWrites++
    durable.then(
      () => {
        this.#unconfirmedWrites--
      },
      () => {
        // The write queue logged the failure; this write will never be confirmed.
        this.#unconfirmedWrites--
      },
    )
  }

  #protocolError(error: unknown, what: string): void {
    this.#logger.warn(`closing a connection after a ${what}`, { doc: this.store, code: errorCode(error) ?? 'PROTOCOL_ERROR', error })
    this.close(CloseCodes.protocolError)
  }

  #detach(): void {
    if (this.#closed) return
    this.#closed = true
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
