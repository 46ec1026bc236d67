// Playwright runs Debian's Chromium (found like scripts/ensure-chromium.mjs does); it never
// downloads browsers. Each test starts its own kvsync-server process (see fixtures.ts).
import { existsSync } from 'node:fs'
import { defineConfig } from '@playwright/test'

function chromiumPath(): string {
  const fromEnv = process.env.KVSYNC_CHROMIUM
  const found = fromEnv ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((path) => existsSync(path))
  if (!found || !existsSync(found)) {
    throw new Error('Chromium not found: run `node scripts/ensure-chromium.mjs`, `sudo apt-get install chromium`, or set KVSYNC_CHROMIUM')
  }
  return found
}

const ci = Boolean(process.env.CI)

export default defineConfig({
  testDir: './tests',
  outputDir: '../test-results/e2e',
  globalSetup: './global-setup.ts',
  // Two cores: one browser at a time, and each test already runs up to three contexts.
  workers: 1,
  fullyParallel: false,
  forbidOnly: ci,
  retries: ci ? 1 : 0,
  timeout: 60_000,
  expect: { timeout: 15_000 },
  reporter: ci ? [['list'], ['html', { outputFolder: '../playwright-report', open: 'never' }]] : [['list']],
  use: {
    browserName: 'chromium',
    headless: true,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: chromiumPath(),
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    },
  },
})
