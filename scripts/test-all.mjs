#!/usr/bin/env node
// `npm test`: the whole suite, stage by stage, stopping at the first failure.
//   setup → typecheck → unit + integration (vitest) → reliability (server crash, memory, fuzz)
//   → e2e (Playwright in Chromium) → bench harness check (quick mode)
// Later stages (cluster tests against Redis and PostgreSQL) are added to `stages` below.
// Run a subset: `npm test -- typecheck unit` (stage names as listed in the summary).
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { setup } from './setup.mjs'
import { elapsed, pnpm, root, run, step } from './lib.mjs'

const rootScripts = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts ?? {}
const pnpmRun = (...args) => [pnpm[0], [...pnpm.slice(1), ...args]]
const bin = (name) => join(root, 'node_modules', '.bin', name)

/** @type {Array<{ name: string, title: string, commands: () => Array<[string, string[]]> }>} */
const stages = [
  {
    name: 'typecheck',
    title: 'typecheck (packages, tests, e2e, examples)',
    commands: () => [
      rootScripts.typecheck ? pnpmRun('run', 'typecheck') : [bin('tsc'), ['-b', 'packages/shared', 'packages/browser', 'packages/sync-server', 'packages/react']],
      [bin('tsc'), ['-p', 'e2e/tsconfig.json']],
      [bin('tsc'), ['-p', 'examples/basic/tsconfig.json']],
      [bin('tsc'), ['-p', 'examples/preferences-pwa/tsconfig.json']],
      [bin('tsc'), ['-p', 'examples/todo/tsconfig.json']],
    ],
  },
  {
    name: 'unit',
    title: 'unit + integration (vitest)',
    commands: () => [[bin('vitest'), ['run']]],
  },
  {
    name: 'reliability',
    title: 'reliability (kill -9 cycles, 10k stores memory bound, 10k-frame fuzz)',
    commands: () => [[bin('vitest'), ['run', '-c', 'packages/sync-server/vitest.reliability.config.ts']]],
  },
  {
    name: 'e2e',
    title: 'e2e (Playwright, Chromium, real server)',
    commands: () => [
      [process.execPath, ['scripts/ensure-chromium.mjs']],
      [bin('playwright'), ['test', '-c', 'e2e/playwright.config.ts']],
    ],
  },
  {
    name: 'bench',
    title: 'bench harness check (pnpm bench --quick, never a timed assertion)',
    commands: () => [[process.execPath, ['bench/quick-check.mjs']]],
  },
]

const only = process.argv.slice(2)
const unknown = only.filter((name) => !stages.some((stage) => stage.name === name))
if (unknown.length > 0) {
  console.error(`Unknown stage(s): ${unknown.join(', ')}. Stages: ${stages.map((s) => s.name).join(', ')}`)
  process.exit(2)
}
const selected = only.length > 0 ? stages.filter((stage) => only.includes(stage.name)) : stages

const results = []
function summary() {
  console.log('')
  step('Summary')
  for (const r of results) console.log(`  ${r.status.padEnd(7)} ${r.title} (${r.time})`)
  for (const stage of selected.slice(results.length)) console.log(`  ${'skipped'.padEnd(7)} ${stage.title}`)
}

const total = performance.now()
let start = performance.now()
await setup()
results.push({ status: 'ok', title: 'setup (install, build)', time: elapsed(start) })

for (const stage of selected) {
  step(`Stage: ${stage.title}`)
  start = performance.now()
  for (const [command, args] of stage.commands()) {
    step(`$ ${[command.startsWith(root) ? command.slice(root.length + 1) : command, ...args].join(' ')}`)
    const code = await run(command, args).catch((error) => {
      console.error(error)
      return 1
    })
    if (code !== 0) {
      results.push({ status: 'FAILED', title: stage.title, time: elapsed(start) })
      summary()
      step(`FAILED at stage "${stage.name}" (exit code ${code}) after ${elapsed(total)}`)
      process.exit(code)
    }
  }
  results.push({ status: 'ok', title: stage.title, time: elapsed(start) })
}
summary()
step(`All ${selected.length} stage(s) passed in ${elapsed(total)}`)
