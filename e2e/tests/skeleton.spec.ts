// Walking skeleton (issue 2), end to end: real Chromium, real IndexedDB, a real kvsync-server
// process on its SQLite store. No sleeps: every wait is expect.poll or a promise the API gives.
import { badInputs, type BadInput, serveHarnessFromDisk } from '../harness-page.js'
import { expect, test } from '../fixtures.js'

const disconnected = /^(offline|connecting)$/

test('a value set in one browser shows up live in another', async ({ server, newClient }) => {
  const a = await newClient('A')
  const b = await newClient('B')
  await a.harness.open('e2e/live', server.wsUrl)
  await b.harness.open('e2e/live', server.wsUrl)
  await Promise.all([a.harness.whenSynced(), b.harness.whenSynced()])

  await a.harness.set('greeting', 'hello')
  await a.harness.set('nested', { list: [1, 2, { deep: true }], none: null })

  await expect.poll(() => b.harness.get('greeting')).toBe('hello')
  await expect.poll(() => b.harness.get('nested')).toEqual({ list: [1, 2, { deep: true }], none: null })
  expect(await b.harness.events()).toContainEqual({ kind: 'change', key: 'greeting', value: 'hello', origin: 'remote' })
  expect(await a.harness.events()).toContainEqual({ kind: 'change', key: 'greeting', value: 'hello', origin: 'local' })

  await b.harness.delete('greeting')
  await expect.poll(() => a.harness.has('greeting')).toBe(false)
  await expect.poll(() => b.harness.status()).toBe('synced')
})

test('edits made on both sides while one browser is offline converge after it reconnects', async ({ server, newClient }) => {
  const a = await newClient('A')
  const b = await newClient('B')
  // C stays online and only watches, to show A's edits reach the server while B is cut off.
  const c = await newClient('C')
  for (const client of [a, b, c]) await client.harness.open('e2e/offline', server.wsUrl)
  await a.harness.set('shared', 'before')
  await a.harness.set('doomed', 'x')
  await expect.poll(() => b.harness.get('doomed')).toBe('x')

  // Chromium keeps an already open WebSocket working under DevTools offline emulation (it only
  // fails new connections and fires `offline`), so this passes only because the client itself
  // drops the connection when the browser goes offline.
  await b.context.setOffline(true)
  await expect.poll(() => b.harness.status()).toMatch(disconnected)

  await b.harness.set('only-b', 2)
  await b.harness.set('shared', 'from B, offline, earlier')
  await b.harness.delete('doomed')
  // The conflict rule is last writer wins by hybrid logical clock: make sure A's write below
  // is later in wall-clock time than B's, whatever the timer resolution.
  const afterB = Date.now()
  await expect.poll(() => Date.now()).toBeGreaterThan(afterB + 1)
  await a.harness.set('only-a', 1)
  await a.harness.set('shared', 'from A, online, later')

  await expect.poll(() => c.harness.get('only-a')).toBe(1)
  await expect.poll(() => c.harness.get('shared')).toBe('from A, online, later')
  // B is really cut off: what C (online) already has, B does not; B's own writes are local.
  expect(await b.harness.has('only-a')).toBe(false)
  expect(await b.harness.get('shared')).toBe('from B, offline, earlier')
  expect(await b.harness.has('doomed')).toBe(false)
  expect(await b.harness.status()).toMatch(disconnected)

  await b.context.setOffline(false)
  await expect.poll(() => b.harness.status(), { timeout: 30_000 }).toBe('synced')

  const expected = [
    ['only-a', 1],
    ['only-b', 2],
    ['shared', 'from A, online, later'],
  ]
  for (const client of [a, b, c]) await expect.poll(() => client.harness.entries()).toEqual(expected)
})

test('a reload while the server is down shows the data from IndexedDB', async ({ server, newClient }) => {
  const a = await newClient('A')
  await a.harness.open('e2e/reload', server.wsUrl)
  await a.harness.set('colour', 'teal')
  await a.harness.set('counts', { visits: 3, tags: ['x', 'y'] })
  await a.harness.delete('colour')
  await a.harness.set('colour', 'plum')

  const exit = await server.stop()
  expect(exit, 'the server stops cleanly on SIGTERM').toEqual({ code: 0, signal: null })
  await expect.poll(() => a.harness.status()).toMatch(disconnected)

  // The page itself came from the server; serve it from disk (as an offline app's cache would)
  // so that only the store's data depends on IndexedDB.
  await serveHarnessFromDisk(a.context, server.httpUrl, server.staticDir)
  await a.harness.goto(server.httpUrl)
  await a.harness.open('e2e/reload', server.wsUrl)

  expect(await a.harness.entries()).toEqual([
    ['colour', 'plum'],
    ['counts', { visits: 3, tags: ['x', 'y'] }],
  ])
  expect(await a.harness.status()).toMatch(disconnected)
})

test('a server restart on the same data directory keeps the data', async ({ server, newClient }) => {
  const a = await newClient('A')
  await a.harness.open('e2e/restart', server.wsUrl)
  await a.harness.set('kept', 'yes')
  await a.harness.set('big', 'x'.repeat(100_000))
  await a.harness.whenSynced()

  const exit = await server.restart()
  expect(exit, 'the server stops cleanly on SIGTERM').toEqual({ code: 0, signal: null })

  // A fresh context has an empty IndexedDB: whatever it sees comes from the restarted server.
  const fresh = await newClient('fresh')
  await fresh.harness.open('e2e/restart', server.wsUrl)
  await fresh.harness.whenSynced()
  expect(await fresh.harness.get('kept')).toBe('yes')
  expect(await fresh.harness.get('big')).toBe('x'.repeat(100_000))

  // A reconnects by itself and keeps syncing both ways.
  await expect.poll(() => a.harness.status(), { timeout: 30_000 }).toBe('synced')
  await a.harness.set('after-restart', 1)
  await expect.poll(() => fresh.harness.get('after-restart')).toBe(1)
})

test('bad input to the store throws a KvsyncError with a code', async ({ newClient }) => {
  const a = await newClient('A')
  await a.harness.open('e2e/bad-input')
  for (const [input, code] of Object.entries(badInputs) as Array<[BadInput, string]>) {
    const result = await a.harness.setBadInput(input)
    expect(result, input).toMatchObject({ threw: true, isKvsyncError: true, name: 'KvsyncError', code })
    expect(result.message, input).not.toBe('')
  }
  // Nothing half-written, and the store still works.
  expect(await a.harness.entries()).toEqual([])
  await a.harness.set('fine', 'ok')
  expect(await a.harness.get('fine')).toBe('ok')
})
