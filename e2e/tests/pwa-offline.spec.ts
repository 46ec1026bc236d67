// The preferences PWA (examples/preferences-pwa) offline, end to end: real Chromium, the real
// service worker and IndexedDB, a real kvsync-server serving the build. No sleeps: every wait is
// on something the page shows.
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { BrowserContext, Page } from '@playwright/test'
import { buildExample, expect, test } from './react-apps.js'

let appDist = ''
test.beforeAll(() => {
  appDist = buildExample('preferences-pwa')
})
test.use({ appDist: async ({}, use) => use(appDist) })

const status = (page: Page) => page.getByTestId('sync-status')

/** The status badge says `state`, and whether everything is saved on the server. */
async function expectStatus(page: Page, state: 'offline' | 'synced', saved: 'yes' | 'no') {
  await expect(status(page)).toHaveAttribute('data-status', state)
  await expect(status(page)).toHaveAttribute('data-saved', saved)
}

/**
 * Reloads `page` while its context is offline (the service worker serves it). Chromium 150
 * (Debian's build) starts the reloaded document with `navigator.onLine` true under Playwright's
 * offline emulation, and fires no `offline` event; Chromium 156 starts it with false. Switching
 * the emulation off and on again makes the new document see the browser as offline in both, as a
 * really offline browser reports it.
 */
async function reloadOffline(page: Page, context: BrowserContext) {
  const response = await page.reload()
  await context.setOffline(false)
  await context.setOffline(true)
  expect(await page.evaluate(() => navigator.onLine)).toBe(false)
  return response
}

async function whenControlledByServiceWorker(page: Page) {
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready
    if (navigator.serviceWorker.controller) return
    await new Promise((resolve) => navigator.serviceWorker.addEventListener('controllerchange', resolve, { once: true }))
  })
}

test('opens offline from the service worker with its IndexedDB data, edits offline, converges when back online', async ({
  openApp,
  saveScreenshot,
}) => {
  const a = await openApp('A', '/?profile=family')
  const pageA = a.page
  await expect(pageA.getByTestId('profile-name')).toHaveText('family')
  await expectStatus(pageA, 'synced', 'yes')
  await expect(status(pageA)).toContainText('All changes saved on the server')
  await whenControlledByServiceWorker(pageA)

  // Online edits: the theme, the language, a field of the nested notifications object.
  await pageA.getByRole('radiogroup', { name: 'Theme' }).getByText('Dark').click()
  await pageA.getByRole('combobox', { name: 'Language' }).selectOption('fr')
  await pageA.getByLabel('Push notifications').check()
  await expect(pageA.locator('html')).toHaveAttribute('data-theme', 'dark')
  await expect(pageA.getByTestId('greeting')).toHaveText('Bonjour !')
  await expectStatus(pageA, 'synced', 'yes')
  await saveScreenshot(pageA, '1-online-synced')

  // Offline: the badge says so at once (the client drops its socket on the `offline` event).
  await a.context.setOffline(true)
  await expectStatus(pageA, 'offline', 'no')
  await expect(status(pageA)).toContainText('Offline')

  // Reload while offline: the service worker serves the app shell from its cache, and the
  // preferences come back from IndexedDB.
  const response = await reloadOffline(pageA, a.context)
  expect(response?.fromServiceWorker()).toBe(true)
  expect(response?.headers()['x-kvsync-served-by']).toBe('service-worker-cache')
  await expectStatus(pageA, 'offline', 'no')
  await expect(pageA.locator('html')).toHaveAttribute('data-theme', 'dark')
  await expect(pageA.getByRole('combobox', { name: 'Language' })).toHaveValue('fr')
  await expect(pageA.getByLabel('Push notifications')).toBeChecked()
  await saveScreenshot(pageA, '2-offline-reloaded')

  // Edit offline: kept on this device, and the badge says they have not reached the server.
  await pageA.getByLabel('Display name').fill('Offline Olga')
  await pageA.getByLabel('Quiet hours').check()
  await pageA.getByLabel('From').fill('21:30')
  await pageA.getByRole('radiogroup', { name: 'Accent color' }).getByLabel('Teal').check()
  await expectStatus(pageA, 'offline', 'no')
  await expect(status(pageA)).toContainText(/\d+ changes? saved on this device, not yet on the server/)
  await saveScreenshot(pageA, '3-offline-edited')

  // A second device on the same profile sees what A wrote online, not what it wrote offline.
  const b = await openApp('B', '/?profile=family')
  const pageB = b.page
  await expectStatus(pageB, 'synced', 'yes')
  await expect(pageB.locator('html')).toHaveAttribute('data-theme', 'dark')
  await expect(pageB.getByRole('combobox', { name: 'Language' })).toHaveValue('fr')
  await expect(pageB.getByLabel('Display name')).toHaveValue('')
  await expect(pageB.getByLabel('Quiet hours')).not.toBeChecked()

  // Back online: A syncs, the server confirms A's writes, B converges.
  await a.context.setOffline(false)
  await expectStatus(pageA, 'synced', 'yes')
  await expect(status(pageA)).toContainText('All changes saved on the server')
  await expect(pageB.getByLabel('Display name')).toHaveValue('Offline Olga')
  await expect(pageB.getByLabel('Quiet hours')).toBeChecked()
  await expect(pageB.getByLabel('From')).toHaveValue('21:30')
  await expect(pageB.getByLabel('Push notifications')).toBeChecked()
  await expect(pageB.getByRole('radiogroup', { name: 'Accent color' }).getByLabel('Teal')).toBeChecked()
  await saveScreenshot(pageB, '4-second-device-converged')

  // And back the other way, live.
  await pageB.getByRole('radiogroup', { name: 'Theme' }).getByText('Light').click()
  await expect(pageA.locator('html')).toHaveAttribute('data-theme', 'light')
  await expectStatus(pageB, 'synced', 'yes')
  await saveScreenshot(pageA, '5-first-device-after-edit-from-second')
})

test('serves the web manifest and icons an install needs', async ({ openApp, server }) => {
  const { page } = await openApp('A', '/')
  const href = await page.locator('link[rel="manifest"]').getAttribute('href')
  const manifestUrl = new URL(href!, server.httpUrl).href
  const manifest = await page.evaluate(async (url) => (await fetch(url)).json(), manifestUrl)
  expect(manifest).toMatchObject({ display: 'standalone', start_url: './', name: 'kvsync Preferences' })
  const sizes = (manifest.icons as Array<{ sizes: string; type: string; src: string; purpose?: string }>).map((icon) => icon.sizes)
  expect(sizes).toEqual(expect.arrayContaining(['192x192', '512x512']))
  for (const icon of manifest.icons as Array<{ src: string; type: string }>) {
    const response = await page.request.get(new URL(icon.src, manifestUrl).href)
    expect(response.ok()).toBe(true)
    expect(response.headers()['content-type']).toContain(icon.type)
  }
  await whenControlledByServiceWorker(page)
})

test('switching the shared profile opens that profile’s store and names it in the URL', async ({ openApp }) => {
  const a = (await openApp('A', '/?profile=alice')).page
  await expectStatus(a, 'synced', 'yes')
  await a.getByRole('combobox', { name: 'Language' }).selectOption('de')
  await expectStatus(a, 'synced', 'yes')

  await a.getByLabel('Shared profile').fill('Team Blue')
  await a.getByRole('button', { name: 'Switch' }).click()
  await expect(a.getByTestId('profile-name')).toHaveText('team-blue')
  expect(new URL(a.url()).searchParams.get('profile')).toBe('team-blue')
  await expect(a.getByRole('combobox', { name: 'Language' })).toHaveValue('en')
  await expectStatus(a, 'synced', 'yes')

  // Someone opening the shared link sees the profile's preferences, not alice's.
  await a.getByRole('combobox', { name: 'Language' }).selectOption('es')
  const b = (await openApp('B', '/?profile=team-blue')).page
  await expect(b.getByRole('combobox', { name: 'Language' })).toHaveValue('es')
  await a.goBack()
  await expect(a.getByTestId('profile-name')).toHaveText('alice')
  await expect(a.getByRole('combobox', { name: 'Language' })).toHaveValue('de')
})

test.describe('a new build', () => {
  // Serve a copy of the build, so the test can change it under the running server.
  let served = ''
  test.use({
    appDist: async ({}, use) => {
      served = await mkdtemp(join(tmpdir(), 'kvsync-pwa-'))
      await cp(appDist, served, { recursive: true })
      await use(served)
      await rm(served, { recursive: true, force: true })
    },
  })

  test('replaces the service worker and its cache on the next visit', async ({ openApp }) => {
    const { page } = await openApp('A', '/?profile=update')
    await whenControlledByServiceWorker(page)
    const cacheNames = () => page.evaluate(() => caches.keys())
    const [first] = await cacheNames()
    expect(first).toMatch(/^kvsync-prefs-[0-9a-f]{12}$/)

    // What a rebuild with changed files produces: a service worker with another version.
    const swPath = join(served, 'sw.js')
    const sw = await readFile(swPath, 'utf8')
    await writeFile(swPath, sw.replace(/const VERSION = "[0-9a-f]+"/, 'const VERSION = "0000next0000"'))
    const indexPath = join(served, 'index.html')
    await writeFile(indexPath, (await readFile(indexPath, 'utf8')).replace('<title>kvsync Preferences</title>', '<title>kvsync Preferences (next)</title>'))

    await page.reload()
    await expect(page).toHaveTitle('kvsync Preferences (next)')
    await expect.poll(cacheNames).toEqual(['kvsync-prefs-0000next0000'])
    await expect.poll(() => page.evaluate(() => navigator.serviceWorker.controller?.scriptURL)).toMatch(/sw\.js$/)

    // The new cache holds the new shell: offline, the app still opens.
    await page.context().setOffline(true)
    const response = await reloadOffline(page, page.context())
    expect(response?.headers()['x-kvsync-served-by']).toBe('service-worker-cache')
    await expect(page).toHaveTitle('kvsync Preferences (next)')
    await expect(page.getByTestId('sync-status')).toHaveAttribute('data-status', 'offline')
  })
})
