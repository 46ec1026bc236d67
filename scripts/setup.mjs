#!/usr/bin/env node
// `npm run setup`: install dependencies (pinned pnpm through npx), build the packages and the
// example apps. Safe to run again: the install is skipped while node_modules is newer than
// pnpm-lock.yaml, and tsc -b / esbuild are quick when nothing changed.
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { elapsed, fail, mtime, PNPM_VERSION, pnpm, root, runOrFail, step } from './lib.mjs'

const installMarker = join(root, 'node_modules', '.kvsync-installed')

function needsInstall() {
  const lock = mtime(join(root, 'pnpm-lock.yaml'))
  if (lock === undefined) fail('pnpm-lock.yaml is missing; run this from a complete kvsync checkout')
  const installed = mtime(installMarker)
  return installed === undefined || installed < lock
}

export async function setup({ example = true } = {}) {
  const [major] = process.versions.node.split('.').map(Number)
  if (major < 20) fail(`kvsync needs Node 20 or newer (this is Node ${process.versions.node})`)
  const start = performance.now()

  if (needsInstall()) {
    step(`Installing dependencies with pnpm ${PNPM_VERSION} (first run compiles better-sqlite3, about a minute)`)
    await runOrFail('Installing dependencies', pnpm[0], [...pnpm.slice(1), 'install', '--frozen-lockfile'])
    writeFileSync(installMarker, `${new Date().toISOString()}\n`)
  } else {
    step('Dependencies are up to date (node_modules is newer than pnpm-lock.yaml)')
  }

  // The install builds it (the package's install script), but a checkout installed before the
  // addon existed, or whose source changed since, is not reinstalled: build it here then.
  const addon = join(root, 'packages', 'sync-server', 'native', 'build', 'Release', 'kvsync_malloc_trim.node')
  const addonSource = join(root, 'packages', 'sync-server', 'native', 'malloc_trim.c')
  if (process.platform === 'linux' && (mtime(addon) ?? 0) < (mtime(addonSource) ?? 0)) {
    step('Building the server\'s native malloc_trim helper')
    await runOrFail('Building the native helper', process.execPath, [join(root, 'packages', 'sync-server', 'scripts', 'build-native.mjs')])
  }

  step('Building packages (tsc -b)')
  await runOrFail('Building packages', pnpm[0], [...pnpm.slice(1), 'run', 'build'])

  if (example) {
    // The preferences PWA is what `npm start` serves; the others stay buildable and servable
    // with `npm run server -- --static examples/<name>/dist`.
    const examples = ['@kvsync/example-preferences-pwa', '@kvsync/example-todo', '@kvsync/example-basic']
    step('Building the example apps (examples/preferences-pwa, examples/todo, examples/basic)')
    await runOrFail('Building the examples', pnpm[0], [...pnpm.slice(1), ...examples.flatMap((name) => ['--filter', name]), 'run', 'build'])
  }
  step(`Setup done in ${elapsed(start)}`)
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  if (!existsSync(join(root, 'pnpm-workspace.yaml'))) fail(`not a kvsync checkout: ${root}`)
  await setup()
}
