#!/usr/bin/env node
// Finds the Chromium the e2e tests drive, installing Debian's package when we are root.
// Playwright's own browser download (`playwright install`) is never used: it needs internet
// access beyond the package registries. Prints the path on success.
import { existsSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { fail, run, step } from './lib.mjs'

export const chromiumCandidates = ['/usr/bin/chromium', '/usr/bin/chromium-browser']

/** The Chromium executable to use, or undefined. `KVSYNC_CHROMIUM` wins when set. */
export function findChromium(env = process.env) {
  if (env.KVSYNC_CHROMIUM) return existsSync(env.KVSYNC_CHROMIUM) ? env.KVSYNC_CHROMIUM : undefined
  return chromiumCandidates.find((path) => existsSync(path))
}

const howToInstall =
  'Install it with `sudo apt-get install chromium` (Debian/Ubuntu), or point KVSYNC_CHROMIUM at a Chromium/Chrome executable.'

export async function ensureChromium() {
  if (process.env.KVSYNC_CHROMIUM && !existsSync(process.env.KVSYNC_CHROMIUM)) {
    fail(`KVSYNC_CHROMIUM=${process.env.KVSYNC_CHROMIUM} does not exist. ${howToInstall}`)
  }
  let found = findChromium()
  if (found) return found

  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0
  const hasApt = existsSync('/usr/bin/apt-get')
  if (!isRoot || !hasApt) fail(`Chromium not found (looked at ${chromiumCandidates.join(', ')}). ${howToInstall}`)

  step('Chromium not found; installing Debian package `chromium` with apt-get')
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  if ((await run('apt-get', ['update'], { env })) !== 0) fail(`apt-get update failed. ${howToInstall}`)
  if ((await run('apt-get', ['install', '-y', 'chromium'], { env })) !== 0) {
    fail(`apt-get install chromium failed. ${howToInstall}`)
  }
  found = findChromium()
  if (!found) fail(`apt-get installed chromium but no executable at ${chromiumCandidates.join(', ')}. ${howToInstall}`)
  return found
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const path = await ensureChromium()
  step(`Chromium: ${path}`)
}
