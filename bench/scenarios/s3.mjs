// S3 — server memory (RSS of the server process, read inside it after three full GCs; servers
// run with --expose-gc). Clients are the stock ones (y-websocket; HocuspocusProvider for
// Hocuspocus), in two client processes. Two fresh server processes per system and repetition:
//  - idle: RSS empty, then with 1,000 idle connections on one empty store.
//    per idle connection = (with connections − empty) / 1,000.
//  - loaded: RSS empty, then with 1,000 stores × 100 keys loaded, each through its own client
//    (still connected), then 3 s and 10 s after every client disconnected.
//    per loaded store = (loaded − empty) / 1,000 (includes that store's one connection).
//    "memory returned after disconnect" is read 10 s after the last client left (and also at
//    3 s): V8 shrinks its grown young generation (below) only once allocation over the last
//    ~5 s has been low, so at 3 s every system still holds it, whatever it freed.
// kvsync runs with idleUnloadMs = 1,000 (default 30 s) so unloading fits in the 3 s wait, and
// with hibernateAfterMs = 500 (KVSYNC_HIBERNATE_AFTER_MS, set for its server process only;
// default 10 s) so stores idle since they were loaded are hibernated when RSS is read 1 s after
// the last one loaded (with the default that state is reached 10–12.5 s after a store's last
// change); @y/websocket-server without persistence never unloads a document (stock
// behaviour); Hocuspocus unloads immediately (its default). Since hibernation already returns
// most of a store's memory while its client is connected, kvsync's "memory returned after
// disconnect" is a share of a smaller growth. Also recorded, to show where the growth is: the
// JS heap in use and V8's young generation (new space), both per loaded store. The young
// generation grows from 8 to 32 MiB in every system's process during the load burst (objects
// that survive scavenges make V8 grow it) and shrinks only after seconds of low allocation, so
// about 24.6 KiB of each system's "per loaded store" at 1,000 stores is that one fixed cost.
import { clientProc, startSystem } from '../lib/servers.mjs'

export const id = 'S3'
export const title = 'Server memory'

const systems = [
  { system: 'kvsync', clients: 'y-websocket' },
  { system: 'y-websocket-server', clients: 'y-websocket' },
  { system: 'hocuspocus', clients: 'hocuspocus' },
]
const MiB = 2 ** 20
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** Starts `system` for S3; only kvsync's process sees KVSYNC_HIBERNATE_AFTER_MS (see the header). */
async function start(system) {
  if (system !== 'kvsync') return startSystem(system, { idleUnloadMs: 1000 })
  const before = process.env.KVSYNC_HIBERNATE_AFTER_MS
  process.env.KVSYNC_HIBERNATE_AFTER_MS = '500'
  try {
    return await startSystem(system, { idleUnloadMs: 1000 })
  } finally {
    if (before === undefined) delete process.env.KVSYNC_HIBERNATE_AFTER_MS
    else process.env.KVSYNC_HIBERNATE_AFTER_MS = before
  }
}

export async function run(ctx) {
  const stores = ctx.quick ? 100 : 1000
  const idleCount = ctx.quick ? 100 : 1000
  const procs = await Promise.all([clientProc('s3-client'), clientProc('s3-client')])
  const half = (n) => n / procs.length
  try {
    for (let rep = 0; rep < ctx.reps; rep++) {
      for (const { system, clients } of systems) {
        await ctx.attempt(`${system} idle`, async () => {
          const server = await start(system)
          try {
            await sleep(300)
            const empty = (await server.call('rss')).rss
            await Promise.all(procs.map((p) => p.call('idle', { kind: clients, url: server.url, store: 'bench/s3-idle', count: half(idleCount) })))
            await sleep(500)
            const idle = (await server.call('rss')).rss
            ctx.record({ system, metric: 'RSS empty', unit: 'MiB', better: 'lower', value: empty / MiB })
            ctx.record({ system, metric: `RSS with ${idleCount} idle connections (one store)`, unit: 'MiB', better: 'lower', value: idle / MiB })
            ctx.record({ system, metric: 'RSS per idle connection', unit: 'KiB', better: 'lower', value: (idle - empty) / idleCount / 1024 })
          } finally {
            await Promise.all(procs.map((p) => p.call('closeAll', {}).catch(() => {})))
            await server.stop()
          }
        })
        await ctx.attempt(`${system} loaded`, async () => {
          const server = await start(system)
          try {
            await sleep(300)
            const emptyMemory = await server.call('rss')
            const empty = emptyMemory.rss
            await Promise.all(procs.map((p, i) => p.call('loadStores', { kind: clients, url: server.url, prefix: 'bench/s3-', from: i * half(stores), count: half(stores), keys: 100 }, 300_000)))
            await sleep(1000)
            const loadedMemory = await server.call('rss')
            const loaded = loadedMemory.rss
            await Promise.all(procs.map((p) => p.call('closeAll', {})))
            await sleep(3000)
            const after = (await server.call('rss')).rss
            await sleep(7000)
            const later = (await server.call('rss')).rss
            ctx.record({ system, metric: `RSS with ${stores} stores × 100 keys, a client each`, unit: 'MiB', better: 'lower', value: loaded / MiB })
            ctx.record({ system, metric: 'RSS per loaded store', unit: 'KiB', better: 'lower', value: (loaded - empty) / stores / 1024 })
            // Where the growth is (not targets): live JS objects, and V8's young generation,
            // which grows by the same amount in every system's process (a fixed cost of the
            // burst, not of each store; see the header).
            ctx.record({ system, metric: 'of which JS heap in use, per loaded store', unit: 'KiB', better: 'lower', value: (loadedMemory.heapUsed - emptyMemory.heapUsed) / stores / 1024 })
            ctx.record({ system, metric: 'of which V8 young generation growth, per loaded store', unit: 'KiB', better: 'lower', value: (loadedMemory.youngGeneration - emptyMemory.youngGeneration) / stores / 1024 })
            const returned = (rss) => (100 * (loaded - rss)) / Math.max(1, loaded - empty)
            ctx.record({ system, metric: 'RSS 3 s after all disconnected', unit: 'MiB', better: 'lower', value: after / MiB })
            ctx.record({ system, metric: 'memory returned 3 s after disconnect (share of the loaded growth)', unit: '%', better: 'higher', value: returned(after) })
            ctx.record({ system, metric: 'RSS 10 s after all disconnected', unit: 'MiB', better: 'lower', value: later / MiB })
            ctx.record({ system, metric: 'memory returned after disconnect (share of the loaded growth)', unit: '%', better: 'higher', value: returned(later) })
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
