import { describe, expect, it, vi } from 'vitest'
import * as Y from 'yjs'
import { CloseCodes, KvsyncError } from '@kvsync/shared'
import type { DocStorage } from '@kvsync/shared'
import { MemoryDocStorage } from '../src/index.js'
import type { SyncServer, SyncServerInternals } from '../src/index.js'
import { isGlibc } from '../src/memory/malloc-trim.js'
import { RawClient, serverFixtures, updateFrame } from './helpers.js'

const { cleanups, client, server } = serverFixtures()

/** A memory storage that counts loads and can fail them. */
function countingStorage(): { storage: DocStorage; loads: string[]; failLoads: (fail: boolean) => void } {
  const inner = new MemoryDocStorage()
  const loads: string[] = []
  let fail = false
  const storage: DocStorage = {
    loadUpdates: async (doc) => {
      loads.push(doc)
      if (fail) throw new KvsyncError('STORAGE_FAILED', 'database offline')
      return inner.loadUpdates(doc)
    },
    appendUpdate: (doc, update) => inner.appendUpdate(doc, update),
    appendUpdates: (batch) => inner.appendUpdates(batch),
    compact: (doc, merged, count) => inner.compact(doc, merged, count),
    listDocs: () => inner.listDocs(),
    deleteDoc: (doc) => inner.deleteDoc(doc),
  }
  return { storage, loads, failLoads: (value) => (fail = value) }
}

describe('connection and document lifecycle', () => {
  it('loads a store once for connections that arrive together', async () => {
    const { storage, loads } = countingStorage()
    const { url } = await server({ storage })
    const clients = Array.from({ length: 5 }, () => client(`${url}/shared`))
    await vi.waitFor(() => expect(clients.every((raw) => raw.synced)).toBe(true))
    expect(loads).toEqual(['shared'])
  })

  it('closes with 4001 when the store cannot be loaded, and loads it on the next try', async () => {
    const { storage, failLoads } = countingStorage()
    const { url } = await server({ storage })
    failLoads(true)
    const failed = client(`${url}/flaky`)
    expect((await failed.closed).code).toBe(CloseCodes.storageUnavailable.code)
    failLoads(false)
    const retried = client(`${url}/flaky`)
    await vi.waitFor(() => expect(retried.synced).toBe(true))
  })

  it('keeps a store loaded while a connection remains and reloads it after an idle unload', async () => {
    const { storage, loads } = countingStorage()
    const { url, server: running } = await server({ storage, idleUnloadMs: 1 })
    const stays = client(`${url}/kept`)
    const leaves = new RawClient(`${url}/kept`)
    await vi.waitFor(() => expect(stays.synced && leaves.synced).toBe(true))
    await leaves.close()
    stays.map.set('still', 'here')
    const again = new RawClient(`${url}/kept`)
    await vi.waitFor(() => expect(again.map.get('still')).toBe('here'))
    expect(loads).toEqual(['kept'])
    await again.close()
    await stays.close()
    await vi.waitFor(() => expect(running.stats()).toEqual({ connections: 0, loadedStores: 0, hibernatedStores: 0 }))
    const later = client(`${url}/kept`)
    await vi.waitFor(() => expect(later.map.get('still')).toBe('here'))
    expect(loads).toEqual(['kept', 'kept'])
  })

  it('gives the memory of unloaded stores back to the system (malloc_trim on glibc), unless releaseFreedMemory is false', async () => {
    const trims = (running: SyncServer): number => Number(/^kvsync_memory_trims_total (\d+)$/m.exec((running as SyncServer & SyncServerInternals).metricsText())?.[1])
    const unloadOne = async (options: { releaseFreedMemory?: boolean }): Promise<SyncServer> => {
      const { url, server: running } = await server({ idleUnloadMs: 1, ...options })
      const raw = new RawClient(`${url}/trimmed`)
      await vi.waitFor(() => expect(raw.synced).toBe(true))
      await raw.close()
      await vi.waitFor(() => expect(running.stats().loadedStores).toBe(0))
      return running
    }
    const releasing = await unloadOne({})
    if (isGlibc()) await vi.waitFor(() => expect(trims(releasing)).toBeGreaterThanOrEqual(1))
    const keeping = await unloadOne({ releaseFreedMemory: false })
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(trims(keeping)).toBe(0)
  })

  it('drops a connection that stops answering pings', async () => {
    const { url } = await server({ pingIntervalMs: 20 })
    const silent = client(`${url}/ping`, { autoPong: false })
    const lively = client(`${url}/ping`)
    await vi.waitFor(() => expect(silent.synced && lively.synced).toBe(true))
    expect((await silent.closed).code).toBe(1006)
    expect(lively.socket.readyState).toBe(lively.socket.OPEN)
  })

  it('closes a connection that sends a frame above maxPayloadBytes with 1009', async () => {
    const { url } = await server({ maxPayloadBytes: 1024 })
    const a = client(`${url}/big`)
    await vi.waitFor(() => expect(a.synced).toBe(true))
    const writer = new Y.Doc()
    writer.getMap('kv').set('blob', 'x'.repeat(4096))
    a.send(updateFrame(Y.encodeStateAsUpdate(writer)))
    expect((await a.closed).code).toBe(1009)
  })
})
