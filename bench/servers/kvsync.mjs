// kvsync-server for the bench: createSyncServer with its defaults (SQLite in a temp data dir,
// synchronous=FULL, group commit), exactly what `kvsync-server --data DIR` runs.
//   --data DIR          data directory (required)
//   --idle-unload MS    idleUnloadMs (default: the server's default, 30 s)
//   KVSYNC_HIBERNATE_AFTER_MS   hibernateAfterMs, read like the CLI reads it (default: the
//                       server's default, 10 s); a scenario that sets it says so in its header
//   --probe             wrap the storage to record when each update became durable (S2): the
//                       commit time is taken right after the SQLite transaction returns; the
//                       update's (client, clock) range is decoded only when asked, after timing.
import { parseArgs } from 'node:util'
import { SqliteDocStorage, createSyncServer, silentLogger } from '@kvsync/sync-server'
import * as Y from 'yjs'
import { serve } from './common.mjs'

const { values } = parseArgs({ options: { data: { type: 'string' }, 'idle-unload': { type: 'string' }, probe: { type: 'boolean' } } })
const now = () => Number(process.hrtime.bigint()) / 1e6
let committed = []
let storage
if (values.probe) {
  const inner = new SqliteDocStorage({ dataDir: values.data })
  storage = {
    loadUpdates: (doc) => inner.loadUpdates(doc),
    async appendUpdate(doc, update) {
      await inner.appendUpdate(doc, update)
      committed.push([now(), [update]])
    },
    async appendUpdates(entries) {
      await inner.appendUpdates(entries)
      committed.push([now(), entries.map((e) => e.update)])
    },
    compact: (doc, merged, n) => inner.compact(doc, merged, n),
    close: () => inner.close(),
  }
  for (const optional of ['listDocs', 'deleteDoc']) if (typeof inner[optional] === 'function') storage[optional] = (...a) => inner[optional](...a)
}
const server = createSyncServer({
  host: '127.0.0.1',
  port: 0,
  ...(storage ? { storage } : { dataDir: values.data }),
  ...(values['idle-unload'] ? { idleUnloadMs: Number(values['idle-unload']) } : {}),
  ...(process.env.KVSYNC_HIBERNATE_AFTER_MS ? { hibernateAfterMs: Number(process.env.KVSYNC_HIBERNATE_AFTER_MS) } : {}),
  logger: silentLogger,
})
const { url } = await server.listen()
serve({
  url,
  close: async () => {
    await server.close()
    await storage?.close()
  },
  extra: {
    // [client, endClock, commitTime] per durable update since the last call.
    durable() {
      const out = []
      for (const [time, updates] of committed) {
        for (const update of updates) {
          for (const [client, clock] of Y.parseUpdateMeta(update).to) out.push([client, clock, time])
        }
      }
      committed = []
      return out
    },
  },
})
