// Fixtures for the example apps' e2e tests (pwa-*.spec.ts, react-*.spec.ts): build the app with
// Vite, serve its dist/ from a real kvsync-server process (`--static`), open it in fresh browser
// contexts, and keep screenshots as test artifacts.
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { test as base, expect, type BrowserContext, type Page, type TestInfo } from '@playwright/test'
import { type KvsyncServer, repoRoot, useServer } from '../server.js'

/** Builds `examples/<name>` (vite build) and returns its dist folder. */
export function buildExample(name: string): string {
  const dir = join(repoRoot, 'examples', name)
  const result = spawnSync(join(dir, 'node_modules', '.bin', 'vite'), ['build', '--logLevel', 'warn'], { cwd: dir, encoding: 'utf8' })
  if (result.status !== 0) throw new Error(`vite build of examples/${name} failed:\n${result.stdout}\n${result.stderr}`)
  return join(dir, 'dist')
}

export interface AppClient {
  context: BrowserContext
  page: Page
}

interface AppFixtures {
  /** Folder the server serves; set with `test.use({ appDist })`, built in `beforeAll`. */
  appDist: string
  /** A kvsync-server process serving `appDist`, fresh data directory, stopped after the test. */
  server: KvsyncServer
  /** Opens `path` (relative to the server) in a new browser context with empty storage. */
  openApp: (label: string, path: string) => Promise<AppClient>
  /** Saves a full-page screenshot under the test's output folder and attaches it to the report. */
  saveScreenshot: (page: Page, name: string) => Promise<void>
}

export const test = base.extend<AppFixtures>({
  appDist: ['', { option: true }],

  server: async ({ appDist }, use, testInfo) => {
    if (!appDist) throw new Error('set test.use({ appDist }) to the app build to serve')
    await useServer(appDist, testInfo, use)
  },

  openApp: async ({ browser, server }, use, testInfo) => {
    const contexts: BrowserContext[] = []
    const logs: string[] = []
    const pageErrors: string[] = []
    await use(async (label, path) => {
      const context = await browser.newContext({ viewport: { width: 1100, height: 900 } })
      contexts.push(context)
      const page = await context.newPage()
      page.on('console', (message) => logs.push(`[${label}] ${message.type()}: ${message.text()}`))
      page.on('pageerror', (error) => pageErrors.push(`[${label}] ${error.stack ?? error.message}`))
      await page.goto(new URL(path, server.httpUrl).href)
      return { context, page }
    })
    if (testInfo.status !== testInfo.expectedStatus || pageErrors.length > 0) {
      await testInfo.attach('browser-console.log', { body: [...logs, ...pageErrors].join('\n'), contentType: 'text/plain' })
    }
    for (const context of contexts) await context.close()
    expect(pageErrors, 'uncaught errors in the page').toEqual([])
  },

  saveScreenshot: async ({}, use, testInfo: TestInfo) => {
    await use(async (page, name) => {
      const path = testInfo.outputPath(`${name}.png`)
      await page.screenshot({ path, fullPage: true })
      await testInfo.attach(name, { path, contentType: 'image/png' })
    })
  },
})

export { expect }
