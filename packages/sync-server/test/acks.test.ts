import { describe, expect, it, vi } from 'vitest'
import * as Y from 'yjs'
import type { DocStorage } from '@kvsync/shared'
import { MemoryDocStorage } from '../src/index.js'
import { serverFixtures, updateFrame } from './helpers.js'

const { cleanups, client, server } = serverFixtures()

/** A memory storage whose appends wait until `open()` is called. */
function gatedStorage(): { storage: DocStorage; inner: MemoryDocStorage; open: () => void; appends: () => number } {
  const inner = new MemoryDocStorage()
  let release: () => void = () => {}
  let gate = new Promise<void>((resolve) => {
    release = resolve
  })
  let appends = 0
  const storage: DocStorage = {
    loadUpdates: (doc) => inner.loadUpdates(doc),
    appendUpdate: async (doc, update) => {
      await gate
      appends++
      await inner.appendUpdate(doc, update)
    },
    appendUpdates: async (batch) => {
      await gate
      appends += batch.length
      await inner.appendUpdates(batch)
    },
    compact: (doc, merged, count) => inner.compact(doc, merged, count),
    listDocs: () => inner.listDocs(),
    deleteDoc: (doc) => inner.deleteDoc(doc),
  }
  return {
    storage,
    inner,
    appends: () => appends,
    open: () => {
      release()
      gate = Promise.resolve()
    },
  }
}

describe('durable acknowledgements', () => {
  it('acks a kvsync client’s write only once it is stored', async () => {
    const gated = gatedStorage()
    const { url } = await server({ storage: gated.storage })
    const a = client(`${url}/acked`, { hello: true })
    const observer = client(`${url}/acked`)
    await vi.waitFor(() => expect(a.synced && a.acks.length).toBe(1))
    await vi.waitFor(() => expect(observer.synced).toBe(true))
    a.map.set('k', 'v')
    const own = Y.getState(a.doc.store, a.doc.clientID)
    // The broadcast to another client proves the server applied it (a kvsync client gets no
    // echo of its own); the ack must still wait for storage.
    await vi.waitFor(() => expect(observer.map.get('k')).toBe('v'))
    expect(a.allAcked).toBe(false)
    gated.open()
    await vi.waitFor(() => expect(a.allAcked).toBe(true))
    expect(a.acks.at(-1)?.get(a.doc.clientID)).toBe(own)
    expect((await gated.inner.loadUpdates('acked')).length).toBeGreaterThan(0)
  })

  it('acks the whole durable state vector on hello', async () => {
    const { url } = await server()
    const writer = client(`${url}/sv`, { hello: true })
    await vi.waitFor(() => expect(writer.synced).toBe(true))
    writer.map.set('a', 1)
    writer.map.set('b', 2)
    await vi.waitFor(() => expect(writer.allAcked).toBe(true))
    const late = client(`${url}/sv`, { hello: true })
    await vi.waitFor(() => expect(late.acks.length).toBe(1))
    expect(late.acks[0]?.get(writer.doc.clientID)).toBe(Y.getState(writer.doc.store, writer.doc.clientID))
  })

  it('acks only what was integrated, not structs waiting for a missing dependency', async () => {
    const { url } = await server()
    const a = client(`${url}/gap`, { hello: true, sendStep1: false })
    await vi.waitFor(() => expect(a.acks.length).toBe(1))
    // The second update depends on the first, which the server never gets.
    const source = new Y.Doc()
    source.getMap('kv').set('x', 1)
    const afterFirst = Y.encodeStateVector(source)
    source.getMap('kv').set('y', 2)
    const second = Y.encodeStateAsUpdate(source, afterFirst)
    a.send(updateFrame(second))
    const probe = client(`${url}/gap`, { hello: true })
    await vi.waitFor(() => expect(probe.acks.length).toBe(1))
    expect(probe.acks[0]?.get(source.clientID) ?? 0).toBe(0)
    expect(a.acks.every((ack) => (ack.get(source.clientID) ?? 0) === 0)).toBe(true)
  })

  it('acks several writers, each for its own clocks', async () => {
    const { url } = await server()
    const writers = Array.from({ length: 3 }, () => client(`${url}/many`, { hello: true }))
    await vi.waitFor(() => expect(writers.every((w) => w.synced)).toBe(true))
    for (let round = 0; round < 20; round++) for (const [index, w] of writers.entries()) w.map.set(`k${index}`, round)
    await vi.waitFor(() => expect(writers.every((w) => w.allAcked)).toBe(true))
  })
})

describe('durable acknowledgements of a group commit', () => {
  it('sends one ack for the writes that became durable together, covering all of them', async () => {
    const gated = gatedStorage()
    const { url } = await server({ storage: gated.storage })
    const writer = client(`${url}/grouped`, { hello: true })
    const reader = client(`${url}/grouped`)
    await vi.waitFor(() => expect(writer.synced && reader.synced && writer.acks.length).toBe(1))
    for (let index = 0; index < 10; index++) writer.map.set(`k${index}`, index)
    // All ten applied by the server (the reader has them) while storage holds the first batch:
    // the rest queue as one second batch.
    await vi.waitFor(() => expect(reader.map.size).toBe(10))
    expect(writer.acks).toHaveLength(1)
    gated.open()
    await vi.waitFor(() => expect(writer.allAcked).toBe(true))
    expect(writer.acks.length - 1).toBeLessThanOrEqual(2)
    expect(writer.acks.at(-1)?.get(writer.doc.clientID)).toBe(Y.getState(writer.doc.store, writer.doc.clientID))
  })
})

describe('fan-out', () => {
  it('merges updates applied in one turn into fewer broadcast frames, converging all readers', async () => {
    const { url } = await server()
    const writer = client(`${url}/fan`)
    const readers = Array.from({ length: 3 }, () => client(`${url}/fan`))
    await vi.waitFor(() => expect([writer, ...readers].every((raw) => raw.synced)).toBe(true))
    const source = new Y.Doc()
    const frames = Array.from({ length: 50 }, (_, index) => {
      const before = Y.encodeStateVector(source)
      source.getMap('kv').set(`k${index}`, index)
      return updateFrame(Y.encodeStateAsUpdate(source, before))
    })
    // Sent in one tick: the frames arrive together and are handled in one turn.
    for (const frame of frames) writer.send(frame)
    await vi.waitFor(() => expect(readers.every((raw) => raw.map.get('k49') === 49)).toBe(true))
    for (const raw of readers) {
      const updates = raw.received.filter((message) => message.syncType === 2).length
      expect(updates).toBeLessThan(50)
      expect(raw.map.size).toBe(50)
    }
  })
})
