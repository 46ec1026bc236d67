// S4 — convergence after a partition: 20 clients (10 in each of two client processes) each make
// 500 offline edits (one transaction each; every fifth edit hits one of 50 shared keys), then
// all reconnect at once (their sockets were held closed until then). Timed from the moment the
// gates open to the moment the last replica holds every client's final values (it has applied
// all 10,000 edits), ms. Clients: kvsync's own for kvsync; stock clients for the anchors. After
// convergence the shared keys are compared across replicas; a mismatch is reported.
import { clientProc, startSystem } from '../lib/servers.mjs'

export const id = 'S4'
export const title = 'Convergence after a partition'

const systems = [
  { system: 'kvsync', clients: 'kvsync' },
  { system: 'y-websocket-server', clients: 'y-websocket' },
  { system: 'hocuspocus', clients: 'hocuspocus' },
]

export async function run(ctx) {
  const clientsTotal = ctx.quick ? 6 : 20
  const edits = ctx.quick ? 100 : 500
  const procs = await Promise.all([clientProc('s4-client'), clientProc('s4-client')])
  const all = Array.from({ length: clientsTotal }, (_, c) => c)
  try {
    for (let rep = 0; rep < ctx.reps; rep++) {
      for (const { system, clients } of systems) {
        await ctx.attempt(system, async () => {
          const server = await startSystem(system)
          try {
            const store = `bench/s4-${rep}`
            const half = clientsTotal / 2
            await Promise.all(procs.map((p, i) => p.call('prepare', { kind: clients, url: server.url, store, indices: all.slice(i * half, (i + 1) * half), all, edits })))
            const starts = await Promise.all(procs.map((p) => p.call('go', {})))
            const results = await Promise.all(procs.map((p) => p.call('wait', { timeoutMs: 120_000 }, 130_000)))
            const done = results.flatMap((r) => r.doneAt)
            if (done.some((t) => t === null)) throw new Error(`${done.filter((t) => t === null).length} replicas did not converge within 120 s`)
            const shared = new Set(results.flatMap((r) => r.shared))
            if (shared.size !== 1) ctx.note(`${system}: replicas disagree on shared keys after convergence (${shared.size} versions)`)
            ctx.record({ system, metric: `${clientsTotal} clients × ${edits} offline edits: reconnect → all replicas equal`, unit: 'ms', better: 'lower', value: Math.max(...done) - Math.min(...starts) })
          } finally {
            await Promise.all(procs.map((p) => p.call('closeAll', {}).catch(() => {})))
            await server.stop()
          }
        })
      }
    }
  } finally {
    await Promise.all(procs.map((p) => p.stop()))
  }
}
