#!/usr/bin/env node
// CI check that the benchmark harness works: runs `run.mjs --quick` into a temp dir and exits 0
// when every scenario produced results for kvsync and at least one anchor, with no failed
// attempt. It never asserts on a timing: speed is for humans reading results/latest.md.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const benchDir = dirname(fileURLToPath(import.meta.url))
const out = mkdtempSync(join(tmpdir(), 'kvsync-bench-quick-'))
const problems = []
try {
  const started = Date.now()
  // Bounded: quick mode takes about two minutes here; kill it after ten.
  const child = spawnSync(process.execPath, [join(benchDir, 'run.mjs'), '--quick', '--out', out], { stdio: 'inherit', timeout: 600_000 })
  if (child.error) problems.push(`run.mjs could not run: ${child.error.message}`)
  if (child.status !== 0) problems.push(`run.mjs --quick exited with ${child.status ?? child.signal}`)
  let run
  try {
    run = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8'))
  } catch (error) {
    problems.push(`no readable latest.json: ${error.message}`)
  }
  if (run) {
    for (const scenario of ['L1', 'L2', 'L3', 'L4', 'S1', 'S2', 'S3', 'S4']) {
      const systems = new Set(run.results.filter((r) => r.scenario === scenario && Number.isFinite(r.median)).map((r) => r.system))
      if (!systems.has('kvsync')) problems.push(`${scenario}: no kvsync result`)
      if (systems.size < 2) problems.push(`${scenario}: no anchor result`)
    }
    for (const failure of run.failures) problems.push(`${failure.scenario} ${failure.label}: ${failure.error}`)
  }
  process.stdout.write(`quick-check: ${problems.length === 0 ? 'harness OK' : 'FAILED'} in ${((Date.now() - started) / 1000).toFixed(0)} s\n`)
} finally {
  rmSync(out, { recursive: true, force: true })
}
for (const problem of problems) process.stderr.write(`quick-check: ${problem}\n`)
process.exit(problems.length === 0 ? 0 : 1)
