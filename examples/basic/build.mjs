// Bundles main.ts (with @kvsync/browser from its TypeScript sources) into dist/, next to a copy
// of index.html, so `kvsync-server --static examples/basic/dist` serves the whole app.
import { copyFileSync, mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const here = dirname(fileURLToPath(import.meta.url))
const outdir = join(here, 'dist')
mkdirSync(outdir, { recursive: true })
await build({
  entryPoints: [join(here, 'main.ts')],
  outfile: join(outdir, 'main.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  conditions: ['source'],
  sourcemap: true,
  logLevel: 'warning',
})
copyFileSync(join(here, 'index.html'), join(outdir, 'index.html'))
console.log(`examples/basic: built ${outdir}`)
