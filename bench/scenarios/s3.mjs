// S3 — server memory (RSS of the server process, read inside it after three full GCs; servers
// run with --expose-gc). Clients are the stock ones (y-websocket; HocuspocusProvider for
// Hocuspocus), in two client processes. Two fresh server processes per system and repetition:
//  - idle: RSS empty, then with 1,000 idle connections on one empty store.
//    per idle connection = (with connections − empty) / 1,000.
//  - loaded: RSS empty, then with 1,000 stores × 100 keys loaded, each through its own client
//    (still connected) 12 s after the last store loaded, then 3 s and 10 s after every client
//    disconnected. per loaded store = (loaded − empty) / 1,000 (includes that store's one
//    connection). Why 12 s: 1 s after the loading burst (recorded too, "1 s after loading")
//    every system's V8 still holds its young generation grown from 8 to 32 MiB (objects that
//    survive scavenges make V8 grow it), 24.6 KiB of each system's figure per store at 1,000
//    stores; V8 shrinks it only once allocation has been low for several seconds. At 12 s the
//    figure is what the stores and connections hold, in steady state.
//    "memory returned after disconnect" is read 10 s after the last client left (and also at
//    3 s): V8 shrinks its grown young generation (below) only once allocation over the last
//    ~5 s has been low, so at 3 s every system still holds it, whatever it freed.
// kvsync runs with idleUnloadMs = 1,000 (default 30 s) so unloading fits in the 3 s wait, and
// with hibernateAfterMs = 500 (KVSYNC_HIBERNATE_AFTER_MS, set for its server process only;
// default 10 s) so stores idle since they were loaded are hibernated already 1 s after the
// last one loaded and their hibernating is over long before the 12 s reading (with the
// default, stores hibernate 10–12.5 s after their last change, itself a burst of allocation);
// @y/websocket-server without persistence never unloads a document (stock behaviour);
// Hocuspocus unloads immediately (its default). Since hibernation already returns
// most of a store's memory while its client is connected, kvsync's "memory returned after
// disconnect" is a share of a smaller growth. Also recorded, to show where the growth is: the
// JS heap in use and V8's young generation (new space), per loaded store.
import { clientProc, startSystem } from '../lib/servers.mjs'

export const id = 'S3'
export const title = 'Server memory'
// 3 repetitions by default: each takes ~75 s (12 s and 10 s of settling per system).
export const fullReps = 3

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
            const burstMemory = await server.call('rss')
            await sleep(11_000)
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
            // which grows by the same amount in every system's process during the burst (a
            // fixed cost, not one of each store; see the header).
            const perStore = (memory, field) => (memory[field] - emptyMemory[field]) / stores / 1024
            ctx.record({ system, metric: 'of which JS heap in use, per loaded store', unit: 'KiB', better: 'lower', value: perStore(loadedMemory, 'heapUsed') })
            ctx.record({ system, metric: 'of which V8 young generation growth, per loaded store', unit: 'KiB', better: 'lower', value: perStore(loadedMemory, 'youngGeneration') })
            ctx.record({ system, metric: 'RSS per loaded store, 1 s after loading', unit: 'KiB', better: 'lower', value: perStore(burstMemory, 'rss') })
            ctx.record({ system, metric: 'of which V8 young generation growth, 1 s after loading', unit: 'KiB', better: 'lower', value: perStore(burstMemory, 'youngGeneration') })
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
