#!/usr/bin/env node
// CPU profile of the kvsync server under S2's paced load, for finding the server's cost per
// write: W kvsync writers (kvsync's own Node client, in P client processes) on W stores, each
// at R writes/s, N writes in all; the server runs in its own process with `node --cpu-prof`,
// and the profile is summarised per write (self and inclusive time, µs). Also prints the
// durable-ack latency (send → ack, as S2 measures it) over all N writes. Bounded: the writes
// take N / (W × R) seconds, collecting waits at most 60 s.
// It also reports the CPU time (/proc) of the server's threads and of the client process during
// the writes; with --no-prof the server runs without the profiler, for those figures alone.
//   node bench/profile-server.mjs [--writers 25] [--procs 1] [--writes 10000] [--rate 100] [--stores W] [--dir DIR] [--no-prof]
// S2's paced load itself, for longer: --writers 50 --procs 2 --writes 25000. --timeline prints
// the worst ack latency of each 250 ms of sends (stalls show as a few bad windows); --warmup M
// writes M paced writes first, neither timed nor counted; --flood F has each writer flood F
// writes first, as S2 does before its paced phase.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { runCleanups } from './lib/proc.mjs'
import { clientProc, startSystem } from './lib/servers.mjs'
import { inclusiveSummary, summarise } from './profile-summary.mjs'
import { durableLatencies } from './scenarios/s2.mjs'
import { percentile } from './lib/stats.mjs'

const { values } = parseArgs({ options: { writers: { type: 'string' }, writes: { type: 'string' }, procs: { type: 'string' }, rate: { type: 'string' }, stores: { type: 'string' }, dir: { type: 'string' }, 'no-prof': { type: 'boolean' }, timeline: { type: 'boolean' }, warmup: { type: 'string' }, flood: { type: 'string' } } })
const profiling = values['no-prof'] !== true
const writersTotal = Number(values.writers ?? 25)
const writes = Number(values.writes ?? 10_000)
const rate = Number(values.rate ?? 100)
const storeCount = Number(values.stores ?? writersTotal)
const procCount = Number(values.procs ?? 1)
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
  const procs = await Promise.all(Array.from({ length: procCount }, () => clientProc('s2-client')))
  try {
    const stores = Array.from({ length: writersTotal }, (_, i) => `bench/prof-${i % storeCount}`)
    const share = Math.ceil(writersTotal / procCount)
    await Promise.all(procs.map((proc, p) => proc.call('openWriters', { kind: 'kvsync', url: server.url, stores: stores.slice(p * share, (p + 1) * share), firstIndex: p * share + 1 })))
    const warmup = Math.ceil(Number(values.warmup ?? 0) / writersTotal)
    if (values.flood !== undefined) {
      await Promise.all(procs.map((proc) => proc.call('flood', { n: Number(values.flood) })))
      await Promise.all(procs.map((proc) => proc.call('collect', { timeoutMs: 60_000 }, 70_000)))
    }
    if (warmup > 0) {
      await Promise.all(procs.map((proc) => proc.call('paced', { n: warmup, rate })))
      await Promise.all(procs.map((proc) => proc.call('collect', { timeoutMs: 60_000 }, 70_000)))
    }
    const serverBefore = threadCpu(server.child.pid)
    const clientBefore = procs.map((proc) => threadCpu(proc.child.pid))
    // With --timeline: every 250 ms, the cores used by the server and by all client processes.
    const cpuWindows = []
    const totalCpu = (pid) => [...threadCpu(pid).values()].reduce((sum, ms) => sum + ms, 0)
    let last = [totalCpu(server.child.pid), procs.reduce((sum, proc) => sum + totalCpu(proc.child.pid), 0)]
    const sampler = values.timeline
      ? setInterval(() => {
          const next = [totalCpu(server.child.pid), procs.reduce((sum, proc) => sum + totalCpu(proc.child.pid), 0)]
          cpuWindows.push(next.map((ms, i) => (ms - (last[i] ?? 0)) / 250))
          last = next
        }, 250)
      : undefined
    await Promise.all(procs.map((proc) => proc.call('paced', { n: perWriter, rate })))
    const results = await Promise.all(procs.map((proc) => proc.call('collect', { timeoutMs: 60_000 }, 70_000)))
    clearInterval(sampler)
    const serverCpu = cpuDelta(serverBefore, threadCpu(server.child.pid))
    const clientCpu = procs.flatMap((proc, p) => cpuDelta(clientBefore[p], threadCpu(proc.child.pid)).map(([name, ms]) => [`p${p}:${name}`, ms]))
    const sends = results.flatMap((r) => r.sends)
    const { latencies, missing } = durableLatencies(sends, results.flatMap((r) => r.acks))
    process.stdout.write(`${sends.length} writes sent; send → durable ack: p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms, max ${percentile(latencies, 100).toFixed(1)} ms${missing > 0 ? `, ${missing} never acked` : ''}\n`)
    if (values.timeline) {
      const t0 = Math.min(...sends.map(([, , t]) => t))
      process.stdout.write(`first timed send at ${t0.toFixed(1)} ms (CLOCK_MONOTONIC, the clock of V8's profiles)\n`)
      const windows = new Map()
      sends.forEach(([, , t], i) => {
        const w = Math.floor((t - t0) / 250)
        windows.set(w, Math.max(windows.get(w) ?? 0, latencies[i] ?? 0))
      })
      process.stdout.write(`worst ack latency per 250 ms of sends: ${[...windows].sort((a, b) => a[0] - b[0]).map(([, ms]) => ms.toFixed(0)).join(' ')}\n`)
      process.stdout.write(`cores used per 250 ms (server+clients): ${cpuWindows.map(([server, clients]) => `${server.toFixed(2)}+${clients.toFixed(2)}`).join(' ')}\n`)
    }
    // Over the writes only (not start-up), from /proc, 10 ms resolution; profiling adds to it.
    for (const [who, cpu] of [['server', serverCpu], ['client processes', clientCpu]]) {
      const total = cpu.reduce((sum, [, ms]) => sum + ms, 0)
      const threads = cpu.sort((a, b) => b[1] - a[1]).map(([name, ms]) => `${name} ${((ms * 1000) / sends.length).toFixed(1)}`)
      process.stdout.write(`${who} CPU during the writes: ${((total * 1000) / sends.length).toFixed(1)} µs per write (threads: ${threads.join(', ')})\n`)
    }
    // The server's own counters (open mode: /metrics needs no token), per write.
    const metrics = await (await fetch(`${server.url.replace(/^ws/, 'http')}/metrics`)).text()
    for (const name of ['kvsync_messages_in_total', 'kvsync_bytes_in_total', 'kvsync_messages_out_total', 'kvsync_bytes_out_total', 'kvsync_broadcasts_total', 'kvsync_durable_acks_total', 'kvsync_persist_duration_seconds_count']) {
      const value = Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(metrics)?.[1])
      process.stdout.write(`${name}: ${value} (${(value / sends.length).toFixed(3)} per write)\n`)
    }
    await Promise.all(procs.map((proc) => proc.call('closeAll', {})))
  } finally {
    await Promise.all(procs.map((proc) => proc.stop()))
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
