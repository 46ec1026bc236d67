// Crash safety in real Chromium (issue 4): what `await set()` resolved survives the page being
// closed or its renderer crashing (CDP Page.crash), and a crash in the middle of a compaction
// leaves a loadable store. Pages of one context share IndexedDB, which lives in the browser
// process and so outlives a renderer crash.
import type { BrowserContext, Page } from '@playwright/test'
import { expect, test } from '../fixtures.js'
import { openTab, openWith } from './browser-helpers.js'

/** Kills the page's renderer the way a real crash would, and waits until Playwright sees it. */
async function crash(context: BrowserContext, page: Page): Promise<void> {
  const cdp = await context.newCDPSession(page)
  const crashed = page.waitForEvent('crash')
  // The command never gets an answer: the renderer that would send it is gone.
  cdp.send('Page.crash').catch(() => {})
  await crashed
}

test('a value whose set() resolved survives closing the page', async ({ server, browser }) => {
  const pageErrors: string[] = []
  const context = await browser.newContext()
  const tab = await openTab(context, server.httpUrl, pageErrors, 'writer')
  await openWith(tab.page, 'durable/close', {})
  await tab.page.evaluate(async () => {
    await window.store.set('kept', { n: 1 })
  })
  await tab.page.close({ runBeforeUnload: false })

  const again = await openTab(context, server.httpUrl, pageErrors, 'reader')
  await openWith(again.page, 'durable/close', {})
  expect(await again.get('kept')).toEqual({ n: 1 })
  await context.close()
  expect(pageErrors).toEqual([])
})

test('a value whose set() resolved survives a renderer crash right after', async ({ server, browser }) => {
  const pageErrors: string[] = []
  const context = await browser.newContext()
  const tab = await openTab(context, server.httpUrl, pageErrors, 'writer')
  await openWith(tab.page, 'durable/crash', { url: server.wsUrl })
  await tab.page.evaluate(async () => {
    await window.store.set('before', 0)
    await window.store.transact(() => {
      for (let i = 0; i < 100; i++) void window.store.set(`batch/${i}`, i)
    })
    await window.store.set('last', 'resolved just before the crash')
  })
  await crash(context, tab.page)

  const again = await openTab(context, server.httpUrl, pageErrors, 'reader')
  // Offline: whatever it shows comes from IndexedDB, not from the server.
  await openWith(again.page, 'durable/crash', {})
  expect(await again.get('last')).toBe('resolved just before the crash')
  expect(await again.get('batch/99')).toBe(99)
  expect(await again.page.evaluate(() => window.store.size)).toBe(102)
  await context.close()
  expect(pageErrors).toEqual([])
})

test('crashing while compactions run always leaves a loadable store with every resolved write', async ({ server, browser }) => {
  test.setTimeout(120_000)
  const pageErrors: string[] = []
  const context = await browser.newContext()
  const resolved = new Set<string>()
  let expectedSize = 0
  for (let round = 0; round < 4; round++) {
    const tab = await openTab(context, server.httpUrl, pageErrors, `round ${round}`)
    // Reports each key whose set() resolved, and each compaction under way (the transaction
    // that clears the update log), so the crash can be aimed at one.
    const compacting = new Promise<void>((resolve) => {
      void tab.page.exposeFunction('kvsyncResolved', (key: string) => resolved.add(key))
      void tab.page.exposeFunction('kvsyncCompacting', () => resolve())
    })
    await openWith(tab.page, 'durable/compaction', { compactAfter: 3, backgroundLoadBytes: 0 })
    // The previous round's writes are all there, first scanned from the log, then from the document.
    expect(await tab.page.evaluate(() => window.store.size)).toBe(expectedSize)
    await tab.page.evaluate(() => window.store.whenLoaded())
    expect(await tab.page.evaluate(() => window.store.size)).toBe(expectedSize)

    await tab.page.evaluate((round) => {
      const report = window as unknown as { kvsyncResolved(key: string): void; kvsyncCompacting(): void }
      const clear = IDBObjectStore.prototype.clear
      IDBObjectStore.prototype.clear = function (this: IDBObjectStore) {
        if (this.name === 'updates') report.kvsyncCompacting()
        return clear.call(this)
      }
      // Big values make each snapshot (and so each compaction) take a while.
      const filler = 'x'.repeat(20_000)
      let i = 0
      const write = (): void => {
        const key = `r${round}/${i++}`
        window.store.set(key, filler).then(
          () => report.kvsyncResolved(key),
          () => {},
        )
        if (i < 10_000) setTimeout(write, 0)
      }
      write()
    }, round)
    await compacting
    await crash(context, tab.page)
    await tab.page.close()

    const check = await openTab(context, server.httpUrl, pageErrors, `check ${round}`)
    const keys = await check.page.evaluate(async () => {
      const store = await window.kvsync.openStore('durable/compaction', { backgroundLoadBytes: 0 })
      await store.whenLoaded()
      const keys = store.keys()
      await store.close()
      return keys
    })
    for (const key of resolved) expect(keys, `resolved write ${key} survives`).toContain(key)
    expectedSize = keys.length
    await check.page.close()
  }
  expect(resolved.size).toBeGreaterThan(0)
  await context.close()
  expect(pageErrors).toEqual([])
})
