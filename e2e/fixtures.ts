// Playwright fixtures: a fresh kvsync-server process per test (own port, own data directory)
// and a helper that opens the harness page in a new browser context (own IndexedDB).
import { test as base, expect, type BrowserContext } from '@playwright/test'
import { harnessDist } from './harness/build.mjs'
import { HarnessPage } from './harness-page.js'
import { type KvsyncServer, useServer } from './server.js'

export interface Client {
  context: BrowserContext
  harness: HarnessPage
}

interface Fixtures {
  /** A running server with a fresh data directory; stopped (SIGTERM) after the test. */
  server: KvsyncServer
  /** Opens the harness in a new browser context (empty IndexedDB) served by `server`. */
  newClient: (label: string) => Promise<Client>
}

export const test = base.extend<Fixtures>({
  server: async ({}, use, testInfo) => {
    await useServer(harnessDist, testInfo, use)
  },

  newClient: async ({ browser, server }, use, testInfo) => {
    const contexts: BrowserContext[] = []
    const logs: string[] = []
    const pageErrors: string[] = []
    await use(async (label) => {
      const context = await browser.newContext()
      contexts.push(context)
      const page = await context.newPage()
      page.on('console', (message) => logs.push(`[${label}] ${message.type()}: ${message.text()}`))
      // Uncaught exceptions and unhandled rejections are bugs, whatever else the test checks.
      page.on('pageerror', (error) => pageErrors.push(`[${label}] ${error.stack ?? error.message}`))
      const harness = new HarnessPage(page)
      await harness.goto(server.httpUrl)
      return { context, harness }
    })
    if (testInfo.status !== testInfo.expectedStatus || pageErrors.length > 0) {
      await testInfo.attach('browser-console.log', { body: [...logs, ...pageErrors].join('\n'), contentType: 'text/plain' })
    }
    for (const context of contexts) await context.close()
    expect(pageErrors, 'uncaught errors in the page').toEqual([])
  },
})

export { expect }
