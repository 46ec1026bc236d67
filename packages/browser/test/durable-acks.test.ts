import { afterEach, describe, expect, it, vi } from 'vitest'
import WebSocket from 'ws'
import { openStore, type OpenStoreOptions, type Store } from '../src/index.js'
import { startFakeServer } from './fake-ack-server.js'
import { openNodeStore } from './node-store.js'

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function fakeServer() {
  const server = await startFakeServer()
  cleanups.push(() => server.close())
  return server
}

function client(url: string | undefined): Promise<Store> {
  return openNodeStore('acks/store', { ...(url === undefined ? {} : { url }), backoff: { initialMs: 10, maxMs: 50 } }, cleanups)
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
