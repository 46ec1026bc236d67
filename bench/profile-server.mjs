#!/usr/bin/env node
// CPU profile of the kvsync server under S2's paced load, for finding the server's cost per
// write: W kvsync writers (kvsync's own Node client, one client process) on W stores, each at
// R writes/s, N writes in all; the server runs in its own process with `node --cpu-prof`, and
// the profile is summarised per write (self and inclusive time, µs). Bounded: the writes take
// N / (W × R) seconds, collecting waits at most 60 s.
// It also reports the CPU time (/proc) of the server's threads and of the client process during
// the writes; with --no-prof the server runs without the profiler, for those figures alone.
//   node bench/profile-server.mjs [--writers 25] [--writes 10000] [--rate 100] [--stores W] [--dir DIR] [--no-prof]
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { runCleanups } from './lib/proc.mjs'
import { clientProc, startSystem } from './lib/servers.mjs'
import { inclusiveSummary, summarise } from './profile-summary.mjs'

const { values } = parseArgs({ options: { writers: { type: 'string' }, writes: { type: 'string' }, rate: { type: 'string' }, stores: { type: 'string' }, dir: { type: 'string' }, 'no-prof': { type: 'boolean' } } })
const profiling = values['no-prof'] !== true
const writersTotal = Number(values.writers ?? 25)
const writes = Number(values.writes ?? 10_000)
const rate = Number(values.rate ?? 100)
const storeCount = Number(values.stores ?? writersTotal)
const dir = values.dir ?? mkdtempSync(join(tmpdir(), 'kvsync-server-prof-'))
const perWriter = Math.ceil(writes / writersTotal)

/**
 * CPU time (user + system, ms) of each thread of process `pid`, by thread name, from /proc
 * (Linux): the profiler counts a thread blocked in fsync as busy, /proc counts only CPU.
 */
function threadCpu(pid) {
  const ticks = 100 // USER_HZ on Linux
  const out = new Map()
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim()
      // Node names none of its threads; the main thread's id is the process id.
      const name = String(tid) === String(pid) ? 'main' : `${comm}#${tid}`
      const fields = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ')
      const ms = ((Number(fields[11]) + Number(fields[12])) * 1000) / ticks
      out.set(name, (out.get(name) ?? 0) + ms)
    } catch {
      // The thread ended meanwhile.
    }
  }
  return out
}

function cpuDelta(before, after) {
  return [...after].map(([name, ms]) => [name, ms - (before.get(name) ?? 0)]).filter(([, ms]) => ms > 0)
}

try {
  const server = await startSystem('kvsync', profiling ? { cpuProfDir: dir } : {})
  const proc = await clientProc('s2-client')
  try {
    const stores = Array.from({ length: writersTotal }, (_, i) => `bench/prof-${i % storeCount}`)
    await proc.call('openWriters', { kind: 'kvsync', url: server.url, stores, firstIndex: 1 })
    const serverBefore = threadCpu(server.child.pid)
    const clientBefore = threadCpu(proc.child.pid)
    await proc.call('paced', { n: perWriter, rate })
    const { sends, acks } = await proc.call('collect', { timeoutMs: 60_000 }, 70_000)
    const serverCpu = cpuDelta(serverBefore, threadCpu(server.child.pid))
    const clientCpu = cpuDelta(clientBefore, threadCpu(proc.child.pid))
    process.stdout.write(`${sends.length} writes sent, ${acks.length} ack entries\n`)
    // Over the writes only (not start-up), from /proc, 10 ms resolution; profiling adds to it.
    for (const [who, cpu] of [['server', serverCpu], ['client process', clientCpu]]) {
      const total = cpu.reduce((sum, [, ms]) => sum + ms, 0)
      const threads = cpu.sort((a, b) => b[1] - a[1]).map(([name, ms]) => `${name} ${((ms * 1000) / sends.length).toFixed(1)}`)
      process.stdout.write(`${who} CPU during the writes: ${((total * 1000) / sends.length).toFixed(1)} µs per write (threads: ${threads.join(', ')})\n`)
    }
    // The server's own counters (open mode: /metrics needs no token), per write.
    const metrics = await (await fetch(`${server.url.replace(/^ws/, 'http')}/metrics`)).text()
    for (const name of ['kvsync_messages_in_total', 'kvsync_messages_out_total', 'kvsync_broadcasts_total', 'kvsync_durable_acks_total', 'kvsync_persist_duration_seconds_count']) {
      const value = Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(metrics)?.[1])
      process.stdout.write(`${name}: ${value} (${(value / sends.length).toFixed(3)} per write)\n`)
    }
    await proc.call('closeAll', {})
  } finally {
    await proc.stop()
    await server.stop()
  }
  if (profiling) {
    // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile: thread 0 is the main thread, the others
    // the SQLite thread (they share the machine's cores, so their CPU counts too).
    const files = readdirSync(dir).filter((name) => name.endsWith('.cpuprofile'))
    const main = files.find((name) => /\.0\.\d+\.cpuprofile$/.test(name))
    if (main === undefined) throw new Error(`no main-thread profile written to ${dir}`)
    const per = writersTotal * perWriter
    const profile = JSON.parse(readFileSync(join(dir, main), 'utf8'))
    process.stdout.write(`main thread: ${join(dir, main)}\n${summarise(profile)}\n${inclusiveSummary(profile, { per })}\n`)
    for (const other of files.filter((name) => name !== main)) {
      const busy = inclusiveSummary(JSON.parse(readFileSync(join(dir, other), 'utf8')), { per, rows: 0 }).split('\n')[0]
      process.stdout.write(`other thread ${join(dir, other)}: ${busy}\n`)
    }
  }
} finally {
  await runCleanups()
}
