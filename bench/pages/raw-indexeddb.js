// Raw IndexedDB: one object store 'kv', values stored as structured clones (the ceiling).
import { done, key, request, setupPage, value } from './common.js'

function open(db) {
  const req = indexedDB.open(`bench-${db}`, 1)
  req.onupgradeneeded = () => req.result.createObjectStore('kv')
  return request(req)
}

setupPage({
  // L1: one readwrite transaction per put, each awaited until complete.
  async l1(db, n) {
    const idb = await open(db)
    const t0 = performance.now()
    for (let i = 0; i < n; i++) {
      const tx = idb.transaction('kv', 'readwrite')
      tx.objectStore('kv').put(value(i), key(i))
      await done(tx)
    }
    const ms = performance.now() - t0
    idb.close()
    return { ms }
  },
  // L2: all n puts in one readwrite transaction.
  async l2(db, n) {
    const idb = await open(db)
    const t0 = performance.now()
    const tx = idb.transaction('kv', 'readwrite')
    const kv = tx.objectStore('kv')
    for (let i = 0; i < n; i++) kv.put(value(i), key(i))
    await done(tx)
    const ms = performance.now() - t0
    idb.close()
    return { ms }
  },
  async fill(db, n, chunk, rounds = 1, firstRound = 0) {
    const idb = await open(db)
    for (let round = firstRound; round < firstRound + rounds; round++) {
      for (let start = 0; start < n; start += chunk) {
        const tx = idb.transaction('kv', 'readwrite')
        for (let i = start; i < Math.min(n, start + chunk); i++) tx.objectStore('kv').put(value(i, round), key(i))
        await done(tx)
      }
    }
    idb.close()
  },
  // L3: open → get(one key); then getAll() + getAllKeys() in one transaction.
  async open(db, n) {
    const probe = key(n >> 1)
    const t0 = performance.now()
    const idb = await open(db)
    const got = await request(idb.transaction('kv').objectStore('kv').get(probe))
    const t1 = performance.now()
    const tx = idb.transaction('kv')
    const [values, keys] = await Promise.all([request(tx.objectStore('kv').getAll()), request(tx.objectStore('kv').getAllKeys())])
    const t2 = performance.now()
    if (got === undefined || values.length !== n || keys.length !== n) throw new Error(`raw IndexedDB read ${values.length} keys, expected ${n}`)
    return { firstGetMs: t1 - t0, allReadableMs: t2, count: values.length }
  },
})
