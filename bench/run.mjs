#!/usr/bin/env node
// `pnpm bench` — every scenario of issue 7 for kvsync and each anchor in one run: browser
// scenarios (L1–L4) in real Chromium, server scenarios (S1–S4) with each server in its own
// process and clients in others. Repetitions are interleaved (rep 1 of every system, then rep 2…).
//   --quick         each scenario once at small sizes (CI keeps the harness working with it)
//   --only L1,S2    run only these scenarios
//   --reps N        repetitions (default 5; --quick: 1)
//   --out DIR       where latest.{json,md,svg} go (default bench/results, --quick: bench/results/quick)
import { mkdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { launchBrowser } from './lib/browser.mjs'
import { describeMachine } from './lib/machine.mjs'
import { run as runCommand, runCleanups } from './lib/proc.mjs'
import { writeReport } from './lib/report.mjs'
import { median } from './lib/stats.mjs'

const benchDir = dirname(fileURLToPath(import.meta.url))
const repoRoot = join(benchDir, '..')
const { values } = parseArgs({ options: { quick: { type: 'boolean' }, only: { type: 'string' }, reps: { type: 'string' }, out: { type: 'string' } } })
const quick = values.quick === true
const repsOverride = values.reps === undefined ? undefined : Number(values.reps)
const defaultReps = quick ? 1 : 5
const outDir = values.out ?? join(benchDir, 'results', ...(quick ? ['quick'] : []))
const allIds = ['L1', 'L2', 'L3', 'L4', 'S1', 'S2', 'S3', 'S4']
const ids = values.only ? values.only.split(',').map((s) => s.trim().toUpperCase()) : allIds

const started = Date.now()
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)}s`
const log = (line) => process.stdout.write(`[bench ${elapsed()}] ${line}\n`)

async function main() {
  log(`${quick ? 'quick' : 'full'} run, scenarios ${ids.join(' ')}`)
  // kvsync's Node packages run from dist/; the pages bundle them from source.
  const tsc = await runCommand(join(repoRoot, 'node_modules', '.bin', 'tsc'), ['-b', 'packages/shared', 'packages/browser', 'packages/sync-server'], { cwd: repoRoot })
  if (tsc.code !== 0) throw new Error(`building the kvsync packages failed (tsc exit ${tsc.code})\n${tsc.stdout}`)

  const samples = new Map()
  const failures = []
  const notes = []
  let browser
  const scenarios = []
  const repsByScenario = {}
  for (const id of ids) {
    const file = join(benchDir, 'scenarios', `${id.toLowerCase()}.mjs`)
    const mod = await import(file)
    scenarios.push({ id, title: mod.title, file })
    // Heavy scenarios may run fewer repetitions by default (fullReps) so the run fits in 20 min.
    const reps = repsOverride ?? (quick ? 1 : (mod.fullReps ?? defaultReps))
    repsByScenario[id] = reps
    const ctx = {
      quick,
      reps,
      async browser() {
        browser ??= await launchBrowser()
        return browser
      },
      // `notApplicable` (a reason) records a row that has no figure for this system, instead
      // of a value: it is shown as n/a rather than left out or made up.
      record({ system, metric, unit, value, better, baseMetric, provisional, what, notApplicable }) {
        const key = `${id}\u0000${system}\u0000${metric}`
        let entry = samples.get(key)
        if (!entry) samples.set(key, (entry = { scenario: id, system, metric, unit, better, baseMetric, provisional, what, runs: [] }))
        if (notApplicable !== undefined) entry.notApplicable = notApplicable
        else entry.runs.push(value)
      },
      note(text) {
        notes.push({ scenario: id, text })
        log(`${id} note: ${text}`)
      },
      async attempt(label, fn) {
        const t0 = Date.now()
        try {
          await fn()
          log(`${id} ${label}: ${Date.now() - t0} ms`)
        } catch (error) {
          const message = String(error?.message ?? error).split('\n').slice(0, 3).join(' ')
          failures.push({ scenario: id, label, error: message })
          log(`${id} ${label} FAILED: ${message}`)
        }
      },
    }
    try {
      log(`${id} — ${mod.title}`)
      await mod.run(ctx)
    } catch (error) {
      failures.push({ scenario: id, label: 'scenario', error: String(error?.stack ?? error).split('\n').slice(0, 4).join(' ') })
      log(`${id} FAILED: ${error?.stack ?? error}`)
    }
    if (id.startsWith('L') && !ids.slice(ids.indexOf(id) + 1).some((next) => next.startsWith('L')) && browser) {
      await browser.close()
    }
  }

  const chromiumVersion = browser?.version ?? (await chromiumVersionCli())
  const results = [...samples.values()].map((e) => ({
    scenario: e.scenario,
    system: e.system,
    metric: e.metric,
    unit: e.unit,
    ...(e.runs.length > 0 ? { median: median(e.runs), min: Math.min(...e.runs), max: Math.max(...e.runs) } : { median: null, min: null, max: null }),
    runs: e.runs,
    ...(e.notApplicable !== undefined && e.runs.length === 0 ? { notApplicable: e.notApplicable } : {}),
    better: e.better,
    ...(e.baseMetric && e.baseMetric !== e.metric ? { baseMetric: e.baseMetric } : {}),
    ...(e.provisional ? { provisional: true } : {}),
    ...(e.what ? { what: e.what } : {}),
  }))
  const analysisFile = join(benchDir, 'results', 'analysis.md')
  let analysis
  if (!quick) {
    try {
      analysis = readFileSync(analysisFile, 'utf8')
    } catch {
      // Written by hand after a full run: profiles of the misses.
    }
  }
  const runInfo = {
    machine: describeMachine(chromiumVersion),
    date: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    repetitions: repsByScenario,
    durationSeconds: (Date.now() - started) / 1000,
    bundleBytes: browser?.bundleBytes,
    failures,
    notes,
    analysis,
    results,
  }
  mkdirSync(outDir, { recursive: true })
  const targets = writeReport({ dir: outDir, run: runInfo, scenarios })
  log(`wrote ${join(outDir, 'latest.json')}, latest.md, latest.svg`)
  for (const t of targets) log(`target ${t.met === undefined ? 'n/a   ' : t.met ? 'met   ' : 'MISSED'} ${t.target}: ${t.kvsync} vs ${t.reference}${t.ratio ? ` = ${t.ratio.toFixed(2)}×` : ''}`)
  log(`done: ${results.length} results, ${failures.length} failures`)
  return { results, failures }
}

async function chromiumVersionCli() {
  try {
    const { stdout } = await runCommand(process.env.KVSYNC_CHROMIUM ?? '/usr/bin/chromium', ['--version'])
    return /([\d.]+)/.exec(stdout)?.[1] ?? 'unknown'
  } catch {
    return 'unknown'
  }
}

let exitCode = 0
try {
  const { results, failures } = await main()
  exitCode = results.length > 0 && failures.length === 0 ? 0 : 1
} catch (error) {
  process.stderr.write(`bench: ${error?.stack ?? error}\n`)
  exitCode = 1
} finally {
  await runCleanups()
}
process.exit(exitCode)
