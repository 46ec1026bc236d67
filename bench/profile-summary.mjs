#!/usr/bin/env node
// Summarises V8 .cpuprofile files (node --cpu-prof, or CDP Profiler.stop): self time by function
// and by package, largest first; with --per N also inclusive time by function (a function's
// samples with everything it called, each sample counted once however deep the recursion),
// in µs per unit of work (e.g. per write). Usage:
//   node bench/profile-summary.mjs FILE... [--top 25] [--per N]
import { readFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'

const isMain = import.meta.url === pathToFileURL(process.argv[1] ?? '').href
const { values, positionals } = isMain ? parseArgs({ allowPositionals: true, options: { top: { type: 'string' }, per: { type: 'string' } } }) : { values: {}, positionals: [] }
const top = Number(values.top ?? 25)

/** `functionName file:line` of a profile node. */
function frameName(callFrame) {
  const url = callFrame.url.replace(/^file:\/\//, '')
  return `${callFrame.functionName || '(anonymous)'} ${url.split('/').slice(-2).join('/')}:${callFrame.lineNumber + 1}`
}

/**
 * Inclusive time by function, in µs per `per` units of work, largest first, with the busy
 * (non-idle) total per unit; `(garbage collector)` and `(program)` appear as their own rows.
 */
export function inclusiveSummary(profile, { per = 1, rows: count = top * 2 } = {}) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const parent = new Map()
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)
  const inclusive = new Map()
  let busy = 0
  const deltas = profile.timeDeltas
  for (let i = 0; i < profile.samples.length; i++) {
    const us = deltas[i] ?? 0
    const leaf = byId.get(profile.samples[i])
    if (leaf.callFrame.functionName === '(idle)') continue
    busy += us
    const seen = new Set()
    for (let id = leaf.id; id !== undefined; id = parent.get(id)) {
      const { callFrame } = byId.get(id)
      if (callFrame.functionName === '(root)') continue
      const name = frameName(callFrame)
      if (seen.has(name)) continue
      seen.add(name)
      inclusive.set(name, (inclusive.get(name) ?? 0) + us)
    }
  }
  const lines = [...inclusive]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, us]) => `${(us / per).toFixed(1).padStart(8)} µs ${((100 * us) / busy).toFixed(1).padStart(5)}%  ${name}`)
  return `busy ${(busy / 1000).toFixed(0)} ms = ${(busy / per).toFixed(1)} µs per unit (${per} units)\ninclusive by function, µs per unit:\n${lines.join('\n')}`
}

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
  for (const file of positionals) {
    const profile = JSON.parse(readFileSync(file, 'utf8'))
    process.stdout.write(`== ${file}\n${summarise(profile)}\n`)
    if (values.per !== undefined) process.stdout.write(`${inclusiveSummary(profile, { per: Number(values.per) })}\n`)
  }
}
