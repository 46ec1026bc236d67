import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { KvRegister } from './register.js'

interface Writer {
  readonly doc: Y.Doc
  readonly kv: KvRegister
  /** Its own updates not yet delivered to the others. */
  readonly outbox: Uint8Array[]
}

const REMOTE = Symbol('remote')

function writer(clientId: number, now: () => number): Writer {
  const doc = new Y.Doc()
  doc.clientID = clientId
  const outbox: Uint8Array[] = []
  doc.on('update', (update: Uint8Array, origin: unknown) => {
    if (origin !== REMOTE) outbox.push(update)
  })
  return { doc, kv: new KvRegister(doc, { now }), outbox }
}

/**
 * `count` writers on one store, each rewriting its own `keysEach` keys once per round; a
 * round's updates reach the other writers (and `receiver`) `lag` rounds later, so every write
 * is made while the others' last writes are still in flight.
 */
function concurrentRewrites(count: number, rounds: number, keysEach: number, lag: number) {
  let time = 1_000_000
  const writers = Array.from({ length: count }, (_, i) => writer(1000 + i, () => time))
  const receiver = new Y.Doc()
  const received = new KvRegister(receiver)
  const inFlight: Uint8Array[][] = []
  for (let round = 0; round < rounds + lag + 1; round++) {
    if (round < rounds) {
      for (const [index, { kv }] of writers.entries()) kv.set(`w${index}-k${round % keysEach}`, { round, by: index })
    }
    time += 10
    inFlight.push(writers.flatMap(({ outbox }) => outbox.splice(0)))
    if (inFlight.length <= lag) continue
    for (const update of inFlight.shift()!) {
      for (const { doc } of writers) Y.applyUpdate(doc, update, REMOTE)
      Y.applyUpdate(receiver, update, REMOTE)
    }
  }
  return { writers, receiver, received }
}

/** Runs of consecutive items by the same client, in list order. */
function clientRuns(doc: Y.Doc): number {
  let runs = 0
  let previous = -1
  for (let item = (doc.getArray('kv') as unknown as { _start: Y.Item | null })._start; item !== null; item = item.right) {
    if (item.id.client !== previous) runs++
    previous = item.id.client
  }
  return runs
}

describe('appendToArray', () => {
  it("keeps each writer's items together when writers on one store write at the same time", () => {
    const count = 20
    const { writers, receiver, received } = concurrentRewrites(count, 100, 5, 3)
    // One run per writer plus a few where first writes met; appended at the end, the writers'
    // items interleave (1,940 runs here).
    expect(clientRuns(receiver)).toBeLessThanOrEqual(2 * count)
    // Converged, with every key's last value.
    expect(received.size).toBe(count * 5)
    for (const { kv } of writers) expect(kv.entries()).toEqual(received.entries())
    expect(received.get('w7-k4')).toEqual({ round: 99, by: 7 })
  })

  it('leaves a document of concurrent rewrites close to the size of its live entries', () => {
    const { received, receiver } = concurrentRewrites(20, 100, 5, 3)
    // The same live entries written once, by one replica.
    const fresh = new Y.Doc()
    const once = new KvRegister(fresh)
    once.transact(() => {
      for (const [key, value] of received.entries()) once.set(key, value)
    })
    const bytes = Y.encodeStateAsUpdate(receiver).length
    const live = Y.encodeStateAsUpdate(fresh).length
    // Each writer's deleted entries merge into one range; interleaved (appended at the end),
    // every deleted entry stays its own range: about 3× the live size here.
    expect(bytes).toBeLessThanOrEqual(1.5 * live)
  })

  it('keeps index reads of the array right when an item lands before others', () => {
    let time = 1_000
    const a = writer(1, () => time++)
    const b = writer(2, () => time++)
    a.kv.set('a0', 0)
    Y.applyUpdate(b.doc, a.outbox.splice(0)[0]!, REMOTE)
    b.kv.set('b0', 0)
    Y.applyUpdate(a.doc, b.outbox.splice(0)[0]!, REMOTE)
    const array = a.doc.getArray<Uint8Array>('kv')
    // Index reads make Yjs keep search markers; a's next item goes after a0, before b0.
    expect(array.get(1)).toBeDefined()
    a.kv.set('a1', 1)
    const all = array.toArray()
    expect(all).toHaveLength(3)
    for (let index = 0; index < all.length; index++) expect(array.get(index)).toBe(all[index])
  })
})
