import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createSyncServer, silentLogger } from '@kvsync/sync-server'
import { afterEach, describe, expect, it, vi } from 'vitest'
import WebSocket from 'ws'
import { openStore, type OpenStoreOptions, type Store } from '../src/index.js'

// Durable acks end to end against the real createSyncServer (SQLite storage): whenSaved
// resolves only after the server acked, and what it acked survives a server restart.
const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function startServer(dataDir: string, port = 0) {
  const server = createSyncServer({ port, dataDir, logger: silentLogger, closeTimeoutMs: 200 })
  const address = await server.listen()
  return { server, url: address.url, port: address.port }
}

async function client(name: string, url: string): Promise<Store> {
  const store = await openStore(name, {
    url,
    persistence: 'memory',
    WebSocket: WebSocket as unknown as OpenStoreOptions['WebSocket'],
    backoff: { initialMs: 20, maxMs: 200 },
  })
  cleanups.push(() => store.close())
  return store
}

describe('durable acks from the real server', () => {
  it('whenSaved resolves once the SQLite commit is acked, and the data survives a restart', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'kvsync-acks-'))
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }))
    const first = await startServer(dataDir)
    const writer = await client('acks/real', first.url)
    await writer.whenSynced()
    await writer.set('a', 1)
    await writer.transact(() => {
      for (let i = 0; i < 50; i++) void writer.set(`k${i}`, i)
    })
    expect(writer.unsavedWrites).toBeGreaterThan(0)
    await writer.whenSaved()
    expect(writer.unsavedWrites).toBe(0)
    await writer.close()
    await first.server.close()

    const second = await startServer(dataDir, first.port)
    cleanups.push(() => second.server.close())
    const reader = await client('acks/real', second.url)
    await reader.whenSynced()
    await vi.waitFor(() => expect(reader.size).toBe(51))
    expect(reader.get('k49')).toBe(49)
  })
})
