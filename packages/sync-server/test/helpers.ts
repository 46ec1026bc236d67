import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import * as awarenessProtocol from 'y-protocols/awareness'
import * as syncProtocol from 'y-protocols/sync'
import * as Y from 'yjs'
import { WebSocket } from 'ws'
import { WebsocketProvider } from 'y-websocket'
import { afterEach } from 'vitest'
import { MessageType, PROTOCOL_VERSION, encodeHello, readDurableAck, readErrorMessage } from '@kvsync/shared'
import { createSyncServer, silentLogger } from '../src/index.js'
import type { SyncServer, SyncServerOptions } from '../src/index.js'

/** A temporary directory removed by `teardown`. */
export async function tempDir(prefix = 'kvsync-server-'): Promise<{ value: string; teardown: () => Promise<void> }> {
  const value = await mkdtemp(join(tmpdir(), prefix))
  return { value, teardown: () => rm(value, { recursive: true, force: true }) }
}

/** A listening server on a free port; `teardown` closes it (idempotent). */
export async function startServer(options: SyncServerOptions = {}): Promise<{ server: SyncServer; url: string; port: number; teardown: () => Promise<void> }> {
  const server = createSyncServer({ logger: silentLogger, closeTimeoutMs: 200, ...options, port: options.port ?? 0 })
  const { url, port } = await server.listen()
  return { server, url, port, teardown: () => server.close() }
}

/** One decoded message the server sent. */
export interface Received {
  readonly type: number
  /** For sync messages: 0 step 1, 1 step 2, 2 update. */
  readonly syncType?: number
  readonly bytes: Uint8Array
}

/**
 * A minimal y-websocket client over a raw `ws` socket, for tests that need to see (or forge)
 * individual frames. Keeps a Y.Doc in sync like a stock provider would.
 */
export class RawClient {
  readonly doc = new Y.Doc()
  readonly awareness = new awarenessProtocol.Awareness(this.doc)
  readonly received: Received[] = []
  readonly socket: WebSocket
  readonly closed: Promise<{ code: number; reason: string }>
  readonly opened: Promise<void>
  /** Coded errors (type 101) received; kvsync clients only. */
  readonly errors: Array<{ code: string; message: string }> = []
  /** Durable acks (type 102) received, in order; kvsync clients only. */
  readonly acks: Array<Map<number, number>> = []

  constructor(
    url: string,
    options: { sendStep1?: boolean; autoPong?: boolean; hello?: boolean; headers?: Record<string, string> } = {},
  ) {
    this.awareness.setLocalState(null)
    this.socket = new WebSocket(url, { autoPong: options.autoPong ?? true, ...(options.headers !== undefined ? { headers: options.headers } : {}) })
    this.socket.binaryType = 'nodebuffer'
    this.closed = new Promise((resolve) => {
      this.socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() }))
    })
    this.opened = new Promise((resolve, reject) => {
      this.socket.on('open', () => resolve())
      this.socket.on('error', reject)
    })
    this.socket.on('message', (data: Buffer) => this.#onMessage(new Uint8Array(data)))
    this.socket.on('open', () => {
      if (options.hello === true) this.send(encodeHello(PROTOCOL_VERSION))
      if (options.sendStep1 === false) return
      const encoder = encoding.createEncoder()
      encoding.writeVarUint(encoder, MessageType.sync)
      syncProtocol.writeSyncStep1(encoder, this.doc)
      this.send(encoding.toUint8Array(encoder))
    })
    this.doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin === this) return
      const encoder = encoding.createEncoder()
      encoding.writeVarUint(encoder, MessageType.sync)
      syncProtocol.writeUpdate(encoder, update)
      this.send(encoding.toUint8Array(encoder))
    })
  }

  /** The root map stock clients and these tests write to. */
  get map(): Y.Map<unknown> {
    return this.doc.getMap('kv')
  }

  /** Whether the acks received so far cover every struct this client wrote. */
  get allAcked(): boolean {
    const own = Y.getState(this.doc.store, this.doc.clientID)
    return this.acks.some((ack) => (ack.get(this.doc.clientID) ?? 0) >= own)
  }

  /** Whether a sync step 2 arrived (the store was loaded and answered). */
  get synced(): boolean {
    return this.received.some((message) => message.type === MessageType.sync && message.syncType === syncProtocol.messageYjsSyncStep2)
  }

  send(bytes: Uint8Array): void {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(bytes)
  }

  /** Announces the local awareness state. */
  setAwareness(state: Record<string, unknown>): void {
    this.awareness.setLocalState(state)
    const encoder = encoding.createEncoder()
    encoding.writeVarUint(encoder, MessageType.awareness)
    encoding.writeVarUint8Array(encoder, awarenessProtocol.encodeAwarenessUpdate(this.awareness, [this.doc.clientID]))
    this.send(encoding.toUint8Array(encoder))
  }

  close(): Promise<{ code: number; reason: string }> {
    this.socket.close()
    return this.closed
  }

  #onMessage(data: Uint8Array): void {
    const decoder = decoding.createDecoder(data)
    const type = decoding.readVarUint(decoder)
    if (type === MessageType.sync) {
      const encoder = encoding.createEncoder()
      encoding.writeVarUint(encoder, MessageType.sync)
      const syncType = syncProtocol.readSyncMessage(decoder, encoder, this.doc, this)
      this.received.push({ type, syncType, bytes: data })
      if (encoding.length(encoder) > 1) this.send(encoding.toUint8Array(encoder))
      return
    }
    if (type === MessageType.awareness) {
      awarenessProtocol.applyAwarenessUpdate(this.awareness, decoding.readVarUint8Array(decoder), this)
    }
    if (type === MessageType.error) this.errors.push(readErrorMessage(decoder))
    if (type === MessageType.durableAck) this.acks.push(readDurableAck(decoder))
    this.received.push({ type, bytes: data })
  }
}

/** Encodes a sync update message carrying `update`. */
export function updateFrame(update: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, MessageType.sync)
  syncProtocol.writeUpdate(encoder, update)
  return encoding.toUint8Array(encoder)
}

/**
 * Per-file fixtures for server tests: servers and raw clients made through them, and anything
 * pushed onto `cleanups`, are closed after each test, last in first out (clients before their
 * server, servers before their directories). Call once at the top level of a test file.
 */
export function serverFixtures(defaults: Parameters<typeof startServer>[0] = {}) {
  const cleanups: Array<() => Promise<unknown> | void> = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })
  return {
    cleanups,
    client(url: string, options?: ConstructorParameters<typeof RawClient>[1]): RawClient {
      const raw = new RawClient(url, options)
      cleanups.push(() => raw.close())
      return raw
    },
    async server(options: Parameters<typeof startServer>[0] = {}) {
      const started = await startServer({ ...defaults, ...options })
      cleanups.push(started.teardown)
      return started
    },
  }
}

/**
 * A stock y-websocket provider with a plain Y.Doc, as any Yjs app would use it; `cleanups`
 * destroys both.
 */
export function stockClient(url: string, store: string, cleanups: Array<() => unknown>): { doc: Y.Doc; provider: WebsocketProvider } {
  const doc = new Y.Doc()
  const provider = new WebsocketProvider(url, store, doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    // Providers in one process would otherwise sync through BroadcastChannel, not the server.
    disableBc: true,
  })
  cleanups.push(() => {
    provider.destroy()
    doc.destroy()
  })
  return { doc, provider }
}
