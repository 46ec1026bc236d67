import { clientProc, startSystem } from './lib/servers.mjs'
import { runCleanups } from './lib/proc.mjs'
import { percentile } from './lib/stats.mjs'
import { durableLatencies } from './scenarios/s2.mjs'
const procs = await Promise.all([clientProc('s2-client'), clientProc('s2-client')])
try {
  const server = await startSystem('kvsync')
  const stores = Array.from({ length: 50 }, () => 'bench/one')
  await Promise.all(procs.map((p, i) => p.call('openWriters', { kind: 'kvsync', url: server.url, stores: stores.slice(i * 25, (i + 1) * 25), firstIndex: i * 25 + 1 })))
  await Promise.all(procs.map((p) => p.call('paced', { n: 100, rate: 100 })))
  await Promise.all(procs.map((p) => p.call('collect', { timeoutMs: 60_000 }, 70_000)))
  const n = Number(process.env.N ?? 300)
  await Promise.all(procs.map((p) => p.call('paced', { n, rate: 100 })))
  const results = await Promise.all(procs.map((p) => p.call('collect', { timeoutMs: 60_000 }, 70_000)))
  const { latencies } = durableLatencies(results.flatMap((r) => r.sends), results.flatMap((r) => r.acks))
  console.log('paced p50', percentile(latencies, 50).toFixed(1), 'p99', percentile(latencies, 99).toFixed(1))
  await Promise.all(procs.map((p) => p.call('closeAll', {}).catch(() => {})))
  await server.stop()
} finally { await Promise.all(procs.map((p) => p.stop())); await runCleanups(); process.exit(0) }
