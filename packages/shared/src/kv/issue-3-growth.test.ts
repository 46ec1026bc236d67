/**
 * Issue 3, bounded growth: rewriting the same 1,000 keys 100 times must leave the encoded
 * document at most twice its size after the first write. The measured byte figures are printed
 * for the closing note.
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { KvRegister } from './register.js'
import { seededRandom } from '../testing/random.js'

const KEYS = 1_000
const ROUNDS = 100
/** Rounds of the 3-replica test (each round is 3,000 writes). */
const CONCURRENT_ROUNDS = 30

function replica(clientId: number, now: () => number) {
  const doc = new Y.Doc()
  doc.clientID = clientId
  return { doc, kv: new KvRegister(doc, { now }) }
}

function size(doc: Y.Doc): number {
  return Y.encodeStateAsUpdate(doc).length
}

/** Deterministic shuffle (seeded Fisher–Yates). */
function shuffled<T>(items: T[], seed: number): T[] {
  const random = seededRandom(seed)
  const result = items.slice()
  for (let i = result.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[result[i], result[j]] = [result[j]!, result[i]!]
  }
  return result
}

function rebuiltFrom(doc: Y.Doc): KvRegister {
  const fresh = new Y.Doc()
  Y.applyUpdate(fresh, Y.encodeStateAsUpdate(doc))
  return new KvRegister(fresh)
}

/**
 * After ROUNDS rewrites of the KEYS keys of `doc`: reports the growth, checks it stays within 2×
 * the first write, and that a replica rebuilt from the bytes holds every key with the last
 * round's value (`sampleKey` checked).
 */
function expectBoundedRewrites(label: string, doc: Y.Doc, afterFirst: number, sampleKey: number): void {
  const afterRewrites = size(doc)
  console.log(`growth (${label}): after first write ${afterFirst} B, after ${ROUNDS} rewrites ${afterRewrites} B (${(afterRewrites / afterFirst).toFixed(3)}x)`)
  expect(afterRewrites).toBeLessThanOrEqual(2 * afterFirst)
  const rebuilt = rebuiltFrom(doc)
  expect(rebuilt.size).toBe(KEYS)
  expect(rebuilt.get(`key-${sampleKey}`)).toEqual({ n: sampleKey, round: ROUNDS })
}

describe('issue 3: bounded growth under rewrites', () => {
  it('stays within 2x the first write when 1,000 keys are rewritten 100 times in batches', { timeout: 120_000 }, () => {
    let time = 1_000_000
    const { doc, kv } = replica(101, () => time++)
    kv.transact(() => {
      for (let i = 0; i < KEYS; i++) kv.set(`key-${i}`, { n: i, round: 0 })
    })
    const afterFirst = size(doc)
    for (let round = 1; round <= ROUNDS; round++) {
      kv.transact(() => {
        for (let i = 0; i < KEYS; i++) kv.set(`key-${i}`, { n: i, round })
      })
    }
    expectBoundedRewrites('one transact per round', doc, afterFirst, 7)
  })

  it('stays within 2x the first write when 1,000 keys are rewritten 100 times as single sets in random order', { timeout: 120_000 }, () => {
    let time = 1_000_000
    const { doc, kv } = replica(202, () => time++)
    const keys = Array.from({ length: KEYS }, (_, i) => i)
    for (const i of shuffled(keys, 1)) kv.set(`key-${i}`, { n: i, round: 0 })
    const afterFirst = size(doc)
    for (let round = 1; round <= ROUNDS; round++) {
      for (const i of shuffled(keys, round + 1)) kv.set(`key-${i}`, { n: i, round })
    }
    expectBoundedRewrites('single sets, random order', doc, afterFirst, 999)
  })

  it('stays within 2x the first synced write when 3 replicas rewrite the same 1,000 keys concurrently and sync', { timeout: 120_000 }, () => {
    let time = 1_000_000
    // Skewed clocks so that every replica wins some keys.
    const replicas = [replica(301, () => time), replica(302, () => time + 7), replica(303, () => time - 5)]
    const syncAll = () => {
      for (let pass = 0; pass < 2; pass++) {
        for (const a of replicas) {
          for (const b of replicas) {
            if (a !== b) Y.applyUpdate(b.doc, Y.encodeStateAsUpdate(a.doc, Y.encodeStateVector(b.doc)))
          }
        }
      }
    }
    const writeRound = (round: number) => {
      for (const [r, { kv }] of replicas.entries()) {
        kv.transact(() => {
          for (const i of shuffled(Array.from({ length: KEYS }, (_, k) => k), round * 3 + r)) kv.set(`key-${i}`, { n: i, round, by: r })
        })
      }
      time += 10
    }
    writeRound(0)
    syncAll()
    const afterFirst = size(replicas[0]!.doc)
    const sizes: number[] = []
    for (let round = 1; round <= CONCURRENT_ROUNDS; round++) {
      writeRound(round) // concurrent: nobody has seen the others' round yet
      if (round % 5 === 0) {
        syncAll()
        sizes.push(size(replicas[0]!.doc))
      }
    }
    syncAll()
    const afterRewrites = replicas.map(({ doc }) => size(doc))
    console.log(`growth (3 replicas, concurrent rounds, synced every 5): after first synced write ${afterFirst} B, every 5 rounds ${sizes.join(', ')} B, final per replica ${afterRewrites.join(', ')} B (${(Math.max(...afterRewrites) / afterFirst).toFixed(3)}x)`)
    for (const bytes of afterRewrites) expect(bytes).toBeLessThanOrEqual(2 * afterFirst)
    // Converged, one live entry per key everywhere.
    const reference = replicas[0]!.kv.entries()
    for (const { kv, doc } of replicas) {
      expect(kv.entries()).toEqual(reference)
      expect(doc.getArray('kv').length).toBe(KEYS)
    }
  })
})
