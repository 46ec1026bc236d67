// L2 — bulk writes of N keys, timed in the page from the first write call until committed:
//  - kvsync 'unawaited-flush': N `set()` calls without awaiting, then `await store.flush()`
//  - kvsync 'transact': N sets inside one `store.transact()`, awaited
//  - idb-keyval: `await setMany(entries)` (entries built before timing)
//  - y-indexeddb: N `map.set()` in one `doc.transact()`, then awaiting the commit
//  - raw-indexeddb: N puts in one readwrite transaction (the ceiling), awaited
// Reported in ms (lower is better).
export const id = 'L2'
export const title = 'Bulk writes'

const variants = [
  { system: 'kvsync', variant: 'unawaited-flush', label: 'N sets unawaited + flush()' },
  { system: 'kvsync', variant: 'transact', label: 'N sets in one transact()' },
  { system: 'idb-keyval', variant: 'setMany', label: 'setMany' },
  { system: 'y-indexeddb', variant: 'transact', label: 'doc.transact' },
  { system: 'raw-indexeddb', variant: 'one-transaction', label: 'one transaction' },
]

export async function run(ctx) {
  const n = ctx.quick ? 1000 : 10000
  const browser = await ctx.browser()
  for (let rep = 0; rep < ctx.reps; rep++) {
    for (const { system, variant, label } of variants) {
      await ctx.attempt(`${system} ${variant}`, async () => {
        const page = await browser.page(await browser.origin(), system)
        try {
          const { ms } = await page.evaluate(([db, n, v]) => window.bench.l2(db, n, v), [`l2-${rep}-${variant}`, n, variant])
          const metric = system === 'kvsync' ? `${n} keys: ${label}` : `${n} keys committed`
          ctx.record({ system, metric, baseMetric: `${n} keys committed`, unit: 'ms', better: 'lower', value: ms, what: label })
        } finally {
          await page.close()
        }
      })
    }
  }
}
