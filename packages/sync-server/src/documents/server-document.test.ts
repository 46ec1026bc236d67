import * as Y from 'yjs'
import { describe, expect, it, vi } from 'vitest'
import { KvRegister, isKvsyncError } from '@kvsync/shared'
import { silentLogger } from '../logger.js'
import type { Logger } from '../logger.js'
import { MemoryDocStorage } from '../storage/memory.js'
import { ServerDocument } from './server-document.js'
import { WriteQueue } from './write-queue.js'
import type { DocumentPeer } from './server-document.js'
import { recordingPeer, syncPayload } from '../../test/unit-helpers.js'

/** A loaded document over memory storage, with its storage and a writer replica. */
async function loaded(name = 'doc', stored: Uint8Array[] = [], logger: Logger = silentLogger) {
  const storage = new MemoryDocStorage()
  for (const update of stored) await storage.appendUpdate(name, update)
  const queue = new WriteQueue({ storage, logger: silentLogger })
  const document = ServerDocument.load({
    name,
    storedUpdates: await storage.loadUpdates(name),
    queue,
    compactAfterUpdates: 500,
    tombstoneRetentionMs: 60_000,
    logger,
    maxPendingBytes: 1024 * 1024,
  })
  queue.noteLoaded(name, stored.length)
  const writer = new Y.Doc()
  /** Sends the writer's changes since `before` (its state vector) to the document. */
  const push = (before: Uint8Array, from: DocumentPeer): ReturnType<ServerDocument['applyUpdates']> =>
    document.applyUpdates([Y.encodeStateAsUpdate(writer, before)], from)
  return { storage, queue, document, writer, push }
}

describe('ServerDocument hibernation', () => {
  it('answers sync and state questions from the encoded state exactly as the live document did', async () => {
    const { document, writer, push } = await loaded()
    const map = writer.getMap('kv')
    for (let i = 0; i < 20; i++) map.set(`k${i}`, i)
    map.delete('k3')
    push(new Uint8Array([0]), recordingPeer())
    const partial = new Y.Doc()
    partial.getMap('kv').set('other', true)
    const before = {
      step1: document.syncStep1Message(),
      vector: document.stateVector(),
      step2Empty: document.syncStep2Message(Y.encodeStateVector(new Y.Doc())),
      step2Partial: document.syncStep2Message(Y.encodeStateVector(partial)),
    }
    expect(document.hibernate()).toBe(true)
    expect(document.hibernated).toBe(true)
    expect(document.syncStep1Message()).toEqual(before.step1)
    expect(document.stateVector()).toEqual(before.vector)
    for (const [stateVector, live] of [
      [Y.encodeStateVector(new Y.Doc()), before.step2Empty],
      [Y.encodeStateVector(partial), before.step2Partial],
    ] as const) {
      const viaEncoded = new Y.Doc()
      Y.applyUpdate(viaEncoded, syncPayload(document.syncStep2Message(stateVector)))
      const viaLive = new Y.Doc()
      Y.applyUpdate(viaLive, syncPayload(live))
      expect(viaEncoded.getMap('kv').toJSON()).toEqual(viaLive.getMap('kv').toJSON())
    }
    expect(document.hibernated).toBe(true)
  })

  it('stays hibernated for updates that change nothing, and acks their clocks', async () => {
    const { document, writer, push } = await loaded()
    writer.getMap('kv').set('a', 1)
    writer.getMap('kv').delete('a')
    push(new Uint8Array([0]), recordingPeer())
    expect(document.hibernate()).toBe(true)
    // What a stock client sends on reconnect: its whole state, deletions included.
    const { applied, error } = push(new Uint8Array([0]), recordingPeer())
    expect(error).toBeUndefined()
    expect(applied.clocks).toEqual(new Map([[writer.clientID, Y.getState(writer.store, writer.clientID)]]))
    await applied.durable
    expect(document.hibernated).toBe(true)
  })

  it('wakes for an update that changes it, stores and broadcasts it once, and hibernates again', async () => {
    const { storage, document, writer, push } = await loaded()
    const reader = recordingPeer()
    document.peers.add(reader)
    writer.getMap('kv').set('a', 1)
    push(new Uint8Array([0]), recordingPeer())
    await document.whenDurable()
    expect(document.hibernate()).toBe(true)
    const before = Y.encodeStateVector(writer)
    writer.getMap('kv').set('b', 2)
    const { applied, error } = push(before, recordingPeer())
    expect(error).toBeUndefined()
    expect(document.hibernated).toBe(false)
    await applied.durable
    const stored = new Y.Doc()
    for (const update of await storage.loadUpdates('doc')) Y.applyUpdate(stored, update)
    expect(stored.getMap('kv').toJSON()).toEqual({ a: 1, b: 2 })
    expect((await storage.loadUpdates('doc')).length).toBe(2)
    await new Promise((resolve) => setImmediate(resolve))
    expect(reader.sent.length).toBe(2)
    expect(document.hibernate()).toBe(true)
  })

  it('stops at a malformed update without waking, keeping what came before', async () => {
    const { document, writer, push } = await loaded()
    writer.getMap('kv').set('a', 1)
    push(new Uint8Array([0]), recordingPeer())
    expect(document.hibernate()).toBe(true)
    const known = Y.encodeStateAsUpdate(writer)
    const { applied, error } = document.applyUpdates([known, Uint8Array.of(9, 9, 9)], recordingPeer())
    expect(error?.code).toBe('PROTOCOL_ERROR')
    expect(applied.clocks.get(writer.clientID)).toBe(1)
    expect(document.hibernated).toBe(true)
  })

  it('does not hibernate while structs wait for missing dependencies, nor lose them', async () => {
    const { document, writer, push } = await loaded()
    writer.getMap('kv').set('first', 1)
    const first = Y.encodeStateAsUpdate(writer)
    const afterFirst = Y.encodeStateVector(writer)
    writer.getMap('kv').set('second', 2)
    push(afterFirst, recordingPeer())
    expect(document.hibernate()).toBe(false)
    document.applyUpdates([first], recordingPeer())
    expect(document.hibernate()).toBe(true)
    const reader = new Y.Doc()
    Y.applyUpdate(reader, syncPayload(document.syncStep2Message(new Uint8Array([0]))))
    expect(reader.getMap('kv').toJSON()).toEqual({ first: 1, second: 2 })
  })

  it('compacts from the encoded state, also when unloaded afterwards', async () => {
    const { storage, document, writer, push } = await loaded()
    for (const value of [1, 2, 3]) {
      const before = Y.encodeStateVector(writer)
      writer.getMap('kv').set('k', value)
      push(before, recordingPeer())
    }
    await document.whenDurable()
    expect(document.hibernate()).toBe(true)
    const compacted = document.compact()
    document.destroy()
    expect(await compacted).toBe(true)
    const rows = await storage.loadUpdates('doc')
    expect(rows.length).toBe(1)
    const reloaded = new Y.Doc()
    Y.applyUpdate(reloaded, rows[0] as Uint8Array)
    expect(reloaded.getMap('kv').get('k')).toBe(3)
  })

  it('wakes for a sweep only once one is due', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    try {
      vi.setSystemTime(1_000_000)
      const stored = new Y.Doc()
      const register = new KvRegister(stored)
      register.set('soon', 'gone', { ttl: 60_000 })
      register.set('kept', 'here')
      register.destroy()
      const { document } = await loaded('doc', [Y.encodeStateAsUpdate(stored)])
      expect(document.hibernate()).toBe(true)
      vi.setSystemTime(1_059_999)
      expect(document.sweep()).toEqual({ expired: 0, purged: 0 })
      expect(document.hibernated).toBe(true)
      vi.setSystemTime(1_060_000)
      expect(document.sweep()).toEqual({ expired: 1, purged: 0 })
      expect(document.hibernated).toBe(false)
    } finally {
      vi.useRealTimers()
    }
  })

  it('refuses to wake once destroyed', async () => {
    const { document, writer, push } = await loaded()
    writer.getMap('kv').set('a', 1)
    push(new Uint8Array([0]), recordingPeer())
    expect(document.hibernate()).toBe(true)
    document.destroy()
    writer.getMap('kv').set('b', 2)
    let thrown: unknown
    try {
      push(new Uint8Array([0]), recordingPeer())
    } catch (error) {
      thrown = error
    }
    expect(isKvsyncError(thrown, 'STORE_CLOSED')).toBe(true)
    expect(document.hibernate()).toBe(false)
  })

  it('reports a malformed entry when loading, not again on waking, and new ones after', async () => {
    const warnings: string[] = []
    const logger: Logger = { ...silentLogger, warn: (message) => void warnings.push(message) }
    const stored = new Y.Doc()
    stored.getArray('kv').push(['not an entry'])
    const { document, writer, push } = await loaded('doc', [Y.encodeStateAsUpdate(stored)], logger)
    expect(warnings).toEqual(['ignored a malformed entry'])
    expect(document.hibernate()).toBe(true)
    writer.getMap('other').set('wake', true)
    push(new Uint8Array([0]), recordingPeer())
    expect(document.hibernated).toBe(false)
    expect(warnings).toEqual(['ignored a malformed entry'])
    const before = Y.encodeStateVector(writer)
    writer.getArray('kv').push(['another bad one'])
    push(before, recordingPeer())
    expect(warnings).toEqual(['ignored a malformed entry', 'ignored a malformed entry'])
  })
})

/** The Yjs update each update message in `messages` carries. */
function updatesIn(messages: Uint8Array[]): Uint8Array[] {
  return messages.map((message) => syncPayload(message))
}

/** Everything `messages` carry, applied to `base` (or a new document). */
function applied(messages: Uint8Array[], base?: Uint8Array): Y.Doc {
  const doc = new Y.Doc()
  if (base !== undefined) Y.applyUpdate(doc, base)
  for (const update of updatesIn(messages)) Y.applyUpdate(doc, update)
  return doc
}

const endOfTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

describe('ServerDocument fan-out', () => {
  it('sends a kvsync sender nothing of a turn holding only its updates, and everyone else everything', async () => {
    const { document, writer, push } = await loaded()
    const kvsync = recordingPeer(false)
    const stock = recordingPeer(true)
    const reader = recordingPeer(true)
    for (const attached of [kvsync, stock, reader]) document.peers.add(attached)
    writer.getMap('kv').set('a', 1)
    const first = Y.encodeStateAsUpdate(writer)
    push(new Uint8Array([0]), kvsync)
    await endOfTurn()
    expect(kvsync.sent).toEqual([])
    expect(stock.sent.length).toBe(1)
    expect(reader.sent.length).toBe(1)
    expect(applied(reader.sent).getMap('kv').get('a')).toBe(1)
    // A stock sender still gets its own update back, and the kvsync client gets it too.
    const before = Y.encodeStateVector(writer)
    writer.getMap('kv').set('b', 2)
    push(before, stock)
    await endOfTurn()
    expect(stock.sent.length).toBe(2)
    expect(kvsync.sent.length).toBe(1)
    expect(applied(kvsync.sent, first).getMap('kv').get('b')).toBe(2)
  })

  it('sends a turn mixing several senders to every peer, each sender included', async () => {
    const { document } = await loaded()
    const [a, b, reader] = [recordingPeer(false), recordingPeer(false), recordingPeer(true)]
    for (const attached of [a, b, reader]) document.peers.add(attached)
    const [docA, docB] = [new Y.Doc(), new Y.Doc()]
    docA.getMap('kv').set('from-a', 1)
    docB.getMap('kv').set('from-b', 2)
    // Applied in the same turn, as frames of two sockets read in one poll phase are.
    document.applyUpdates([Y.encodeStateAsUpdate(docA)], a)
    document.applyUpdates([Y.encodeStateAsUpdate(docB)], b)
    await endOfTurn()
    for (const attached of [a, b, reader]) {
      expect(attached.sent.length).toBe(1)
      expect(applied(attached.sent).getMap('kv').toJSON()).toEqual({ 'from-a': 1, 'from-b': 2 })
    }
  })

  it('sends a kvsync sender the repair the register made of its update', async () => {
    const { document } = await loaded()
    const [sender, other] = [recordingPeer(false), recordingPeer(false)]
    for (const attached of [sender, other]) document.peers.add(attached)
    // `other` wrote k later (greater HLC) than `sender`, which had not seen it yet.
    const later = new Y.Doc()
    new KvRegister(later, { now: () => 2_000_000 }).set('k', 'later')
    document.applyUpdates([Y.encodeStateAsUpdate(later)], other)
    await endOfTurn()
    const sentBefore = sender.sent.length
    const earlier = new Y.Doc()
    new KvRegister(earlier, { now: () => 1_000_000 }).set('k', 'earlier')
    const own = Y.encodeStateAsUpdate(earlier)
    document.applyUpdates([own], sender)
    await endOfTurn()
    // The turn holds the sender's update and the server's deletion of its losing entry.
    expect(sender.sent.length).toBe(sentBefore + 1)
    const seen = applied(sender.sent.slice(sentBefore), own)
    expect(seen.getArray('kv').length).toBe(0)
  })
})
