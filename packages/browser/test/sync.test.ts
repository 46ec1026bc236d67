import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { KV_ARRAY_NAME, KvRegister, decodeEntry, decodeValue } from '@kvsync/shared'
import { createSyncServer, silentLogger, type SyncServer } from '@kvsync/sync-server'
import { afterEach, describe, expect, it, vi } from 'vitest'
import WebSocket from 'ws'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'
import type { OpenStoreOptions, Store } from '../src/index.js'
import { openNodeStore } from './node-store.js'

// Real server on loopback, real WebSockets (ws), memory persistence on the clients.
const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function server(dataDir?: string, port = 0, sweepIntervalMs?: number): Promise<{ server: SyncServer; url: string; port: number }> {
  const instance = createSyncServer({ port, logger: silentLogger, closeTimeoutMs: 200, ...(dataDir ? { dataDir } : {}), ...(sweepIntervalMs ? { sweepIntervalMs } : {}) })
  const address = await instance.listen()
  cleanups.push(() => instance.close())
  return { server: instance, url: address.url, port: address.port }
}

function client(name: string, url: string, extra: OpenStoreOptions = {}): Promise<Store> {
  return openNodeStore(name, { url, backoff: { initialMs: 20, maxMs: 200 }, ...extra }, cleanups)
}

describe('sync through the server', () => {
  it('carries writes between two clients live', async () => {
    const { url } = await server()
    const a = await client('shared/doc', url)
    const b = await client('shared/doc', url)
    await Promise.all([a.whenSynced(), b.whenSynced()])
    expect(a.status).toBe('synced')
    const seen: unknown[] = []
    b.subscribe('greeting', (event) => seen.push(event.value))
    await a.set('greeting', 'hello')
    await vi.waitFor(() => expect(b.get('greeting')).toBe('hello'))
    expect(seen).toEqual(['hello'])
    await b.delete('greeting')
    await vi.waitFor(() => expect(a.has('greeting')).toBe(false))
  })

  it('merges edits made while one side was disconnected', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'kvsync-browser-'))
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }))
    const first = await server(dataDir)
    const a = await client('offline/merge', first.url)
    await a.whenSynced()
    await a.set('before', 1)
    await first.server.close()
    await vi.waitFor(() => expect(a.status).not.toBe('synced'))
    await a.set('while-down', 2)
    const second = await server(dataDir, first.port)
    await vi.waitFor(() => expect(a.status).toBe('synced'))
    const b = await client('offline/merge', second.url)
    await b.whenSynced()
    await vi.waitFor(() => expect(b.entries()).toEqual([['before', 1], ['while-down', 2]]))
  })

  it('interoperates with a stock y-websocket provider both ways', async () => {
    const { url } = await server()
    const ours = await client('stock/compat', url)
    await ours.whenSynced()
    await ours.set('from-kvsync', { ok: true })

    const stockDoc = new Y.Doc()
    const provider = new WebsocketProvider(url, 'stock/compat', stockDoc, { WebSocketPolyfill: WebSocket as never, disableBc: true })
    cleanups.push(() => {
      provider.destroy()
      stockDoc.destroy()
    })
    await vi.waitFor(() => expect(provider.synced).toBe(true))
    // The stock client sees our entry in the plain Y.Array and can decode it with the shared codec.
    const stockArray = stockDoc.getArray<Uint8Array>(KV_ARRAY_NAME)
    await vi.waitFor(() => {
      const entries = stockArray.toArray().map((bytes) => decodeEntry(bytes, 0))
      const ours = entries.find((entry) => entry?.key === 'from-kvsync')
      expect(ours?.value && decodeValue(ours.value)).toEqual({ ok: true })
    })
    // A plain Y.Doc writing through our register's format reaches our client.
    const stockRegister = new KvRegister(stockDoc)
    stockRegister.set('from-stock', 42)
    await vi.waitFor(() => expect(ours.get('from-stock')).toBe(42))
    stockRegister.destroy()
  })

  it('fails over to the next URL when the first is unreachable', async () => {
    const { url } = await server()
    const dead = await server()
    await dead.server.close()
    const store = await client('failover/x', [dead.url, url] as never)
    await store.whenSynced()
    expect(store.status).toBe('synced')
  })

  it('has the server sweep expired entries into tombstones that reach every client', async () => {
    const { url } = await server(undefined, 0, 25)
    const writer = await client('ttl/sweep', url)
    const reader = await client('ttl/sweep', url)
    await Promise.all([writer.whenSynced(), reader.whenSynced()])
    const expired: string[] = []
    reader.subscribe((event) => {
      if (event.origin === 'expired') expired.push(event.key)
    })
    // Long enough for the reader to see the value first on a loaded machine.
    await writer.set('session', 'token', { ttl: 1_000 })
    await writer.set('keep', 'forever')
    await vi.waitFor(() => expect(reader.get('session')).toBe('token'))
    await vi.waitFor(() => expect(expired).toEqual(['session']), { timeout: 5_000 })
    expect(reader.get('session')).toBeUndefined()
    // The sweep's tombstone replaces the value in every replica's document.
    const observer = new Y.Doc()
    const provider = new WebsocketProvider(url, 'ttl/sweep', observer, { WebSocketPolyfill: WebSocket as never, disableBc: true })
    cleanups.push(() => {
      provider.destroy()
      observer.destroy()
    })
    const view = new KvRegister(observer)
    cleanups.push(() => view.destroy())
    await vi.waitFor(() => expect(view.entry('session')?.tombstone).toBe(true))
    expect(view.get('keep')).toBe('forever')
  })
})
