import 'fake-indexeddb/auto'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Store } from '../src/index.js'
import { startFakeServer, type FakeServer } from './fake-ack-server.js'
import { openNodeStore } from './node-store.js'

// Two Store instances in one process stand in for two tabs: Node's BroadcastChannel delivers
// between instances of one process, fake-indexeddb is the shared database, and a small
// in-process lock manager plays Web Locks (Node 20 has no navigator.locks). e2e/tests/
// browser-tabs.spec.ts proves the same in Chromium.

/** Exclusive locks with a FIFO queue per name, like navigator.locks.request in exclusive mode. */
class FakeLocks {
  private readonly held = new Map<string, Array<() => void>>()

  async request(name: string, options: { signal?: AbortSignal }, callback: () => Promise<void>): Promise<void> {
    const queue = this.held.get(name) ?? []
    this.held.set(name, queue)
    if (queue.length > 0 || this.busy.has(name)) {
      await new Promise<void>((resolve, reject) => {
        queue.push(resolve)
        options.signal?.addEventListener('abort', () => {
          queue.splice(queue.indexOf(resolve), 1)
          reject(new DOMException('aborted', 'AbortError'))
        })
      })
    }
    this.busy.add(name)
    try {
      await callback()
    } finally {
      this.busy.delete(name)
      queue.shift()?.()
    }
  }

  private readonly busy = new Set<string>()
}

let counter = 0
const cleanups: Array<() => Promise<void> | void> = []
beforeEach(() => {
  Object.defineProperty(globalThis, 'navigator', { value: { locks: new FakeLocks() }, configurable: true, writable: true })
})
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  Reflect.deleteProperty(globalThis, 'navigator')
})

function tab(name: string, server: FakeServer | undefined): Promise<Store> {
  return openNodeStore(name, { persistence: 'indexeddb', ...(server === undefined ? {} : { url: server.url }), backoff: { initialMs: 10, maxMs: 50 } }, cleanups)
}

async function fakeServer(): Promise<FakeServer> {
  const server = await startFakeServer()
  cleanups.push(() => server.close())
  return server
}

/** Two tabs of a new store on a new fake server, opened in turn: the first leads. */
async function leaderAndFollower(): Promise<{ server: FakeServer; leader: Store; follower: Store }> {
  const server = await fakeServer()
  const name = `tabs/unit-${counter++}`
  const leader = await tab(name, server)
  await leader.whenSynced()
  const follower = await tab(name, server)
  await follower.whenSynced()
  return { server, leader, follower }
}

describe('tabs of one origin (in-process stand-ins)', () => {
  it('share one connection; a follower’s writes reach the server and its whenSaved resolves from relayed acks', async () => {
    const { server, leader, follower } = await leaderAndFollower()
    expect(server.connections).toBe(1)

    await follower.set('from-follower', 1)
    await vi.waitFor(() => expect(leader.get('from-follower')).toBe(1))
    await vi.waitFor(() => expect(server.doc.getArray('kv').length).toBe(1))
    expect(follower.unsavedWrites).toBe(1)
    const saved = follower.whenSaved()
    server.ackAll()
    await saved
    expect(follower.unsavedWrites).toBe(0)
  })

  it('hands the connection to the follower when the leader closes', async () => {
    const { server, leader, follower } = await leaderAndFollower()
    await leader.close()
    await vi.waitFor(() => expect(server.connections).toBe(1))
    await follower.set('after', true)
    await vi.waitFor(() => expect(server.doc.getArray('kv').length).toBe(1))
    await vi.waitFor(() => expect(follower.status).toBe('synced'))
  })

  it('a local-only tab does not take the leadership from a tab with a server', async () => {
    const server = await fakeServer()
    const name = `tabs/unit-${counter++}`
    const local = await tab(name, undefined)
    const online = await tab(name, server)
    await online.whenSynced()
    expect(server.connections).toBe(1)
    await local.set('from-local', 1)
    await vi.waitFor(() => expect(server.doc.getArray('kv').length).toBe(1))
  })

  it('shares a write made right before close() with the other tabs', async () => {
    const name = `tabs/unit-${counter++}`
    const one = await tab(name, undefined)
    const two = await tab(name, undefined)
    void one.set('last-words', 'bye')
    await one.close()
    await vi.waitFor(() => expect(two.get('last-words')).toBe('bye'))
  })

  it('does not store another tab’s updates a second time', async () => {
    const name = `tabs/unit-${counter++}`
    const one = await tab(name, undefined)
    const two = await tab(name, undefined)
    const spy = vi.spyOn(IDBObjectStore.prototype, 'add')
    await one.set('k', 1)
    await vi.waitFor(() => expect(two.get('k')).toBe(1))
    await two.flush()
    // One record: the writer's own append.
    expect(spy.mock.calls.length).toBe(1)
    spy.mockRestore()
  })
})
