#!/usr/bin/env node
// CPU profile of one benchmark call in a Chromium page (CDP Profiler), unminified bundle.
//   node bench/profile-page.mjs SYSTEM FN 'JSON args' [OUT.cpuprofile]
//   e.g. node bench/profile-page.mjs kvsync l1 '["p", 2000]'
// Prints the call's wall time, then the profile's self time by function and package. Idle time
// (the renderer waiting for IndexedDB commits in the browser process) shows as "(idle)".
import { writeFileSync } from 'node:fs'
import { launchBrowser } from './lib/browser.mjs'
import { runCleanups } from './lib/proc.mjs'
import { summarise } from './profile-summary.mjs'

const [system, fn, argsJson = '[]', out] = process.argv.slice(2)
const browser = await launchBrowser({ minify: false })
try {
  const page = await browser.page(await browser.origin(), system)
  const cdp = await browser.context.newCDPSession(page)
  await cdp.send('Profiler.enable')
  await cdp.send('Profiler.setSamplingInterval', { interval: 200 })
  await cdp.send('Profiler.start')
  const t0 = Date.now()
  const result = await page.evaluate(([fn, args]) => window.bench[fn](...args), [fn, JSON.parse(argsJson)])
  const wall = Date.now() - t0
  const { profile } = await cdp.send('Profiler.stop')
  if (out) writeFileSync(out, JSON.stringify(profile))
  process.stdout.write(`${system}.${fn}(${argsJson}) → ${JSON.stringify(result)} in ${wall} ms wall\n${summarise(profile)}\n`)
} finally {
  await browser.close()
  await runCleanups()
}
