import { launchBrowser } from './lib/browser.mjs'
import { runCleanups } from './lib/proc.mjs'
const browser = await launchBrowser({ minify: false })
const res = { plain: [], commit: [] }
try {
  const page = await browser.page(await browser.origin(), 'raw-indexeddb')
  for (let rep = 0; rep < 8; rep++) {
    const r = await page.evaluate(async (rep) => {
      const open = (name) => new Promise((res, rej) => { const q = indexedDB.open(name); q.onupgradeneeded = () => q.result.createObjectStore('s', { autoIncrement: true }); q.onsuccess = () => res(q.result); q.onerror = rej })
      const out = {}
      const order = rep % 2 ? ['plain', 'commit'] : ['commit', 'plain']
      for (const name of order) {
        const db = await open(name + rep)
        const t0 = performance.now()
        for (let i = 0; i < 2000; i++) { const t = db.transaction('s', 'readwrite'); t.objectStore('s').add(new Uint8Array(60)); if (name === 'commit') t.commit(); await new Promise(r => t.oncomplete = r) }
        out[name] = Math.round(performance.now() - t0)
        db.close()
      }
      return out
    }, rep)
    res.plain.push(r.plain); res.commit.push(r.commit)
  }
  const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1]
  console.log(JSON.stringify(res), 'median plain', med(res.plain), 'commit', med(res.commit))
} finally { await browser.close(); await runCleanups() }
