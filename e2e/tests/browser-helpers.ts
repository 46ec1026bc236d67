// Helpers shared by the browser-*.spec.ts files (issue 4): more pages in one context (tabs of
// one origin sharing IndexedDB), openStore with options, and a WebSocket counter in the page.
import type { BrowserContext, Page } from '@playwright/test'
import type { OpenStoreOptions } from '@kvsync/browser'
import { HarnessPage } from '../harness-page.js'

declare global {
  interface Window {
    /** Sockets this page has open right now (see countWebSockets). */
    kvsyncOpenSockets: number
    kvsyncErrors: Array<{ code: string; message: string }>
  }
}

/** Opens one more tab of `origin` in `context`, collecting page errors into `pageErrors`. */
export async function openTab(context: BrowserContext, origin: string, pageErrors: string[], label: string): Promise<HarnessPage> {
  const page = await context.newPage()
  page.on('pageerror', (error) => pageErrors.push(`[${label}] ${error.stack ?? error.message}`))
  const harness = new HarnessPage(page)
  await harness.goto(origin)
  return harness
}

/**
 * Opens two tabs, `tab1` and `tab2`, of `origin` in `context`, then the store `name` with
 * `options` in each, in that order.
 */
export async function openTwoTabsWith(context: BrowserContext, origin: string, pageErrors: string[], name: string, options: PageStoreOptions): Promise<[HarnessPage, HarnessPage]> {
  const tabs: [HarnessPage, HarnessPage] = [await openTab(context, origin, pageErrors, 'tab1'), await openTab(context, origin, pageErrors, 'tab2')]
  for (const tab of tabs) await openWith(tab.page, name, options)
  return tabs
}

/**
 * Wraps the page's WebSocket so tests can count the open ones. An init script, so it is in place
 * before the harness (and kvsync) load, in every page of the context, also after reloads.
 */
export async function countWebSockets(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    const Native = window.WebSocket
    window.kvsyncOpenSockets = 0
    class CountingWebSocket extends Native {
      constructor(url: string | URL, protocols?: string | string[]) {
        super(url, protocols)
        let open = false
        this.addEventListener('open', () => {
          open = true
          window.kvsyncOpenSockets++
        })
        this.addEventListener('close', () => {
          if (open) window.kvsyncOpenSockets--
          open = false
        })
      }
    }
    window.WebSocket = CountingWebSocket
  })
}

export function openSockets(page: Page): Promise<number> {
  return page.evaluate(() => window.kvsyncOpenSockets)
}

/** Serializable subset of OpenStoreOptions a test may pass into the page. */
export type PageStoreOptions = Pick<OpenStoreOptions, 'url' | 'compactAfter' | 'backgroundLoadBytes' | 'multiTab'>

/** openStore in the page with options; records changes, status and errors like HarnessPage.open. */
export async function openWith(page: Page, name: string, options: PageStoreOptions): Promise<void> {
  await page.evaluate(
    async ({ name, options }) => {
      const store = await window.kvsync.openStore(name, { backoff: { initialMs: 50, maxMs: 500 }, ...options })
      window.store = store
      window.kvsyncErrors = []
      store.onError((error) => window.kvsyncErrors.push({ code: error.code, message: error.message }))
      store.subscribe((change) => {
        window.kvsyncEvents.push({ kind: 'change', key: change.key, value: change.value, origin: change.origin })
      })
      store.onStatusChange((status) => {
        window.kvsyncEvents.push({ kind: 'status', status })
      })
    },
    { name, options },
  )
}

export function errorCodes(page: Page): Promise<string[]> {
  return page.evaluate(() => (window.kvsyncErrors ?? []).map((error) => error.code))
}
