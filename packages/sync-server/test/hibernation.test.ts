import { describe, expect, it, vi } from 'vitest'
import * as Y from 'yjs'
import { KvRegister } from '@kvsync/shared'
import type { DocStorage } from '@kvsync/shared'
import { MemoryDocStorage } from '../src/index.js'
import type { SyncServer, SyncServerInternals } from '../src/index.js'
import { isGlibc } from '../src/memory/malloc-trim.js'
import { RawClient, serverFixtures, stockClient } from './helpers.js'
import { SECRET, claims, hs256 } from './tokens.js'

// Hibernation (docs/architecture.md, "Hibernation"): a loaded store that has not changed for
// hibernateAfterMs keeps only its encoded state. These tests run with a 1 ms delay, so a store
// hibernates as soon as the registry looks (every 10 ms) and they wait for it with vi.waitFor,
// always after the write that woke it was acknowledged (an empty store hibernates at once).
const { cleanups, client, server } = serverFixtures({ hibernateAfterMs: 1 })

/** `kvsync_<name>` from the server's metrics. */
function metric(running: SyncServer, name: string): number {
  const text = (running as SyncServer & SyncServerInternals).metricsText()
  const line = text.split('\n').find((candidate) => candidate.startsWith(`kvsync_${name} `))
  return Number(line?.split(' ')[1])
}


/** Memory storage whose compactions and appends wait until released. */
function gatedStorage() {
  const inner = new MemoryDocStorage()
  const gates = { compact: Promise.resolve(), append: Promise.resolve() }
  const releases = { compact: () => {}, append: () => {} }
  const hold = (what: 'compact' | 'append'): void => {
    gates[what] = new Promise((resolve) => (releases[what] = resolve))
  }
  const compacting: string[] = []
  const storage: DocStorage = {
    loadUpdates: (doc) => inner.loadUpdates(doc),
    appendUpdate: async (doc, update) => {
      await gates.append
      await inner.appendUpdate(doc, update)
    },
    appendUpdates: async (batch) => {
      await gates.append
      await inner.appendUpdates(batch)
    },
    compact: async (doc, merged, count) => {
      compacting.push(doc)
      await gates.compact
      await inner.compact(doc, merged, count)
    },
    listDocs: () => inner.listDocs(),
    deleteDoc: (doc) => inner.deleteDoc(doc),
  }
  return { storage, inner, hold, release: (what: 'compact' | 'append') => releases[what](), compacting }
}

describe('hibernating idle stores', () => {
  it('hibernates a store whose clients stay connected and wakes it for the next update, in order', async () => {
    const { url, server: running } = await server()
    const writer = client(`${url}/notes`, { hello: true })
    const reader = client(`${url}/notes`)
    await vi.waitFor(() => expect(writer.synced && reader.synced).toBe(true))
    writer.map.set('a', 1)
    await vi.waitFor(() => expect(reader.map.get('a')).toBe(1))
    await vi.waitFor(() => expect(writer.allAcked).toBe(true))
    await vi.waitFor(() => expect(running.stats()).toMatchObject({ loadedStores: 1, hibernatedStores: 1 }))
    const woken = metric(running, 'stores_woken_total')
    // Several updates in a row: the first wakes the store, none is lost or reordered.
    for (let i = 0; i < 20; i++) writer.map.set('counter', i)
    writer.map.set('b', 2)
    await vi.waitFor(() => expect(reader.map.toJSON()).toEqual({ a: 1, counter: 19, b: 2 }))
    expect(metric(running, 'stores_woken_total')).toBeGreaterThan(woken)
    await vi.waitFor(() => expect(running.stats().hibernatedStores).toBe(1))
  })

  it('gives the memory a hibernation freed back to the system (glibc)', async () => {
    const { url, server: running } = await server()
    const writer = client(`${url}/trimmed`, { hello: true })
    await vi.waitFor(() => expect(writer.synced).toBe(true))
    writer.map.set('a', 1)
    await vi.waitFor(() => expect(writer.allAcked).toBe(true))
    await vi.waitFor(() => expect(running.stats()).toMatchObject({ loadedStores: 1, hibernatedStores: 1 }))
    if (isGlibc()) await vi.waitFor(() => expect(metric(running, 'memory_trims_total')).toBeGreaterThanOrEqual(1))
  })

  it('syncs a new stock y-websocket client from a hibernated store without waking it', async () => {
    const { url, server: running } = await server()
    const writer = client(`${url}/shared/doc`, { hello: true })
    await vi.waitFor(() => expect(writer.synced).toBe(true))
    for (let i = 0; i < 50; i++) writer.map.set(`k${i}`, { i })
    writer.map.delete('k7')
    await vi.waitFor(() => expect(writer.allAcked).toBe(true))
    await vi.waitFor(() => expect(running.stats().hibernatedStores).toBe(1))
    const woken = metric(running, 'stores_woken_total')
    const stock = stockClient(url, 'shared/doc', cleanups)
    await vi.waitFor(() => expect(stock.provider.synced).toBe(true))
    expect(stock.doc.getMap('kv').toJSON()).toEqual(writer.map.toJSON())
    // Its answering step 2 and its awareness announcement changed nothing in the document.
    stock.provider.awareness.setLocalStateField('user', 'ada')
    await vi.waitFor(() => expect(writer.awareness.getStates().get(stock.doc.clientID)).toEqual({ user: 'ada' }))
    expect(metric(running, 'stores_woken_total')).toBe(woken)
    expect(running.stats().hibernatedStores).toBe(1)
    // Its own write wakes the store and reaches the other client.
    stock.doc.getMap('kv').set('from-stock', true)
    await vi.waitFor(() => expect(writer.map.get('from-stock')).toBe(true))
    expect(metric(running, 'stores_woken_total')).toBe(woken + 1)
  })

  it('acks a kvsync client’s state on hello and its write only once stored, after waking', async () => {
    const gated = gatedStorage()
    const { url, server: running } = await server({ storage: gated.storage })
    const first = client(`${url}/acked`, { hello: true })
    await vi.waitFor(() => expect(first.synced).toBe(true))
    first.map.set('before', 1)
    await vi.waitFor(() => expect(first.allAcked).toBe(true))
    await vi.waitFor(() => expect(running.stats().hibernatedStores).toBe(1))

    // hello on a hibernated store: the whole (durable) state vector, from the encoded state.
    const late = client(`${url}/acked`, { hello: true })
    await vi.waitFor(() => expect(late.acks.length).toBe(1))
    expect(late.acks[0]?.get(first.doc.clientID)).toBe(Y.getState(first.doc.store, first.doc.clientID))
    expect(late.map.get('before')).toBe(1)

    const woken = metric(running, 'stores_woken_total')
    gated.hold('append')
    cleanups.push(() => gated.release('append'))
    late.map.set('after', 2)
    await vi.waitFor(() => expect(first.map.get('after')).toBe(2))
    expect(metric(running, 'stores_woken_total')).toBe(woken + 1)
    // Applied, sent, possibly hibernated again (the encoded state has it): still not acked.
    expect(late.allAcked).toBe(false)
    gated.release('append')
    await vi.waitFor(() => expect(late.allAcked).toBe(true))
    const stored = new Y.Doc()
    for (const update of await gated.inner.loadUpdates('acked')) Y.applyUpdate(stored, update)
    expect(stored.getMap('kv').toJSON()).toEqual({ before: 1, after: 2 })
  })

  it('keeps everything across a restart while hibernated', async () => {
    const storage = new MemoryDocStorage()
    const first = await server({ storage })
    const writer = new RawClient(`${first.url}/kept`, { hello: true })
    await vi.waitFor(() => expect(writer.synced).toBe(true))
    writer.map.set('x', 'y')
    await vi.waitFor(() => expect(writer.allAcked).toBe(true))
    writer.map.set('gone', 1)
    writer.map.delete('gone')
    await vi.waitFor(() => expect(writer.allAcked).toBe(true))
    await vi.waitFor(() => expect(first.server.stats().hibernatedStores).toBe(1))
    await first.teardown()
    await writer.closed
    // Shutdown compacted the hibernated store's two rows into its encoded state.
    expect((await storage.loadUpdates('kept')).length).toBe(1)
    const second = await server({ storage })
    const reader = client(`${second.url}/kept`)
    await vi.waitFor(() => expect(reader.synced).toBe(true))
    expect(reader.map.toJSON()).toEqual({ x: 'y' })
  })

  it('keeps a store that a new client wakes while its idle unload is compacting it', async () => {
    const gated = gatedStorage()
    const { url, server: running } = await server({ storage: gated.storage, idleUnloadMs: 1 })
    const leaving = new RawClient(`${url}/race`, { hello: true })
    await vi.waitFor(() => expect(leaving.synced).toBe(true))
    // Two stored rows, so the unload has something to compact.
    leaving.map.set('one', 1)
    await vi.waitFor(() => expect(leaving.allAcked).toBe(true))
    leaving.map.set('two', 2)
    await vi.waitFor(() => expect(leaving.allAcked).toBe(true))
    await vi.waitFor(() => expect(running.stats().hibernatedStores).toBe(1))
    gated.hold('compact')
    await leaving.close()
    await vi.waitFor(() => expect(gated.compacting).toContain('race'))

    // The unload is waiting for its compaction: a client arrives and writes, which wakes the store.
    const arriving = client(`${url}/race`, { hello: true })
    await vi.waitFor(() => expect(arriving.map.toJSON()).toEqual({ one: 1, two: 2 }))
    arriving.map.set('three', 3)
    await vi.waitFor(() => expect(metric(running, 'stores_woken_total')).toBeGreaterThanOrEqual(1))
    gated.release('compact')
    await vi.waitFor(() => expect(arriving.allAcked).toBe(true))
    expect(running.stats().loadedStores).toBe(1)
    expect(metric(running, 'stores_unloaded_total')).toBe(0)

    const check = client(`${url}/race`)
    await vi.waitFor(() => expect(check.map.toJSON()).toEqual({ one: 1, two: 2, three: 3 }))
    const stored = new Y.Doc()
    for (const update of await gated.inner.loadUpdates('race')) Y.applyUpdate(stored, update)
    expect(stored.getMap('kv').toJSON()).toEqual({ one: 1, two: 2, three: 3 })
  })

  it('lets a read-only client sync from a hibernated store and refuses its writes without waking it', async () => {
    const { url, server: running } = await server({ auth: { secret: SECRET } })
    const writer = client(`${url}/prefs/user-42?token=${hs256(claims({ kvsync: { write: ['prefs/*'] } }))}`, { hello: true })
    await vi.waitFor(() => expect(writer.synced).toBe(true))
    writer.map.set('theme', 'dark')
    writer.map.set('tmp', 1)
    writer.map.delete('tmp')
    await vi.waitFor(() => expect(writer.allAcked).toBe(true))
    await vi.waitFor(() => expect(running.stats().hibernatedStores).toBe(1))
    const woken = metric(running, 'stores_woken_total')
    const reader = client(`${url}/prefs/user-42?token=${hs256(claims({ kvsync: { read: ['prefs/*'] } }))}`, { hello: true })
    await vi.waitFor(() => expect(reader.map.get('theme')).toBe('dark'))
    reader.map.set('theme', 'hacked')
    await vi.waitFor(() => expect(reader.errors.map((error) => error.code)).toEqual(['FORBIDDEN']))
    expect(metric(running, 'stores_woken_total')).toBe(woken)
    expect(running.stats().hibernatedStores).toBe(1)
    expect(writer.map.get('theme')).toBe('dark')
  })

  it('wakes a hibernated store when an entry expires, so the sweep stores its tombstone', async () => {
    const { url, server: running } = await server({ sweepIntervalMs: 10 })
    const raw = client(`${url}/ttl`, { hello: true })
    await vi.waitFor(() => expect(raw.synced).toBe(true))
    const register = new KvRegister(raw.doc)
    cleanups.push(() => register.destroy())
    register.set('session', 'token', { ttl: 300 })
    register.set('kept', 'here')
    await vi.waitFor(() => expect(raw.allAcked).toBe(true))
    await vi.waitFor(() => expect(running.stats().hibernatedStores).toBe(1))
    const woken = metric(running, 'stores_woken_total')
    // The server's sweep turns the expired entry into a tombstone and sends it.
    await vi.waitFor(() => expect(register.entry('session')?.tombstone).toBe(true))
    expect(register.get('kept')).toBe('here')
    expect(metric(running, 'stores_woken_total')).toBe(woken + 1)
  })
})
