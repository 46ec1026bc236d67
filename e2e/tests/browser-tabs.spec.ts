// Multi-tab coherence (issue 4): tabs of one origin share the store's IndexedDB database, see
// each other's writes live (online and offline), and only one of them — the Web Locks leader —
// holds the WebSocket. Two pages in ONE browser context are two tabs of one origin.
import { expect, test } from '../fixtures.js'
import type { HarnessPage } from '../harness-page.js'
import { countWebSockets, openSockets, openTab, openTwoTabsWith, openWith } from './browser-helpers.js'

async function totalSockets(tabs: HarnessPage[]): Promise<number> {
  const counts = await Promise.all(tabs.filter((tab) => !tab.page.isClosed()).map((tab) => openSockets(tab.page)))
  return counts.reduce((sum, count) => sum + count, 0)
}

test('two tabs see each other’s writes live through one WebSocket', async ({ server, browser }) => {
  const pageErrors: string[] = []
  const context = await browser.newContext()
  await countWebSockets(context)
  const [one, two] = await openTwoTabsWith(context, server.httpUrl, pageErrors, 'tabs/live', { url: server.wsUrl })
  await Promise.all([one.whenSynced(), two.whenSynced()])
  expect(await totalSockets([one, two])).toBe(1)

  await one.set('from-one', 1)
  await expect.poll(() => two.get('from-one')).toBe(1)
  await two.set('from-two', { deep: [true] })
  await expect.poll(() => one.get('from-two')).toEqual({ deep: [true] })
  // The follower's write is saved on the server: the leader relays the server's durable acks.
  expect(await two.page.evaluate(async () => {
    await window.store.whenSaved()
    return window.store.unsavedWrites
  })).toBe(0)
  expect(await two.events()).toContainEqual({ kind: 'change', key: 'from-one', value: 1, origin: 'remote' })

  // Another device (its own context) gets the follower's write through the leader's socket.
  const otherContext = await browser.newContext()
  const other = await openTab(otherContext, server.httpUrl, pageErrors, 'device2')
  await openWith(other.page, 'tabs/live', { url: server.wsUrl })
  await other.whenSynced()
  await expect.poll(() => other.entries()).toEqual([['from-one', 1], ['from-two', { deep: [true] }]])
  await other.set('from-device', 'x')
  await expect.poll(() => one.get('from-device')).toBe('x')
  await expect.poll(() => two.get('from-device')).toBe('x')
  expect(await totalSockets([one, two])).toBe(1)

  await otherContext.close()
  await context.close()
  expect(pageErrors).toEqual([])
})

test('tabs stay coherent offline and both sync once back online', async ({ server, browser }) => {
  const pageErrors: string[] = []
  const context = await browser.newContext()
  const [one, two] = await openTwoTabsWith(context, server.httpUrl, pageErrors, 'tabs/offline', { url: server.wsUrl })
  await Promise.all([one.whenSynced(), two.whenSynced()])

  await context.setOffline(true)
  await expect.poll(() => one.status()).toMatch(/^(offline|connecting)$/)
  await expect.poll(() => two.status()).toMatch(/^(offline|connecting)$/)
  await one.set('a', 'offline from one')
  await two.set('b', 'offline from two')
  await expect.poll(() => two.get('a')).toBe('offline from one')
  await expect.poll(() => one.get('b')).toBe('offline from two')

  // A device that was online all along gets both once the tabs reconnect.
  const otherContext = await browser.newContext()
  const other = await openTab(otherContext, server.httpUrl, pageErrors, 'device2')
  await openWith(other.page, 'tabs/offline', { url: server.wsUrl })
  await other.set('c', 'online elsewhere')
  await context.setOffline(false)
  await expect.poll(() => one.status(), { timeout: 30_000 }).toBe('synced')
  await expect.poll(() => two.status(), { timeout: 30_000 }).toBe('synced')
  const all = [['a', 'offline from one'], ['b', 'offline from two'], ['c', 'online elsewhere']]
  for (const tab of [one, two, other]) await expect.poll(() => tab.entries()).toEqual(all)

  await otherContext.close()
  await context.close()
  expect(pageErrors).toEqual([])
})

test('local-only tabs (no server) share writes too', async ({ server, browser }) => {
  const pageErrors: string[] = []
  const context = await browser.newContext()
  const [one, two] = await openTwoTabsWith(context, server.httpUrl, pageErrors, 'tabs/local', {})
  await one.set('k', 1)
  await expect.poll(() => two.get('k')).toBe(1)
  await two.delete('k')
  await expect.poll(() => one.has('k')).toBe(false)
  await context.close()
  expect(pageErrors).toEqual([])
})

test('a tab that wrote alone and a tab opened while it keeps writing end up with every write', async ({ server, browser }) => {
  // A tab alone does not broadcast its commits; tabs start broadcasting once they meet and read
  // back what they missed. Here the channel is fast, so the window between a tab's load and its
  // hello is rarely hit; packages/browser/src/tabs/tabs.test.ts forces it with a slow channel.
  const pageErrors: string[] = []
  const context = await browser.newContext()
  const [one, two] = [await openTab(context, server.httpUrl, pageErrors, 'tab1'), await openTab(context, server.httpUrl, pageErrors, 'tab2')]
  await openWith(one.page, 'tabs/meeting', {})
  const keepWriting = (tab: HarnessPage, prefix: string, ms: number) =>
    tab.page.evaluate(
      async ({ prefix, ms }) => {
        let i = 0
        for (const end = performance.now() + ms; performance.now() < end; i++) await window.store.set(`${prefix}/${i}`, i)
        return i
      },
      { prefix, ms },
    )
  await keepWriting(one, 'alone', 200)
  const firstWrites = keepWriting(one, 'one', 600)
  await openWith(two.page, 'tabs/meeting', {})
  const secondWrites = keepWriting(two, 'two', 300)
  const [fromOne, fromTwo] = await Promise.all([firstWrites, secondWrites])
  expect(fromOne).toBeGreaterThan(0)
  expect(fromTwo).toBeGreaterThan(0)
  const expected = await one.entries()
  expect(expected.filter(([key]) => key.startsWith('two/')).length).toBe(fromTwo)
  await expect.poll(() => two.entries()).toEqual(expected)
  await context.close()
  expect(pageErrors).toEqual([])
})

test('when the leader tab closes another tab takes over the connection', async ({ server, browser }) => {
  const pageErrors: string[] = []
  const context = await browser.newContext()
  await countWebSockets(context)
  const one = await openTab(context, server.httpUrl, pageErrors, 'tab1')
  await openWith(one.page, 'tabs/takeover', { url: server.wsUrl })
  await one.whenSynced()
  const two = await openTab(context, server.httpUrl, pageErrors, 'tab2')
  await openWith(two.page, 'tabs/takeover', { url: server.wsUrl })
  await two.whenSynced()
  // The first tab got the lock first: it leads.
  expect(await openSockets(one.page)).toBe(1)
  expect(await openSockets(two.page)).toBe(0)

  await one.page.close()
  await expect.poll(() => openSockets(two.page)).toBe(1)
  await expect.poll(() => two.status()).toBe('synced')

  const otherContext = await browser.newContext()
  const other = await openTab(otherContext, server.httpUrl, pageErrors, 'device2')
  await openWith(other.page, 'tabs/takeover', { url: server.wsUrl })
  await two.set('after-takeover', true)
  await expect.poll(() => other.get('after-takeover')).toBe(true)
  await other.set('back', 1)
  await expect.poll(() => two.get('back')).toBe(1)

  await otherContext.close()
  await context.close()
  expect(pageErrors).toEqual([])
})

test('tabs writing and compacting at once never corrupt the shared database', async ({ server, browser }) => {
  const pageErrors: string[] = []
  const context = await browser.newContext()
  const tabs = await openTwoTabsWith(context, server.httpUrl, pageErrors, 'tabs/stress', { compactAfter: 5 })
  // Both tabs write interleaved batches; each compacts every few commits.
  await Promise.all(
    tabs.map((tab, index) =>
      tab.page.evaluate(async (index) => {
        for (let round = 0; round < 40; round++) {
          await window.store.set(`t${index}/${round}`, round)
          await window.store.set('shared', `${index}:${round}`)
        }
      }, index),
    ),
  )
  const expected = await tabs[0]!.entries()
  expect(expected.length).toBe(81)
  await expect.poll(() => tabs[1]!.entries()).toEqual(expected)
  for (const tab of tabs) await tab.page.close()

  // A new tab of the same origin reads the database alone: the entries scanned from the log
  // answer first, then the decoded document; both agree with what the tabs had in memory.
  const fresh = await openTab(context, server.httpUrl, pageErrors, 'fresh')
  const [fromView, fromDocument] = await fresh.page.evaluate(async () => {
    const store = await window.kvsync.openStore('tabs/stress', { backgroundLoadBytes: 0 })
    const view = store.entries()
    await store.whenLoaded()
    return [view, store.entries()]
  })
  expect(fromView).toEqual(expected)
  expect(fromDocument).toEqual(expected)
  await context.close()
  expect(pageErrors).toEqual([])
})
