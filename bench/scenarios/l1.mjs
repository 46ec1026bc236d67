// L1 — awaited single writes. Times, inside the page with performance.now(), a loop of N
// `await set(key, value)` on an already opened store (opening is not timed):
//  - kvsync: `await store.set()` (resolves after its IndexedDB commit, the store's default
//    durability: 'relaxed' since issue 7, as the anchors' browser default)
//  - idb-keyval: `await set()` (one readwrite transaction each, browser-default durability)
//  - raw-indexeddb: one readwrite transaction per put, awaited until complete
//  - y-indexeddb: `map.set()` then awaiting a readonly transaction queued behind the update's
//    write (y-indexeddb exposes no promise per write)
// Reported as N / elapsed, sets/s.
export const id = 'L1'
export const title = 'Awaited durable sets'

const systems = ['kvsync', 'idb-keyval', 'raw-indexeddb', 'y-indexeddb']

export async function run(ctx) {
  const n = ctx.quick ? 200 : 2000
  const browser = await ctx.browser()
  for (let rep = 0; rep < ctx.reps; rep++) {
    for (const system of systems) {
      await ctx.attempt(system, async () => {
        const page = await browser.page(await browser.origin(), system)
        try {
          const { ms } = await page.evaluate(([db, n]) => window.bench.l1(db, n), [`l1-${rep}`, n])
          ctx.record({ system, metric: `${n} awaited sets`, unit: 'sets/s', better: 'higher', value: n / (ms / 1000) })
        } finally {
          await page.close()
        }
      })
    }
  }
}
