#!/usr/bin/env node
// Re-renders results/latest.{md,svg} from results/latest.json (and results/analysis.md), after
// optionally merging in the scenarios of other runs' latest.json (e.g. one scenario re-run):
//   node bench/render.mjs [--merge OTHER/latest.json ...]
// A merged scenario replaces that scenario's results, failures, notes and repetition count.
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { writeReport } from './lib/report.mjs'

const benchDir = dirname(fileURLToPath(import.meta.url))
const resultsDir = join(benchDir, 'results')
const { values } = parseArgs({ options: { merge: { type: 'string', multiple: true } } })
const run = JSON.parse(readFileSync(join(resultsDir, 'latest.json'), 'utf8'))
for (const file of values.merge ?? []) {
  const other = JSON.parse(readFileSync(file, 'utf8'))
  const ids = new Set(other.results.map((r) => r.scenario).concat(other.failures.map((f) => f.scenario)))
  const keep = (x) => !ids.has(x.scenario)
  run.results = run.results.filter(keep).concat(other.results)
  run.failures = run.failures.filter(keep).concat(other.failures)
  run.notes = run.notes.filter(keep).concat(other.notes)
  for (const id of ids) run.repetitions[id] = other.repetitions[id]
  run.merged = [...(run.merged ?? []), { scenarios: [...ids], date: other.date, durationSeconds: other.durationSeconds }]
}
try {
  run.analysis = readFileSync(join(resultsDir, 'analysis.md'), 'utf8')
} catch {
  // No analysis written yet.
}
const order = ['L1', 'L2', 'L3', 'L4', 'S1', 'S2', 'S3', 'S4']
const scenarios = []
for (const id of order) {
  if (!run.results.some((r) => r.scenario === id) && !run.failures.some((f) => f.scenario === id)) continue
  const file = join(benchDir, 'scenarios', `${id.toLowerCase()}.mjs`)
  const mod = await import(file)
  scenarios.push({ id, title: mod.title, file })
}
run.results.sort((a, b) => order.indexOf(a.scenario) - order.indexOf(b.scenario))
writeReport({ dir: resultsDir, run, scenarios })
process.stdout.write(`rendered ${join(resultsDir, 'latest.md')}\n`)
