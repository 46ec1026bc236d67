// y-indexeddb 9.0.12 with yjs 13 in the page: a Y.Map 'kv' persisted by IndexeddbPersistence.
import { IndexeddbPersistence, storeState } from 'y-indexeddb'
import * as Y from 'yjs'
import { done, key, setupPage, value } from './common.js'

async function open(db) {
  const doc = new Y.Doc()
  const persistence = new IndexeddbPersistence(`bench-${db}`, doc)
  await persistence.whenSynced
  return { doc, persistence, map: doc.getMap('kv') }
}

/**
 * y-indexeddb exposes no promise per write: it adds each update in its own readwrite
 * transaction from the doc's update handler. A readonly transaction on the same object store
 * created afterwards completes only after those (IndexedDB orders overlapping transactions), so
 * awaiting it is awaiting the commit. Its cost is included.
 */
const committed = (persistence) => done(persistence.db.transaction(['updates'], 'readonly'))

async function close({ doc, persistence }) {
  await persistence.destroy()
  doc.destroy()
}

setupPage({
  async l1(db, n) {
    const s = await open(db)
    const t0 = performance.now()
    for (let i = 0; i < n; i++) {
      s.map.set(key(i), value(i))
      await committed(s.persistence)
    }
    const ms = performance.now() - t0
    await close(s)
    return { ms }
  },
  async l2(db, n) {
    const s = await open(db)
    const t0 = performance.now()
    s.doc.transact(() => {
      for (let i = 0; i < n; i++) s.map.set(key(i), value(i))
    })
    await committed(s.persistence)
    const ms = performance.now() - t0
    await close(s)
    return { ms }
  },
  async fill(db, n, chunk, rounds = 1, firstRound = 0) {
    const s = await open(db)
    for (let round = firstRound; round < firstRound + rounds; round++) {
      for (let start = 0; start < n; start += chunk) {
        s.doc.transact(() => {
          for (let i = start; i < Math.min(n, start + chunk); i++) s.map.set(key(i), value(i, round))
        })
        await committed(s.persistence)
      }
    }
    // y-indexeddb merges its update log 1 s after the last write (debounced); run that merge
    // now, as an idle page would, so the stored bytes are its steady state.
    await storeState(s.persistence, true)
    await close(s)
  },
  // L3: new IndexeddbPersistence → whenSynced (whole doc loaded) → map.get.
  async open(db, n) {
    const probe = key(n >> 1)
    const t0 = performance.now()
    const s = await open(db)
    const got = s.map.get(probe)
    const t1 = performance.now()
    if (got === undefined || s.map.size !== n) throw new Error(`y-indexeddb opened ${s.map.size} keys, expected ${n}`)
    return { firstGetMs: t1 - t0, allReadableMs: t1, count: s.map.size }
  },
})
