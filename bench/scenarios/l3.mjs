// L3 — cold open of a store holding N keys (10,000 and 100,000), in a new page (new tab, same
// origin, nothing in memory). The store is filled first in one transaction (not timed). Times:
//  - first get: from the script's open call (openStore / createStore / new IndexeddbPersistence
//    / indexedDB.open) to the first value read of one key (ms)
//  - all keys readable: from navigation start (performance.now() origin: includes loading and
//    evaluating the page's script bundle) to the moment every key can be read (ms):
//    kvsync once openStore resolves, idb-keyval after entries(), y-indexeddb after whenSynced,
//    raw IndexedDB after getAll() + getAllKeys().
export const id = 'L3'
export const title = 'Cold open'

const systems = ['kvsync', 'idb-keyval', 'y-indexeddb', 'raw-indexeddb']

export async function run(ctx) {
  const sizes = ctx.quick ? [1000] : [10000, 100000]
  const browser = await ctx.browser()
  const origins = {}
  for (const system of systems) {
    origins[system] = await browser.origin()
    const page = await browser.page(origins[system], system)
    try {
      for (const n of sizes) await ctx.attempt(`${system} fill ${n}`, () => page.evaluate(([db, n]) => window.bench.fill(db, n, n, 1), [`l3-${n}`, n]))
    } finally {
      await page.close()
    }
  }
  for (let rep = 0; rep < ctx.reps; rep++) {
    for (const n of sizes) {
      for (const system of systems) {
        await ctx.attempt(`${system} open ${n}`, async () => {
          const page = await browser.page(origins[system], system, `?open=l3-${n}&n=${n}`)
          try {
            const result = await page.evaluate(() => window.benchResult)
            if (result.error) throw new Error(result.error)
            ctx.record({ system, metric: `${n} keys: open → first get`, unit: 'ms', better: 'lower', value: result.firstGetMs })
            ctx.record({ system, metric: `${n} keys: navigation → all keys readable`, unit: 'ms', better: 'lower', value: result.allReadableMs })
          } finally {
            await page.close()
          }
        })
      }
    }
  }
}
