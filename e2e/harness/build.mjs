// Bundles the harness page (harness.ts + @kvsync/browser from its TypeScript sources, via the
// "source" export condition) into harness/dist, next to a copy of index.html. The e2e server
// serves that folder with --static, so the page and the WebSocket share one origin.
import { copyFileSync, mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

export const harnessDir = dirname(fileURLToPath(import.meta.url))
export const harnessDist = join(harnessDir, 'dist')

export async function buildHarness() {
  mkdirSync(harnessDist, { recursive: true })
  await build({
    entryPoints: [join(harnessDir, 'harness.ts')],
    outfile: join(harnessDist, 'harness.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    conditions: ['source'],
    sourcemap: 'inline',
    logLevel: 'warning',
  })
  copyFileSync(join(harnessDir, 'index.html'), join(harnessDist, 'index.html'))
  return harnessDist
}
