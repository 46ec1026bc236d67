#!/usr/bin/env node
// Summarises V8 .cpuprofile files (node --cpu-prof, or CDP Profiler.stop): self time by function
// and by package, largest first. Usage: node bench/profile-summary.mjs FILE... [--top 25]
import { readFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'

const isMain = import.meta.url === pathToFileURL(process.argv[1] ?? '').href
const { values, positionals } = isMain ? parseArgs({ allowPositionals: true, options: { top: { type: 'string' } } }) : { values: {}, positionals: [] }
const top = Number(values.top ?? 25)

export function summarise(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const self = new Map()
  const deltas = profile.timeDeltas
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]
    self.set(id, (self.get(id) ?? 0) + (deltas[i] ?? 0))
  }
  const fn = new Map()
  const pkg = new Map()
  let total = 0
  for (const [id, us] of self) {
    const { callFrame } = byId.get(id)
    total += us
    const url = callFrame.url.replace(/^file:\/\//, '')
    const where = /node_modules\/\.pnpm\/([^/]+)/.exec(url)?.[1] ?? /packages\/([^/]+)/.exec(url)?.[1] ?? (url.startsWith('node:') || url === '' ? url || callFrame.functionName : url.split('/').slice(-2).join('/'))
    const name = `${callFrame.functionName || '(anonymous)'} ${url.split('/').slice(-2).join('/')}:${callFrame.lineNumber + 1}`
    fn.set(name, (fn.get(name) ?? 0) + us)
    pkg.set(where, (pkg.get(where) ?? 0) + us)
  }
  const rows = (map) => [...map].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, us]) => `${(us / 1000).toFixed(0).padStart(7)} ms ${((100 * us) / total).toFixed(1).padStart(5)}%  ${k}`)
  return `total ${(total / 1000).toFixed(0)} ms sampled\nby function (self):\n${rows(fn).join('\n')}\nby package (self):\n${rows(pkg).join('\n')}`
}

if (positionals.length > 0) {
  for (const file of positionals) process.stdout.write(`== ${file}\n${summarise(JSON.parse(readFileSync(file, 'utf8')))}\n`)
}
