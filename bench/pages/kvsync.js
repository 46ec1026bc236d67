// kvsync in the page: @kvsync/browser from its TypeScript sources, IndexedDB persistence.
import { openStore } from '@kvsync/browser'
import { key, setupPage, value } from './common.js'

const open = (db) => openStore(`bench/${db}`, { persistence: 'indexeddb' })

setupPage({
  // L1: n awaited sets; each promise resolves after its IndexedDB commit (the store's default
  // durability, 'relaxed' since issue 7; 'strict' is an option).
  async l1(db, n) {
    const store = await open(db)
    const t0 = performance.now()
    for (let i = 0; i < n; i++) await store.set(key(i), value(i))
    const ms = performance.now() - t0
    await store.close()
    return { ms }
  },
  // L2: n writes in one task then flush(), or n writes in one transact(); until committed.
  async l2(db, n, variant) {
    const store = await open(db)
    const ignore = () => {}
    const t0 = performance.now()
    if (variant === 'unawaited-flush') {
      for (let i = 0; i < n; i++) store.set(key(i), value(i)).catch(ignore)
      await store.flush()
    } else {
      await store.transact(() => {
        for (let i = 0; i < n; i++) store.set(key(i), value(i)).catch(ignore)
      })
    }
    const ms = performance.now() - t0
    await store.close()
    return { ms }
  },
  // Fill for L3/L4 (not timed): keys 0..n-1 in transactions of `chunk` writes, round `round`.
  async fill(db, n, chunk, rounds = 1, firstRound = 0) {
    const store = await open(db)
    const ignore = () => {}
    for (let round = firstRound; round < firstRound + rounds; round++) {
      for (let start = 0; start < n; start += chunk) {
        await store.transact(() => {
          for (let i = start; i < Math.min(n, start + chunk); i++) store.set(key(i), value(i, round)).catch(ignore)
        })
      }
    }
    await store.close()
  },
  // L3: openStore() → first get; all keys are readable once openStore resolves.
  async open(db, n) {
    const probe = key(n >> 1)
    const t0 = performance.now()
    const store = await open(db)
    const got = store.get(probe)
    const t1 = performance.now()
    if (got === undefined || store.size !== n) throw new Error(`kvsync opened ${store.size} keys, expected ${n}`)
    return { firstGetMs: t1 - t0, allReadableMs: t1, count: store.size }
  },
})
