// S1 — fan-out on one store: 1 writer, 10 and 50 readers.
// Clients: each server's stock client (y-websocket WebsocketProvider for kvsync and
// @y/websocket-server, HocuspocusProvider for Hocuspocus, a raw `ws` socket for the bare relay),
// so servers are compared on equal clients; then kvsync's own client on the kvsync server.
// The writer runs in one process, the readers in two others (half each); the server in a fourth.
// Every update is one write of key "seq" (one update message with stock clients; kvsync's own
// client sends the writes of one task as one update, so in the flood its 100 writes per turn
// reach readers as one message holding the last value; readers count every seq up to the one
// they see, so convergence is measured the same way). kvsync's server sends a kvsync client no
// echo of its own writes (stock clients still get theirs), so with kvsync's clients the writer
// receives nothing back; what is timed, writer → readers, is the same.
//  - flood: the writer issues N updates as fast as it can (100 per event-loop turn). Timed from
//    the first send to the moment the last reader has applied the last update (readers apply in
//    order, so that is convergence). Reported as N / that time, updates/s. Also reported: the
//    writer's own issue rate, N / (first send → last send), which convergence cannot exceed
//    (the writer shares its process with nothing, but its sends wait for its own event loop).
//  - paced: M updates at 100/s. Per update: from its send to the moment the slowest reader has
//    applied it. Reported as p50 and p99 over the M updates (ms).
import { percentile } from '../lib/stats.mjs'
import { clientProc, startSystem } from '../lib/servers.mjs'

export const id = 'S1'
export const title = 'Fan-out on one store: 1 writer, 10 and 50 readers'
// 3 repetitions by default (each takes minutes): 5 of everything does not fit in 20 minutes here.
export const fullReps = 3

const configs = [
  { system: 'kvsync', clients: 'y-websocket', label: '' },
  { system: 'y-websocket-server', clients: 'y-websocket', label: '' },
  { system: 'hocuspocus', clients: 'hocuspocus', label: '' },
  { system: 'ws-broadcast', clients: 'raw', label: '' },
  { system: 'kvsync', clients: 'kvsync', label: ' [kvsync clients]' },
]

export async function run(ctx) {
  const floodN = ctx.quick ? 500 : 5000
  const pacedN = ctx.quick ? 50 : 200
  const readerCounts = [10, 50]
  const procs = await Promise.all([clientProc('s1-client'), clientProc('s1-client'), clientProc('s1-client')])
  const [writerProc, ...readerProcs] = procs
  try {
    for (let rep = 0; rep < ctx.reps; rep++) {
      for (const readersTotal of readerCounts) {
        for (const config of configs) {
          await ctx.attempt(`${config.system}${config.label} ${readersTotal} readers`, async () => {
            const server = await startSystem(config.system)
            try {
              const store = `bench/s1-${rep}-${readersTotal}`
              const perProc = readersTotal / readerProcs.length
              await Promise.all(readerProcs.map((p) => p.call('openReaders', { kind: config.clients, url: server.url, store, count: perProc })))
              await writerProc.call('openWriter', { kind: config.clients, url: server.url, store })
              // Flood.
              const waits = readerProcs.map((p) => p.call('waitFor', { seq: floodN - 1, timeoutMs: 180_000 }, 200_000))
              const { t0, issued } = await writerProc.call('flood', { from: 0, n: floodN })
              const done = Math.max(...(await Promise.all(waits)))
              const metricBase = `flood ${floodN}, ${readersTotal} readers: converged updates/s`
              ctx.record({ system: config.system, metric: metricBase + config.label, baseMetric: metricBase, unit: 'updates/s', better: 'higher', value: floodN / ((done - t0) / 1000) })
              const issueBase = `flood ${floodN}, ${readersTotal} readers: writer's own issue rate (a ceiling, not a target)`
              ctx.record({ system: config.system, metric: issueBase + config.label, baseMetric: issueBase, unit: 'updates/s', better: 'higher', value: floodN / ((issued - t0) / 1000) })
              // Paced.
              await Promise.all(readerProcs.map((p) => p.call('reset', { from: floodN })))
              const sent = await writerProc.call('paced', { from: floodN, n: pacedN, rate: 100 })
              await Promise.all(readerProcs.map((p) => p.call('waitFor', { seq: floodN + pacedN - 1, timeoutMs: 60_000 }, 70_000)))
              const seen = await Promise.all(readerProcs.map((p) => p.call('seenTimes', { from: floodN, to: floodN + pacedN - 1 })))
              const latencies = sent.map((t, i) => Math.max(...seen.map((s) => s[i])) - t)
              for (const p of [50, 99]) {
                const metric = `paced 100/s, ${readersTotal} readers: p${p} latency writer→all readers`
                ctx.record({ system: config.system, metric: metric + config.label, baseMetric: metric, unit: 'ms', better: 'lower', value: percentile(latencies, p) })
              }
            } finally {
              await Promise.all(procs.map((p) => p.call('closeAll', {}).catch(() => {})))
              await server.stop()
            }
          })
        }
      }
    }
  } finally {
    await Promise.all(procs.map((p) => p.stop()))
  }
}
