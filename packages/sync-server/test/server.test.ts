import { describe, expect, it, vi } from 'vitest'
import * as encoding from 'lib0/encoding'
import * as Y from 'yjs'
import { CloseCodes, MessageType, PROTOCOL_VERSION } from '@kvsync/shared'
import type { DocStorage } from '@kvsync/shared'
import { MemoryDocStorage } from '../src/index.js'
import { RawClient, serverFixtures, startServer, tempDir, updateFrame } from './helpers.js'

const { cleanups, client, server } = serverFixtures()

describe('sync server', () => {
  it('syncs two clients of one store both ways', async () => {
    const { url } = await server()
    const a = client(`${url}/prefs/user-42`)
    const b = client(`${url}/prefs/user-42`)
    await vi.waitFor(() => expect(a.synced && b.synced).toBe(true))
    a.map.set('theme', 'dark')
    await vi.waitFor(() => expect(b.map.get('theme')).toBe('dark'))
    b.map.set('lang', 'de')
    await vi.waitFor(() => expect(a.map.get('lang')).toBe('de'))
  })

  it('keeps stores apart', async () => {
    const { url } = await server()
    const a = client(`${url}/a`)
    const ab = client(`${url}/a/b`)
    await vi.waitFor(() => expect(a.synced && ab.synced).toBe(true))
    a.map.set('only-in-a', true)
    const late = client(`${url}/a`)
    await vi.waitFor(() => expect(late.map.get('only-in-a')).toBe(true))
    expect(ab.map.has('only-in-a')).toBe(false)
  })

  it('echoes an applied update to its sender', async () => {
    const { url } = await server()
    const a = client(`${url}/echo`)
    await vi.waitFor(() => expect(a.synced).toBe(true))
    const before = a.received.filter((message) => message.syncType === 2).length
    a.map.set('k', 1)
    await vi.waitFor(() => expect(a.received.filter((message) => message.syncType === 2).length).toBe(before + 1))
  })

  it('answers sync step 1 only after the store has loaded', async () => {
    const storage = new MemoryDocStorage()
    const seed = new Y.Doc()
    seed.getMap('kv').set('stored', 'yes')
    await storage.appendUpdate('slow', Y.encodeStateAsUpdate(seed))
    let release: () => void = () => {}
    let loadCalls = 0
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    const slowStorage: DocStorage = {
      ...bind(storage),
      loadUpdates: async (doc) => {
        loadCalls++
        await gate
        return storage.loadUpdates(doc)
      },
    }
    const { url } = await server({ storage: slowStorage })
    const a = client(`${url}/slow`)
    await a.opened
    a.map.set('early', 'write')
    await vi.waitFor(() => expect(loadCalls).toBe(1))
    expect(a.received).toEqual([])
    release()
    await vi.waitFor(() => expect(a.synced).toBe(true))
    // The stored key can only have come with the step 2 answer: it was not answered early.
    expect(a.map.get('stored')).toBe('yes')
    expect(a.received[0]?.syncType).toBe(0)
    const b = client(`${url}/slow`)
    await vi.waitFor(() => expect(b.map.get('early')).toBe('write'))
  })

  it('persists updates so they survive a restart on the same data directory', async () => {
    const dir = await tempDir()
    cleanups.push(dir.teardown)
    const first = await startServer({ dataDir: dir.value })
    const a = new RawClient(`${first.url}/config/prod`)
    await vi.waitFor(() => expect(a.synced).toBe(true))
    a.map.set('replicas', 3)
    await vi.waitFor(() => expect(a.received.some((message) => message.syncType === 2)).toBe(true))
    await a.close()
    await first.teardown()

    const second = await server({ dataDir: dir.value })
    const b = client(`${second.url}/config/prod`)
    await vi.waitFor(() => expect(b.map.get('replicas')).toBe(3))
  })

  it('compacts stored updates past the threshold', async () => {
    const storage = new MemoryDocStorage()
    const { url } = await server({ storage, compactAfterUpdates: 10 })
    const a = client(`${url}/busy`)
    await vi.waitFor(() => expect(a.synced).toBe(true))
    for (let index = 0; index < 25; index++) a.map.set(`key-${index % 5}`, index)
    await vi.waitFor(async () => {
      const doc = new Y.Doc()
      for (const update of await storage.loadUpdates('busy')) Y.applyUpdate(doc, update)
      expect(doc.getMap('kv').get('key-4')).toBe(24)
    })
    expect((await storage.loadUpdates('busy')).length).toBeLessThan(10)
  })

  it('compacts an idle store into one snapshot when it unloads', async () => {
    const storage = new MemoryDocStorage()
    const { url } = await server({ storage, idleUnloadMs: 1 })
    const a = new RawClient(`${url}/idle`)
    await vi.waitFor(() => expect(a.synced).toBe(true))
    // One write per turn (each waits until stored): five rows, not one merged update.
    for (let index = 0; index < 5; index++) {
      a.map.set(`key-${index}`, index)
      await vi.waitFor(async () => expect((await storage.loadUpdates('idle')).length).toBe(index + 1))
    }
    await a.close()
    await vi.waitFor(async () => expect((await storage.loadUpdates('idle')).length).toBe(1))
    const b = client(`${url}/idle`)
    await vi.waitFor(() => expect(b.map.get('key-4')).toBe(4))
  })

  it('closes a connection that sends a malformed frame with 4400 and keeps serving others', async () => {
    const { url } = await server()
    const bystander = client(`${url}/other`)
    const sameStore = client(`${url}/victim`)
    const attacker = client(`${url}/victim`)
    await vi.waitFor(() => expect(bystander.synced && sameStore.synced && attacker.synced).toBe(true))
    attacker.send(Uint8Array.of(MessageType.sync, 2, 200, 1, 7))
    expect((await attacker.closed).code).toBe(CloseCodes.protocolError.code)
    bystander.map.set('still', 'alive')
    const check = client(`${url}/other`)
    await vi.waitFor(() => expect(check.map.get('still')).toBe('alive'))
    sameStore.map.set('store', 'fine')
    const check2 = client(`${url}/victim`)
    await vi.waitFor(() => expect(check2.map.get('store')).toBe('fine'))
  })

  it.each([
    ['truncated varint', Uint8Array.of(0xff)],
    ['unknown sync type', Uint8Array.of(MessageType.sync, 9)],
    ['garbage update', updateFrame(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9))],
    ['garbage awareness', Uint8Array.of(MessageType.awareness, 3, 1, 2, 3)],
    ['empty frame', new Uint8Array(0)],
  ])('closes with 4400 on a %s', async (_name, frame) => {
    const { url } = await server()
    const a = client(`${url}/garbage`)
    await vi.waitFor(() => expect(a.synced).toBe(true))
    a.send(frame)
    expect((await a.closed).code).toBe(CloseCodes.protocolError.code)
  })

  it('closes a connection with an invalid store name with 4404', async () => {
    const { url } = await server()
    // (Clients resolve a literal '/a/../b' themselves, so the dot segment is half encoded.)
    for (const path of ['/', '/a/..%2Fb', '/bad%20name', '/%E0%A4%A', '/trailing/']) {
      const bad = client(`${url}${path}`)
      expect((await bad.closed).code).toBe(CloseCodes.invalidStoreName.code)
    }
  })

  it('ignores unknown message types and records the kvsync hello', async () => {
    const { url } = await server()
    const a = client(`${url}/hello`)
    await vi.waitFor(() => expect(a.synced).toBe(true))
    const hello = encoding.createEncoder()
    encoding.writeVarUint(hello, MessageType.hello)
    encoding.writeVarUint(hello, PROTOCOL_VERSION)
    a.send(encoding.toUint8Array(hello))
    a.send(Uint8Array.of(77, 1, 2))
    a.map.set('after', 'unknown')
    const b = client(`${url}/hello`)
    await vi.waitFor(() => expect(b.map.get('after')).toBe('unknown'))
  })

  it('relays awareness to everyone, sender included, and removes it when the client leaves', async () => {
    const { url } = await server()
    const a = new RawClient(`${url}/room`)
    const b = client(`${url}/room`)
    await vi.waitFor(() => expect(a.synced && b.synced).toBe(true))
    a.setAwareness({ user: 'ada' })
    await vi.waitFor(() => expect(b.awareness.getStates().get(a.doc.clientID)).toEqual({ user: 'ada' }))
    await vi.waitFor(() => expect(a.received.some((message) => message.type === MessageType.awareness)).toBe(true))
    const late = client(`${url}/room`)
    await vi.waitFor(() => expect(late.awareness.getStates().get(a.doc.clientID)).toEqual({ user: 'ada' }))
    await a.close()
    await vi.waitFor(() => expect(b.awareness.getStates().has(a.doc.clientID)).toBe(false))
  })

  it('closes clients with 1001 on shutdown', async () => {
    const started = await startServer()
    const a = new RawClient(`${started.url}/bye`)
    await vi.waitFor(() => expect(a.synced).toBe(true))
    await started.teardown()
    expect((await a.closed).code).toBe(CloseCodes.goingAway.code)
  })

  it('applies the updates a connection sent in one turn in one transaction, stored with one group commit', async () => {
    const storage = new MemoryDocStorage()
    const batches: number[] = []
    const counting: DocStorage = {
      ...bind(storage),
      appendUpdates: async (batch) => {
        batches.push(batch.length)
        await storage.appendUpdates(batch)
      },
    }
    const { url } = await server({ storage: counting })
    const a = client(`${url}/batch`)
    await vi.waitFor(() => expect(a.synced).toBe(true))
    const writer = new Y.Doc()
    const frames = Array.from({ length: 20 }, (_, index) => {
      const before = Y.encodeStateVector(writer)
      writer.getMap('kv').set(`k${index}`, index)
      return updateFrame(Y.encodeStateAsUpdate(writer, before))
    })
    for (const frame of frames) a.send(frame)
    await vi.waitFor(async () => {
      const doc = new Y.Doc()
      for (const update of await storage.loadUpdates('batch')) Y.applyUpdate(doc, update)
      expect(doc.getMap('kv').toJSON()).toEqual(writer.getMap('kv').toJSON())
    })
    expect(batches.length).toBeLessThan(20)
    expect((await storage.loadUpdates('batch')).length).toBeLessThan(20)
  })

  it('keeps the updates sent in the same turn before a malformed one, and closes with 4400', async () => {
    const { url } = await server()
    const attacker = client(`${url}/partly`)
    const reader = client(`${url}/partly`)
    await vi.waitFor(() => expect(attacker.synced && reader.synced).toBe(true))
    const writer = new Y.Doc()
    const frames = Array.from({ length: 3 }, (_, index) => {
      const before = Y.encodeStateVector(writer)
      writer.getMap('kv').set(`k${index}`, index)
      return updateFrame(Y.encodeStateAsUpdate(writer, before))
    })
    for (const frame of [...frames, updateFrame(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9))]) attacker.send(frame)
    // Sent in the same tick, after the malformed update: never handled.
    attacker.setAwareness({ name: 'after the bad update' })
    expect((await attacker.closed).code).toBe(CloseCodes.protocolError.code)
    await vi.waitFor(() => expect(reader.map.toJSON()).toEqual({ k0: 0, k1: 1, k2: 2 }))
    // A later write proves the reader has seen everything the server sent before it.
    const bystander = client(`${url}/partly`)
    await vi.waitFor(() => expect(bystander.synced).toBe(true))
    bystander.map.set('later', true)
    await vi.waitFor(() => expect(reader.map.get('later')).toBe(true))
    expect(reader.received.some((message) => message.type === MessageType.awareness)).toBe(false)
  })
})

/** Copies an adapter's methods so a test can override some of them. */
function bind(storage: MemoryDocStorage): DocStorage {
  return {
    loadUpdates: (doc) => storage.loadUpdates(doc),
    appendUpdate: (doc, update) => storage.appendUpdate(doc, update),
    appendUpdates: (batch) => storage.appendUpdates(batch),
    compact: (doc, merged, count) => storage.compact(doc, merged, count),
    listDocs: () => storage.listDocs(),
    deleteDoc: (doc) => storage.deleteDoc(doc),
  }
}
