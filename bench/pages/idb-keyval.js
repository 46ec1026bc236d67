// idb-keyval 6.3.0 in the page: one database per benchmark store, object store 'kv'.
import { createStore, entries, get, set, setMany } from 'idb-keyval'
import { key, setupPage, value } from './common.js'

const open = (db) => createStore(`bench-${db}`, 'kv')

setupPage({
  async l1(db, n) {
    const store = open(db)
    await get('warm-up', store) // opens the database before timing, as openStore does for kvsync
    const t0 = performance.now()
    for (let i = 0; i < n; i++) await set(key(i), value(i), store)
    return { ms: performance.now() - t0 }
  },
  async l2(db, n) {
    const store = open(db)
    await get('warm-up', store)
    const items = Array.from({ length: n }, (_, i) => [key(i), value(i)])
    const t0 = performance.now()
    await setMany(items, store)
    return { ms: performance.now() - t0 }
  },
  async fill(db, n, chunk, rounds = 1, firstRound = 0) {
    const store = open(db)
    for (let round = firstRound; round < firstRound + rounds; round++) {
      for (let start = 0; start < n; start += chunk) {
        const items = []
        for (let i = start; i < Math.min(n, start + chunk); i++) items.push([key(i), value(i, round)])
        await setMany(items, store)
      }
    }
  },
  // L3: createStore() → get(one key); then entries() → all keys readable.
  async open(db, n) {
    const probe = key(n >> 1)
    const t0 = performance.now()
    const store = open(db)
    const got = await get(probe, store)
    const t1 = performance.now()
    const all = await entries(store)
    const t2 = performance.now()
    if (got === undefined || all.length !== n) throw new Error(`idb-keyval read ${all.length} keys, expected ${n}`)
    return { firstGetMs: t1 - t0, allReadableMs: t2, count: all.length }
  },
})
