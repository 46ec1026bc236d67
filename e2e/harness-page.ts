// Typed helpers around a Playwright page showing the harness. Each call runs the public
// @kvsync/browser API inside the page (real IndexedDB, real WebSocket) and returns plain data.
import { readFile } from 'node:fs/promises'
import { extname, join, normalize } from 'node:path'
import type { BrowserContext, Page } from '@playwright/test'
import type { KvValue } from '@kvsync/browser'
import type { RecordedEvent } from './harness/global.js'

export type Entries = Array<[string, unknown]>

/** What a failed store call looked like inside the page. */
export interface PageError {
  threw: boolean
  isKvsyncError: boolean
  name?: string
  code?: string
  message?: string
}

export class HarnessPage {
  constructor(readonly page: Page) {}

  /** Loads the harness from `origin` and waits until window.kvsync exists. */
  async goto(origin: string): Promise<void> {
    await this.page.goto(origin)
    await this.page.waitForFunction(() => document.documentElement.dataset.kvsyncReady === 'true')
  }

  /** openStore(name, { url }) in the page; records every change and status into window.kvsyncEvents. */
  async open(name: string, url?: string): Promise<void> {
    await this.page.evaluate(
      async ({ name, url }) => {
        const store = await window.kvsync.openStore(name, url === undefined ? {} : { url })
        window.store = store
        store.subscribe((change) => {
          window.kvsyncEvents.push({ kind: 'change', key: change.key, value: change.value, origin: change.origin })
        })
        store.onStatusChange((status) => {
          window.kvsyncEvents.push({ kind: 'status', status })
        })
      },
      { name, url },
    )
  }

  set(key: string, value: KvValue): Promise<void> {
    // Typed `unknown` across evaluate: Playwright's argument types cannot unfold recursive KvValue.
    const arg: { key: string; value: unknown } = { key, value }
    return this.page.evaluate(({ key, value }) => window.store.set(key, value as KvValue), arg)
  }

  delete(key: string): Promise<void> {
    return this.page.evaluate((key) => window.store.delete(key), key)
  }

  get(key: string): Promise<unknown> {
    return this.page.evaluate((key) => window.store.get(key), key)
  }

  has(key: string): Promise<boolean> {
    return this.page.evaluate((key) => window.store.has(key), key)
  }

  /** entries(), sorted by key so two replicas compare with toEqual. */
  entries(): Promise<Entries> {
    return this.page.evaluate(() => window.store.entries().sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
  }

  status(): Promise<string> {
    return this.page.evaluate(() => window.store.status)
  }

  whenSynced(): Promise<void> {
    return this.page.evaluate(() => window.store.whenSynced())
  }

  close(): Promise<void> {
    return this.page.evaluate(() => window.store.close())
  }

  events(): Promise<RecordedEvent[]> {
    return this.page.evaluate(() => window.kvsyncEvents)
  }

  /**
   * Calls store.set with one of the bad inputs of {@link badInputs}, built inside the page
   * (functions and cycles cannot cross page.evaluate), and reports what it threw.
   */
  async setBadInput(input: BadInput): Promise<PageError> {
    return this.page.evaluate(async (input) => {
      const cyclic: Record<string, unknown> = {}
      cyclic.self = cyclic
      const cases: Record<BadInput, [unknown, unknown]> = {
        'number key': [42, 'x'],
        'empty key': ['', 'x'],
        'function value': ['k', () => 1],
        'undefined value': ['k', undefined],
        'symbol value': ['k', Symbol('s')],
        'NaN value': ['k', Number.NaN],
        'cyclic value': ['k', cyclic],
      }
      const [key, value] = cases[input]
      try {
        // The casts are the point: a JavaScript caller can pass anything.
        await window.store.set(key as string, value as KvValue)
        return { threw: false, isKvsyncError: false }
      } catch (error) {
        const e = error as { name?: unknown; code?: unknown; message?: unknown }
        return {
          threw: true,
          isKvsyncError: window.kvsync.isKvsyncError(error),
          name: String(e.name),
          code: String(e.code),
          message: String(e.message),
        }
      }
    }, input)
  }
}

/** Inputs the store must reject, with the error code each must carry. */
export const badInputs = {
  'number key': 'INVALID_KEY',
  'empty key': 'INVALID_KEY',
  'function value': 'INVALID_VALUE',
  'undefined value': 'INVALID_VALUE',
  'symbol value': 'INVALID_VALUE',
  'NaN value': 'INVALID_VALUE',
  'cyclic value': 'INVALID_VALUE',
} as const
export type BadInput = keyof typeof badInputs

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
}

/**
 * Serves the harness files for `origin` from disk inside the browser, the way an offline app's
 * service worker cache would, so a page can load while the server is down. Only HTTP requests
 * are routed; WebSocket connections still go to the (stopped) server and fail for real.
 */
export async function serveHarnessFromDisk(context: BrowserContext, origin: string, dir: string): Promise<void> {
  await context.route(`${origin}**`, async (route) => {
    const path = new URL(route.request().url()).pathname
    const relative = normalize(path === '/' ? 'index.html' : path.slice(1))
    if (relative.startsWith('..')) return route.fulfill({ status: 403 })
    try {
      const body = await readFile(join(dir, relative))
      return await route.fulfill({ status: 200, body, contentType: contentTypes[extname(relative)] ?? 'application/octet-stream' })
    } catch {
      return await route.fulfill({ status: 404, body: 'not found' })
    }
  })
}
