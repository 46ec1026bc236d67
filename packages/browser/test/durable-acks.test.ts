import { MessageType, encodeDurableAck } from '@kvsync/shared'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { afterEach, describe, expect, it, vi } from 'vitest'
import WebSocket, { WebSocketServer } from 'ws'
import * as syncProtocol from 'y-protocols/sync'
import * as Y from 'yjs'
import { openStore, type OpenStoreOptions, type Store } from '../src/index.js'

// A tiny fake kvsync server speaking the y-websocket sync protocol, whose durable acks
// (message 102, see packages/shared/src/protocol/extensions.ts) the test releases by hand.
interface FakeServer {
  url: string
  doc: Y.Doc
  /** Acks the server document's whole state vector to every connection. */
  ackAll(): void
  /** Drops every connection (the client reconnects). */
  dropAll(): void
  ackOnHello: boolean
}

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function fakeServer(): Promise<FakeServer> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' })
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()))
  const doc = new Y.Doc()
  const sockets = new Set<WebSocket>()
  const stateAck = () => encodeDurableAck(Y.decodeStateVector(Y.encodeStateVector(doc)))
  const server: FakeServer = {
    url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}`,
    doc,
    ackOnHello: false,
    ackAll: () => sockets.forEach((socket) => socket.send(stateAck())),
    dropAll: () => sockets.forEach((socket) => socket.terminate()),
  }
  wss.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('message', (data: Buffer) => {
      const decoder = decoding.createDecoder(new Uint8Array(data))
      const type = decoding.readVarUint(decoder)
      if (type === MessageType.hello) {
        if (server.ackOnHello) socket.send(stateAck())
      } else if (type === MessageType.sync) {
        const reply = encoding.createEncoder()
        encoding.writeVarUint(reply, MessageType.sync)
        syncProtocol.readSyncMessage(decoder, reply, doc, socket)
        if (encoding.length(reply) > 1) socket.send(encoding.toUint8Array(reply))
      }
    })
  })
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        sockets.forEach((socket) => socket.terminate())
        wss.close(() => resolve())
      }),
  )
  return server
}

async function client(url: string | undefined): Promise<Store> {
  const store = await openStore('acks/store', {
    ...(url === undefined ? {} : { url }),
    persistence: 'memory',
    WebSocket: WebSocket as unknown as OpenStoreOptions['WebSocket'],
    backoff: { initialMs: 10, maxMs: 50 },
  })
  cleanups.push(() => store.close())
  return store
}

describe('durable acknowledgements (client side)', () => {
  it('whenSaved resolves once the server acks every write made so far', async () => {
    const server = await fakeServer()
    const store = await client(server.url)
    await store.whenSynced()
    await expect(store.whenSaved()).resolves.toBeUndefined()
    const counts: number[] = []
    store.onUnsavedChange((count) => counts.push(count))
    await store.set('a', 1)
    await store.transact(() => {
      void store.set('b', 2)
      void store.set('c', 3)
    })
    expect(store.unsavedWrites).toBe(3)
    const saved = vi.fn()
    const whenSaved = store.whenSaved().then(saved)
    await vi.waitFor(() => expect(server.doc.getArray('kv').length).toBe(3))
    expect(saved).not.toHaveBeenCalled()
    await store.set('later', 4)
    await vi.waitFor(() => expect(server.doc.getArray('kv').length).toBe(4))
    server.ackAll()
    await whenSaved
    // The ack was taken after `later` reached the server too, so it covers everything.
    await vi.waitFor(() => expect(store.unsavedWrites).toBe(0))
    expect(counts).toEqual([1, 3, 4, 0])
  })

  it('a write after the ack waits for the next ack', async () => {
    const server = await fakeServer()
    const store = await client(server.url)
    await store.whenSynced()
    await store.set('a', 1)
    await vi.waitFor(() => expect(server.doc.getArray('kv').length).toBe(1))
    server.ackAll()
    await store.whenSaved()
    await store.set('b', 2)
    const saved = vi.fn()
    const second = store.whenSaved().then(saved)
    expect(store.unsavedWrites).toBe(1)
    await vi.waitFor(() => expect(server.doc.getArray('kv').length).toBeGreaterThanOrEqual(2))
    expect(saved).not.toHaveBeenCalled()
    server.ackAll()
    await second
  })

  it('keeps waiting across a reconnect and resolves from the ack sent on hello', async () => {
    const server = await fakeServer()
    const store = await client(server.url)
    await store.whenSynced()
    await store.set('a', 1)
    const saved = store.whenSaved()
    await vi.waitFor(() => expect(server.doc.getArray('kv').length).toBe(1))
    server.ackOnHello = true
    server.dropAll()
    await saved
    expect(store.unsavedWrites).toBe(0)
  })

  it('rejects whenSaved without a server and when the store closes first', async () => {
    const local = await client(undefined)
    await expect(local.whenSaved()).rejects.toMatchObject({ code: 'INVALID_OPTION' })
    const server = await fakeServer()
    const store = await openStore('acks/closing', { url: server.url, persistence: 'memory', WebSocket: WebSocket as unknown as OpenStoreOptions['WebSocket'] })
    await store.set('x', 1)
    const pending = store.whenSaved()
    await store.close()
    await expect(pending).rejects.toMatchObject({ code: 'STORE_CLOSED' })
    await expect(store.whenSaved()).rejects.toMatchObject({ code: 'STORE_CLOSED' })
  })
})
