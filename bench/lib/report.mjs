// Writes a run's results: latest.json (the issue's format plus a few descriptive fields),
// latest.md (each kvsync figure beside each anchor's, with the ratio; targets met/missed) and
// latest.svg (the main ratios against the best anchor).
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { evaluateTargets, fmt } from './targets.mjs'

const anchorsOf = { L: ['idb-keyval', 'y-indexeddb', 'raw-indexeddb'], S: ['y-websocket-server', 'hocuspocus', 'ws-broadcast'] }

/** The leading `//` comment of a scenario module: what it times, in its own words. */
function headerComment(file) {
  const lines = readFileSync(file, 'utf8').split('\n')
  const out = []
  for (const line of lines) {
    if (!line.startsWith('//')) break
    out.push(line.replace(/^\/\/ ?/, ''))
  }
  return out.join('\n')
}

export function writeReport({ dir, run, scenarios }) {
  writeFileSync(join(dir, 'latest.json'), `${JSON.stringify(run, null, 2)}\n`)
  const targets = evaluateTargets(run.results)
  writeFileSync(join(dir, 'latest.md'), markdown(run, scenarios, targets))
  writeFileSync(join(dir, 'latest.svg'), svg(run, targets))
  return targets
}

function cell(r) {
  if (!r) return '—'
  if (r.notApplicable) return 'n/a'
  return `${fmt(r.median)} (${fmt(r.min)}–${fmt(r.max)})`
}

function markdown(run, scenarios, targets) {
  const m = run.machine
  const out = []
  out.push(`# kvsync benchmarks — ${run.mode} run`, '')
  out.push(`${run.date}. Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB RAM, ${m.os}; Node ${m.node}; Chromium ${m.chromium}.`)
  out.push(`Each figure: median over the scenario's interleaved repetitions (${Object.entries(run.repetitions).map(([id, n]) => `${id}: ${n}`).join(', ')}), (min–max). Ratio = kvsync ÷ anchor (for times, bytes and latency lower is better; for rates higher is better). Wall time of the run: ${Math.round(run.durationSeconds)} s.${(run.merged ?? []).map((m) => ` ${m.scenarios.join(', ')} re-run on ${m.date} (${Math.round(m.durationSeconds)} s) and merged.`).join('')}`)
  out.push(`Page bundles (minified): ${Object.entries(run.bundleBytes ?? {}).map(([s, b]) => `${s} ${fmt(b / 1024)} KiB`).join(', ')}.`, '')
  out.push('## Targets (issue 7)', '', '| target | kvsync | best anchor / reference | ratio | goal | |', '| --- | --- | --- | --- | --- | --- |')
  for (const t of targets) out.push(`| ${t.target} | ${t.kvsync} | ${t.reference} | ${t.ratio === undefined ? '—' : `${fmt(t.ratio)}×`} | ${t.goal} | ${t.met === undefined ? 'n/a' : t.met ? 'met' : '**missed**'} |`)
  out.push('')
  for (const scenario of scenarios) {
    const rows = run.results.filter((r) => r.scenario === scenario.id)
    out.push(`## ${scenario.id} — ${scenario.title}`, '', '```text', headerComment(scenario.file), '```', '')
    const anchors = anchorsOf[scenario.id[0]].filter((a) => rows.some((r) => r.system === a))
    out.push(`| metric | unit | kvsync | ${anchors.map((a) => `${a} | ratio`).join(' | ')} |`)
    out.push(`| --- | --- | --- | ${anchors.map(() => '--- | ---').join(' | ')} |`)
    const kvRows = rows.filter((r) => r.system === 'kvsync')
    const seen = new Set()
    for (const kv of kvRows) {
      const base = kv.baseMetric ?? kv.metric
      seen.add(base)
      const cols = anchors.map((a) => {
        const ref = rows.find((r) => r.system === a && r.metric === base)
        return ref ? `${cell(ref)} | ${kv.notApplicable ? '—' : `${fmt(kv.median / ref.median)}×`}` : '— | —'
      })
      out.push(`| ${kv.metric}${kv.provisional ? ' ⚠' : ''} | ${kv.unit} | ${cell(kv)} | ${cols.join(' | ')} |`)
    }
    const notApplicable = [...new Set(kvRows.filter((r) => r.notApplicable).map((r) => r.notApplicable))]
    for (const r of rows.filter((r) => r.system !== 'kvsync')) {
      if (seen.has(r.metric)) continue
      seen.add(r.metric)
      const cols = anchors.map((a) => {
        const ref = rows.find((x) => x.system === a && x.metric === r.metric)
        return ref ? `${cell(ref)} | —` : '— | —'
      })
      out.push(`| ${r.metric} (anchors only) | ${r.unit} | — | ${cols.join(' | ')} |`)
    }
    if (kvRows.some((r) => r.provisional)) out.push('', '⚠ provisional: kvsync has no durable acknowledgement yet (issue 5); see the description above for what is measured instead.')
    for (const reason of notApplicable) out.push('', `n/a: ${reason}`)
    const failures = run.failures.filter((f) => f.scenario === scenario.id)
    const notes = run.notes.filter((n) => n.scenario === scenario.id)
    if (failures.length + notes.length > 0) {
      out.push('', 'Failures and notes:', '')
      for (const f of failures) out.push(`- failed: ${f.label}: ${f.error}`)
      for (const n of notes) out.push(`- ${n.text}`)
    }
    out.push('')
  }
  if (run.analysis) out.push('## Where the time goes (misses)', '', run.analysis, '')
  return `${out.join('\n')}\n`
}

/** Horizontal bars: kvsync's advantage over the reference (>1 = kvsync better), log scale. */
function svg(run, targets) {
  const rows = targets.filter((t) => t.ratio !== undefined)
  const better = (t) => (t.goal.startsWith('≥') ? t.ratio : 1 / t.ratio)
  const goalValue = (t) => {
    const x = Number(/([\d.]+)×/.exec(t.goal)?.[1])
    return t.goal.startsWith('≥') ? x : 1 / x
  }
  const width = 980
  const left = 470
  const barArea = width - left - 30
  const rowH = 22
  const top = 60
  const height = top + rows.length * rowH + 50
  const minLog = Math.log10(1 / 64)
  const maxLog = Math.log10(16)
  const x = (v) => left + ((Math.min(maxLog, Math.max(minLog, Math.log10(v))) - minLog) / (maxLog - minLog)) * barArea
  const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
  const parts = []
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`)
  parts.push(`<rect width="100%" height="100%" fill="white"/>`)
  parts.push(`<text x="10" y="22" font-size="15" font-weight="bold">kvsync vs reference (target's anchor), ${esc(run.date.slice(0, 10))}, ${esc(run.mode)} run</text>`)
  parts.push(`<text x="10" y="42" fill="#555">bar: kvsync's advantage (&gt;1 = kvsync better; log scale); tick: the target; green = met, red = missed</text>`)
  for (const v of [1 / 64, 1 / 16, 1 / 4, 1, 4, 16]) {
    parts.push(`<line x1="${x(v)}" y1="${top - 6}" x2="${x(v)}" y2="${top + rows.length * rowH}" stroke="${v === 1 ? '#000' : '#ddd'}"/>`)
    parts.push(`<text x="${x(v)}" y="${top + rows.length * rowH + 16}" text-anchor="middle" fill="#555">${v >= 1 ? `${v}×` : `1/${1 / v}`}</text>`)
  }
  rows.forEach((t, i) => {
    const y = top + i * rowH
    const v = better(t)
    const x0 = x(1)
    const x1 = x(v)
    parts.push(`<text x="${left - 8}" y="${y + 14}" text-anchor="end">${esc(t.target.length > 70 ? `${t.target.slice(0, 68)}…` : t.target)}</text>`)
    parts.push(`<rect x="${Math.min(x0, x1)}" y="${y + 4}" width="${Math.max(1, Math.abs(x1 - x0))}" height="${rowH - 8}" fill="${t.met ? '#2e7d32' : '#c62828'}"/>`)
    parts.push(`<line x1="${x(goalValue(t))}" y1="${y + 1}" x2="${x(goalValue(t))}" y2="${y + rowH - 1}" stroke="#000" stroke-width="2"/>`)
    parts.push(`<text x="${Math.max(x0, x1) + 4}" y="${y + 14}" fill="#333">${fmt(v)}×</text>`)
  })
  parts.push('</svg>')
  return `${parts.join('\n')}\n`
}
