import * as Y from 'yjs'
import { describe, expect, it } from 'vitest'
import { KvRegister } from '@kvsync/shared'
import { seededRandom } from '@kvsync/shared/testing'
import { addsNothing } from '../protocol/write-check.js'
import { diffEncodedState, encodeState, knownStateOfDoc, knownStateOfEncoded, nextSweepAt } from './encoded-state.js'

/** Three replicas editing one map and one array with deletions, synced at random points. */
function randomHistory(seed: number): { server: Y.Doc; laggards: Y.Doc[] } {
  const random = seededRandom(seed)
  const server = new Y.Doc()
  const replicas = [new Y.Doc(), new Y.Doc(), new Y.Doc()]
  const laggards: Y.Doc[] = []
  for (let step = 0; step < 60; step++) {
    const replica = replicas[Math.floor(random() * replicas.length)] as Y.Doc
    const map = replica.getMap('kv')
    const list = replica.getArray<number>('list')
    replica.transact(() => {
      map.set(`k${Math.floor(random() * 10)}`, step)
      if (random() < 0.3) map.delete(`k${Math.floor(random() * 10)}`)
      list.insert(Math.floor(random() * (list.length + 1)), [step])
      if (random() < 0.3 && list.length > 0) list.delete(Math.floor(random() * list.length))
    })
    Y.applyUpdate(server, Y.encodeStateAsUpdate(replica))
    if (random() < 0.15) {
      const laggard = new Y.Doc()
      Y.applyUpdate(laggard, Y.encodeStateAsUpdate(server))
      laggards.push(laggard)
    }
    if (random() < 0.3) Y.applyUpdate(replica, Y.encodeStateAsUpdate(server))
  }
  laggards.push(new Y.Doc(), ...replicas)
  return { server, laggards }
}

describe('encoded document state', () => {
  it('gives every replica what the live document would, whatever it already has', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const { server, laggards } = randomHistory(seed)
      const state = encodeState(server)
      for (const laggard of laggards) {
        const stateVector = Y.encodeStateVector(laggard)
        const fromEncoded = new Y.Doc()
        Y.applyUpdate(fromEncoded, Y.encodeStateAsUpdate(laggard))
        Y.applyUpdate(fromEncoded, diffEncodedState(state, stateVector))
        const fromLive = new Y.Doc()
        Y.applyUpdate(fromLive, Y.encodeStateAsUpdate(laggard))
        Y.applyUpdate(fromLive, Y.encodeStateAsUpdate(server, stateVector))
        expect(fromEncoded.getMap('kv').toJSON(), `seed ${seed}`).toEqual(fromLive.getMap('kv').toJSON())
        expect(fromEncoded.getArray('list').toJSON(), `seed ${seed}`).toEqual(fromLive.getArray('list').toJSON())
        expect(Y.encodeStateVector(fromEncoded), `seed ${seed}`).toEqual(Y.encodeStateVector(server))
        expect(Y.equalDeleteSets(Y.createDeleteSetFromStructStore(fromEncoded.store), Y.createDeleteSetFromStructStore(server.store)), `seed ${seed}`).toBe(true)
      }
    }
  })

  it('answers a replica that has every struct with the delete set alone', () => {
    const { server } = randomHistory(7)
    const state = encodeState(server)
    const reply = diffEncodedState(state, Y.encodeStateVector(server))
    expect(reply).toBe(state.deletions)
    expect(Y.decodeUpdate(reply).structs).toEqual([])
    expect(Y.equalDeleteSets(Y.decodeUpdate(reply).ds, Y.createDeleteSetFromStructStore(server.store))).toBe(true)
  })

  it('judges updates as adding nothing exactly as the live document does', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const { server, laggards } = randomHistory(seed)
      const live = knownStateOfDoc(server)
      const encoded = knownStateOfEncoded(encodeState(server))
      const candidates = [Y.encodeStateAsUpdate(server), ...laggards.map((doc) => Y.encodeStateAsUpdate(doc))]
      const extra = new Y.Doc()
      extra.getMap('kv').set('new', 1)
      candidates.push(Y.encodeStateAsUpdate(extra))
      for (const update of candidates) expect(addsNothing(encoded, update), `seed ${seed}`).toBe(addsNothing(live, update))
      expect(addsNothing(encoded, Y.encodeStateAsUpdate(extra))).toBe(false)
      expect(addsNothing(encoded, Y.encodeStateAsUpdate(server))).toBe(true)
    }
  })

  it('finds the next expiry or tombstone purge a sweep would act on', () => {
    let now = 1_000_000
    const register = new KvRegister(new Y.Doc(), { now: () => now })
    expect(nextSweepAt(register, 60_000)).toBe(Infinity)
    register.set('plain', 1)
    register.set('short', 2, { ttl: 5_000 })
    expect(nextSweepAt(register, 60_000)).toBe(1_005_000)
    now += 1
    register.delete('short')
    // The tombstone's wall time is 1,000,001; it is purged once strictly older than the retention.
    expect(nextSweepAt(register, 60_000)).toBe(1_000_001 + 60_000 + 1)
    now = 1_000_001 + 60_000
    expect(register.purgeTombstones(60_000)).toBe(0)
    now += 1
    expect(register.purgeTombstones(60_000)).toBe(1)
    register.destroy()
  })
})
