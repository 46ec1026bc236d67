// Vite builds the app into dist/, which `kvsync-server --static` serves. Workspace packages
// resolve to their TypeScript sources (the "source" export condition), so no package build is
// needed first. JSX goes through Vite's built-in transform (no React plugin needed).
import { readFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { defineConfig, defaultClientConditions, type Plugin } from 'vite'

const here = dirname(fileURLToPath(import.meta.url))

/** Files of public/ the app shell needs offline (Vite copies them to dist/ as they are). */
const publicShell = ['manifest.webmanifest', 'icons/icon.svg', 'icons/icon-192.png', 'icons/icon-512.png', 'icons/apple-touch-icon.png']

/**
 * Emits dist/sw.js from src/sw.js with the list of files to precache (every file of the bundle
 * plus the public shell) and a version derived from it, so each build that changes a file
 * installs a new service worker and drops the old cache.
 */
function serviceWorker(): Plugin {
  return {
    name: 'kvsync-service-worker',
    apply: 'build',
    generateBundle(_options, bundle) {
      const files = ['./', ...publicShell, ...Object.keys(bundle).filter((file) => !file.endsWith('.map'))].sort()
      const version = createHash('sha256').update(files.join('\n')).digest('hex').slice(0, 12)
      const source = readFileSync(join(here, 'src', 'sw.js'), 'utf8')
        .replace('__PRECACHE__', JSON.stringify(files))
        .replace('__VERSION__', JSON.stringify(version))
      this.emitFile({ type: 'asset', fileName: 'sw.js', source })
    },
  }
}

export default defineConfig({
  base: './',
  resolve: { conditions: ['source', ...defaultClientConditions] },
  plugins: [serviceWorker()],
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', sourcemap: true },
})
