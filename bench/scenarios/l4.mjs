// L4 — IndexedDB bytes, as navigator.storage.estimate().usage of a fresh origin holding only
// the benchmark store, read after the store was closed.
//  - first write: N keys (100,000) written in one transaction / setMany.
//  - rewrites: R keys (10,000) written in transactions of 1,000 keys, then every key rewritten
//    10 times the same way (11 writes per key in all); bytes after the first round and after
//    all rounds. The issue asks for 100,000 keys here: a round of 100,000 keys takes kvsync
//    (IndexedDB format 3) about 1.4 s, but idb-keyval's setMany needs about 7.7 s for eleven
//    rounds at 10,000 keys, so over a minute at 100,000, and three repetitions of every system
//    would not fit the 20-minute run; 10,000 keys keep the shape of the measurement at a tenth
//    of the size.
// y-indexeddb's debounced merge of its update log is run before reading (as after 1 s idle).
export const id = 'L4'
export const title = 'IndexedDB bytes'
// 3 repetitions by default (each takes minutes): 5 of everything does not fit in 20 minutes here.
export const fullReps = 3

const systems = ['kvsync', 'idb-keyval', 'y-indexeddb']

export async function run(ctx) {
  const n = ctx.quick ? 2000 : 100000
  const rewriteKeys = ctx.quick ? 1000 : 10000
  const rounds = ctx.quick ? 2 : 10
  const browser = await ctx.browser()
  for (let rep = 0; rep < ctx.reps; rep++) {
    for (const system of systems) {
      await ctx.attempt(`${system} ${n} keys`, async () => {
        const page = await browser.page(await browser.origin(), system)
        try {
          await page.evaluate(([n]) => window.bench.fill('l4', n, n, 1), [n])
          const bytes = await page.evaluate(() => window.bench.estimate())
          ctx.record({ system, metric: `${n} keys written once`, unit: 'MB', better: 'lower', value: bytes / 1e6 })
        } finally {
          await page.close()
        }
      })
      await ctx.attempt(`${system} ${rewriteKeys} keys rewritten`, async () => {
        const page = await browser.page(await browser.origin(), system)
        try {
          await page.evaluate(([n]) => window.bench.fill('l4r', n, 1000, 1), [rewriteKeys])
          const first = await page.evaluate(() => window.bench.estimate())
          await page.evaluate(([n, r]) => window.bench.fill('l4r', n, 1000, r, 1), [rewriteKeys, rounds])
          const after = await page.evaluate(() => window.bench.estimate())
          ctx.record({ system, metric: `${rewriteKeys} keys after the first write`, unit: 'MB', better: 'lower', value: first / 1e6 })
          ctx.record({ system, metric: `${rewriteKeys} keys after ${rounds} more rewrites`, unit: 'MB', better: 'lower', value: after / 1e6 })
          ctx.record({ system, metric: `${rewriteKeys} keys: bytes after ${rounds} rewrites / after first write`, unit: '×', better: 'lower', value: after / first })
        } finally {
          await page.close()
        }
      })
    }
  }
}
