import * as Y from 'yjs'
import { describe, expect, it } from 'vitest'
import { KvOrigins, KvRegister } from '@kvsync/shared'
import type { DocStorage, DocStorageEntry } from '@kvsync/shared'
import { seededRandom } from '@kvsync/shared/testing'
import { silentLogger } from '../logger.js'
import { MemoryDocStorage } from '../storage/memory.js'
import { ServerDocument } from './server-document.js'
import { UpdateTap, integratedExactly } from './update-tap.js'
import { WriteQueue } from './write-queue.js'
import { recordingPeer, syncPayload } from '../../test/unit-helpers.js'

/** Changes of `doc` made by `change`, as one update. */
function updateOf(doc: Y.Doc, change: () => void): Uint8Array {
  const before = Y.encodeStateVector(doc)
  change()
  return Y.encodeStateAsUpdate(doc, before)
}

/** Applies `update` to `doc` in a transaction and reports whether it integrated exactly. */
function applyChecked(doc: Y.Doc, update: Uint8Array): boolean {
  const pendingBefore = doc.store.pendingStructs !== null || doc.store.pendingDs !== null
  let exact = false
  Y.transact(doc, (transaction) => {
    Y.applyUpdate(doc, update)
    exact = integratedExactly(transaction, Y.parseUpdateMeta(update), pendingBefore)
  })
  return exact
}

describe('UpdateTap', () => {
  it('hands over the forwarded bytes once, in place of Yjs’ encoding, and hears the rest from Yjs', () => {
    const writer = new Y.Doc()
    const first = updateOf(writer, () => writer.getMap('kv').set('a', 1))
    const doc = new Y.Doc()
    const heard: Array<{ update: Uint8Array; origin: unknown }> = []
    const tap = new UpdateTap(doc, (update, origin) => void heard.push({ update, origin }))
    Y.transact(
      doc,
      (transaction) => {
        Y.applyUpdate(doc, first)
        tap.forward(transaction, first)
      },
      'peer',
    )
    tap.restore()
    expect(heard).toEqual([{ update: first, origin: 'peer' }])
    expect(heard[0]?.update).toBe(first)
    doc.getMap('kv').set('b', 2)
    expect(heard.length).toBe(2)
    const replica = new Y.Doc()
    for (const { update } of heard) Y.applyUpdate(replica, update)
    expect(replica.getMap('kv').toJSON()).toEqual({ a: 1, b: 2 })
    tap.release()
    doc.getMap('kv').set('c', 3)
    expect(heard.length).toBe(2)
  })

  it('keeps the order with the register’s repair that follows the forwarded transaction', () => {
    const doc = new Y.Doc()
    new KvRegister(doc)
    const heard: unknown[] = []
    const tap = new UpdateTap(doc, (_update, origin) => void heard.push(origin))
    const later = new Y.Doc()
    new KvRegister(later, { now: () => 2_000_000 }).set('k', 'later')
    Y.applyUpdate(doc, Y.encodeStateAsUpdate(later), 'other')
    const earlier = new Y.Doc()
    new KvRegister(earlier, { now: () => 1_000_000 }).set('k', 'earlier')
    const losing = Y.encodeStateAsUpdate(earlier)
    Y.transact(
      doc,
      (transaction) => {
        Y.applyUpdate(doc, losing)
        tap.forward(transaction, losing)
      },
      'peer',
    )
    tap.restore()
    // The losing entry's update first, then the register's deletion of it, each once.
    expect(heard).toEqual(['other', 'peer', KvOrigins.repair])
  })
})

describe('integratedExactly', () => {
  it('holds for an update of new structs only, and not for known, overlapping or pending ones', () => {
    const writer = new Y.Doc()
    const map = writer.getMap('kv')
    const first = updateOf(writer, () => map.set('a', 1))
    const second = updateOf(writer, () => map.set('b', 2))
    const third = updateOf(writer, () => map.delete('a'))
    const doc = new Y.Doc()
    expect(applyChecked(doc, first)).toBe(true)
    // Known already (a resend).
    expect(applyChecked(doc, first)).toBe(false)
    // Overlapping: first and second merged, first known.
    expect(applyChecked(doc, Y.mergeUpdates([first, second]))).toBe(false)
    expect(applyChecked(doc, third)).toBe(true)
    // Depends on structs the document lacks: left pending.
    const gapWriter = new Y.Doc()
    const gapFirst = updateOf(gapWriter, () => gapWriter.getMap('kv').set('x', 1))
    const gapSecond = updateOf(gapWriter, () => gapWriter.getMap('kv').set('y', 2))
    expect(applyChecked(doc, gapSecond)).toBe(false)
    // Fills the gap, so the pending structs integrate too: more than this update's own.
    expect(applyChecked(doc, gapFirst)).toBe(false)
    // Deletes only what is deleted already: nothing changes, nothing to hand over.
    expect(applyChecked(doc, third)).toBe(false)
  })
})

/** Memory storage that also keeps the very objects it was given to append. */
function capturingStorage(): { storage: DocStorage; appended: Uint8Array[]; inner: MemoryDocStorage } {
  const inner = new MemoryDocStorage()
  const appended: Uint8Array[] = []
  const storage: DocStorage = {
    loadUpdates: (doc) => inner.loadUpdates(doc),
    appendUpdate: (doc, update) => {
      appended.push(update)
      return inner.appendUpdate(doc, update)
    },
    appendUpdates: (batch: ReadonlyArray<DocStorageEntry>) => {
      for (const entry of batch) appended.push(entry.update)
      return inner.appendUpdates(batch)
    },
    compact: (doc, merged, count) => inner.compact(doc, merged, count),
    listDocs: () => inner.listDocs(),
    deleteDoc: (doc) => inner.deleteDoc(doc),
  }
  return { storage, appended, inner }
}


describe('ServerDocument with forwarded updates', () => {
  it('stores a live update that integrates exactly as it came, and a sync step 2 as Yjs encodes it', async () => {
    const { storage, appended } = capturingStorage()
    const queue = new WriteQueue({ storage, logger: silentLogger })
    const document = ServerDocument.load({ name: 'doc', storedUpdates: [], queue, compactAfterUpdates: 500, tombstoneRetentionMs: 60_000, logger: silentLogger, maxPendingBytes: 1 << 20 })
    const writer = new Y.Doc()
    const live = updateOf(writer, () => writer.getMap('kv').set('a', 1))
    document.applyUpdates([live], recordingPeer(), true)
    await document.whenDurable()
    expect(appended.at(-1)).toBe(live)
    const step2 = updateOf(writer, () => writer.getMap('kv').set('b', 2))
    document.applyUpdates([step2], recordingPeer(), false)
    await document.whenDurable()
    expect(appended.length).toBe(2)
    expect(appended.at(-1)).not.toBe(step2)
  })

  it('stores and broadcasts what rebuilds its state, whatever the order, repeats and overlaps of updates', async () => {
    for (let run = 0; run < 40; run++) {
      const seed = 0x5eed + run
      const random = seededRandom(seed)
      const { storage, inner } = capturingStorage()
      const queue = new WriteQueue({ storage, logger: silentLogger })
      const document = ServerDocument.load({ name: 'doc', storedUpdates: [], queue, compactAfterUpdates: 10_000, tombstoneRetentionMs: 60_000, logger: silentLogger, maxPendingBytes: 1 << 20 })
      const reader = recordingPeer()
      document.peers.add(reader)
      const writers = Array.from({ length: 3 }, (_, index) => {
        const doc = new Y.Doc()
        return { doc, register: new KvRegister(doc, { now: () => 1_000_000 + Math.floor(random() * 1000) }), updates: [] as Uint8Array[], index }
      })
      const remote = Symbol('remote')
      for (const writer of writers) {
        writer.doc.on('update', (update: Uint8Array, origin: unknown) => {
          if (origin !== remote) writer.updates.push(update)
        })
      }
      // Writers write shared keys (so the server repairs losers) and now and then sync with
      // each other (so their entries follow and delete each other's: updates that depend on
      // other clients' structs); their updates reach the server late, repeated, merged with
      // their neighbours or out of order.
      const inFlight: Uint8Array[] = []
      for (let step = 0; step < 60; step++) {
        const writer = writers[Math.floor(random() * writers.length)] as (typeof writers)[number]
        if (random() < 0.25) {
          const other = writers[Math.floor(random() * writers.length)] as (typeof writers)[number]
          Y.applyUpdate(writer.doc, Y.encodeStateAsUpdate(other.doc, Y.encodeStateVector(writer.doc)), remote)
        }
        if (random() < 0.7) writer.register.set(`k${Math.floor(random() * 4)}`, step)
        else if (writer.updates.length > 0) writer.register.delete(`k${Math.floor(random() * 4)}`)
        const fresh = writer.updates.splice(0)
        if (fresh.length > 1 && random() < 0.3) inFlight.push(Y.mergeUpdates(fresh))
        else inFlight.push(...fresh)
        if (random() < 0.2 && inFlight.length > 0) inFlight.push(inFlight[Math.floor(random() * inFlight.length)] as Uint8Array)
        while (inFlight.length > 0 && random() < 0.6) {
          const at = random() < 0.3 ? Math.floor(random() * inFlight.length) : 0
          const [update] = inFlight.splice(at, 1)
          document.applyUpdates([update as Uint8Array], recordingPeer(), true)
          if (random() < 0.3) await new Promise((resolve) => setImmediate(resolve))
        }
      }
      for (const writer of writers) inFlight.push(...writer.updates.splice(0), Y.encodeStateAsUpdate(writer.doc))
      for (const update of inFlight) document.applyUpdates([update], recordingPeer(), true)
      await new Promise((resolve) => setImmediate(resolve))
      await document.whenDurable()
      const expected = Y.encodeStateVectorFromUpdate(Y.mergeUpdates(writers.map((writer) => Y.encodeStateAsUpdate(writer.doc))))
      const fromStorage = new Y.Doc()
      for (const update of await inner.loadUpdates('doc')) Y.applyUpdate(fromStorage, update)
      const fromBroadcasts = new Y.Doc()
      for (const message of reader.sent) Y.applyUpdate(fromBroadcasts, syncPayload(message))
      const served = new Y.Doc()
      Y.applyUpdate(served, syncPayload(document.syncStep2Message(new Uint8Array([0]))))
      const state = (doc: Y.Doc): unknown => ({ vector: Y.encodeStateVector(doc), entries: new KvRegister(doc).entries() })
      try {
        expect(Y.encodeStateVector(served)).toEqual(expected)
        expect(state(fromStorage)).toEqual(state(served))
        expect(state(fromBroadcasts)).toEqual(state(served))
      } catch (error) {
        throw new Error(`seed ${seed}: ${String(error)}`, { cause: error })
      }
      document.destroy()
    }
  })
})
