// Real Chromium for the browser scenarios: each system's page is bundled with esbuild (kvsync
// from its TypeScript sources, anchors from their npm packages) and served from 127.0.0.1.
// A persistent profile in a temp dir, so IndexedDB is on disk (not an incognito memory store).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { chromium } from 'playwright-core'
import { onCleanup } from './proc.mjs'
import { staticServer } from './static.mjs'

const benchDir = join(dirname(fileURLToPath(import.meta.url)), '..')
export const browserSystems = ['kvsync', 'idb-keyval', 'y-indexeddb', 'raw-indexeddb']

export async function buildPages(outDir, { minify = true } = {}) {
  mkdirSync(outDir, { recursive: true })
  const sizes = {}
  for (const system of browserSystems) {
    const result = await build({
      entryPoints: [join(benchDir, 'pages', `${system}.js`)],
      outfile: join(outDir, `${system}.js`),
      bundle: true,
      minify,
      keepNames: !minify,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      conditions: ['source'],
      metafile: true,
      logLevel: 'warning',
    })
    sizes[system] = Object.values(result.metafile.outputs)[0].bytes
    writeFileSync(
      join(outDir, `${system}.html`),
      `<!doctype html><html><head><meta charset="utf-8"><title>${system}</title></head><body><script type="module" src="./${system}.js"></script></body></html>\n`,
    )
  }
  return sizes
}

export function chromiumPath() {
  return process.env.KVSYNC_CHROMIUM ?? '/usr/bin/chromium'
}

export async function launchBrowser({ minify = true } = {}) {
  const work = mkdtempSync(join(tmpdir(), 'kvsync-bench-browser-'))
  const pagesDir = join(work, 'pages')
  const bundleBytes = await buildPages(pagesDir, { minify })
  const statics = staticServer(pagesDir)
  const context = await chromium.launchPersistentContext(join(work, 'profile'), {
    executablePath: chromiumPath(),
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
  const version = context.browser()?.version() ?? (await chromiumVersionFromPage(context))
  const close = async () => {
    await context.close().catch(() => {})
    await statics.close()
    rmSync(work, { recursive: true, force: true })
  }
  const remove = onCleanup(close)
  return {
    version,
    bundleBytes,
    /** A new origin (empty storage). */
    origin: () => statics.origin(),
    /** Opens `system`'s page at `origin` (query string optional) and waits until it settled. */
    async page(origin, system, query = '') {
      const page = await context.newPage()
      page.on('pageerror', (error) => process.stderr.write(`[page ${system}] ${error.message}\n`))
      await page.goto(`${origin}/${system}.html${query}`)
      await page.waitForFunction(() => window.benchResult !== undefined, undefined, { timeout: 120_000 })
      return page
    },
    context,
    async close() {
      remove()
      await close()
    },
  }
}

async function chromiumVersionFromPage(context) {
  const page = await context.newPage()
  const ua = await page.evaluate(() => navigator.userAgent)
  await page.close()
  return /Chrome\/([\d.]+)/.exec(ua)?.[1] ?? 'unknown'
}
