import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createSyncServer, silentLogger } from '@kvsync/sync-server'
import { afterEach, describe, expect, it, vi } from 'vitest'
import WebSocket from 'ws'
import { openStore, type OpenStoreOptions, type Store } from '../src/index.js'
import { FilePersistence } from '../src/node.js'
import { openNodeStore } from './node-store.js'

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

function client(name: string, url: string): Promise<Store> {
  return openNodeStore(name, { url, backoff: { initialMs: 20, maxMs: 200 } }, cleanups)
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

  it('a Node client with file persistence syncs over ws and keeps its data offline', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kvsync-node-client-'))
    cleanups.push(() => rm(dir, { recursive: true, force: true }))
    const { server, url } = await startServer(join(dir, 'server'))
    cleanups.push(() => server.close())
    const file = join(dir, 'client.kvsync')
    const options = { url, WebSocket: WebSocket as unknown as OpenStoreOptions['WebSocket'], backoff: { initialMs: 20, maxMs: 200 } }
    const first = await openStore('node/file', { ...options, persistence: await FilePersistence.open(file) })
    await first.whenSynced()
    await first.set('from-node', { ok: true })
    await first.whenSaved()
    await first.close()
    // Reopened without a server: the file alone has it.
    const offline = await openStore('node/file', { persistence: await FilePersistence.open(file) })
    expect(offline.get('from-node')).toEqual({ ok: true })
    await offline.close()
    // Another client gets it from the server.
    const other = await client('node/file', url)
    await other.whenSynced()
    await vi.waitFor(() => expect(other.get('from-node')).toEqual({ ok: true }))
  })
})
