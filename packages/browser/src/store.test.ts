import { isKvsyncError } from '@kvsync/shared'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { openStore } from './open-store.js'
import type { Store } from './store.js'
import type { StoreEvent } from './subscriptions.js'

const open: Store[] = []
async function memoryStore(name = 'test/store'): Promise<Store> {
  const store = await openStore(name, { persistence: 'memory' })
  open.push(store)
  return store
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((store) => store.close()))
})

function thrown(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  return undefined
}

describe('Store', () => {
  it('reads its writes at once and resolves them once committed', async () => {
    const store = await memoryStore()
    const saved = store.set('theme', 'dark')
    expect(store.get('theme')).toBe('dark')
    await saved
    await store.set('n', 1)
    await store.delete('theme')
    expect(store.has('theme')).toBe(false)
    expect(store.keys()).toEqual(['n'])
    expect(store.entries()).toEqual([['n', 1]])
    expect(store.size).toBe(1)
  })

  it('gives writes of one task the same commit', async () => {
    const store = await memoryStore()
    const first = store.set('a', 1)
    const second = store.set('b', 2)
    expect(first).toBe(second)
    await first
  })

  it('throws a coded error for bad input and stores nothing', async () => {
    const store = await memoryStore()
    expect(isKvsyncError(thrown(() => store.set(42 as unknown as string, 1)), 'INVALID_KEY')).toBe(true)
    expect(isKvsyncError(thrown(() => store.set('k', (() => 1) as never)), 'INVALID_VALUE')).toBe(true)
    expect(isKvsyncError(thrown(() => store.set('k', undefined as never)), 'INVALID_VALUE')).toBe(true)
    expect(isKvsyncError(thrown(() => store.set('k', 1, { ttl: -5 })), 'INVALID_OPTION')).toBe(true)
    expect(store.keys()).toEqual([])
  })

  it('rejects an invalid store name and a bad url', async () => {
    await expect(openStore('../etc', { persistence: 'memory' })).rejects.toMatchObject({ code: 'INVALID_STORE_NAME' })
    await expect(openStore('ok', { persistence: 'memory', url: 'http://x' })).rejects.toMatchObject({ code: 'INVALID_OPTION' })
  })

  it('routes changes to key, prefix and catch-all subscribers', async () => {
    const store = await memoryStore()
    const byKey: StoreEvent[] = []
    const byPrefix: StoreEvent[] = []
    const all: StoreEvent[] = []
    store.subscribe('user/name', (event) => byKey.push(event))
    const off = store.subscribe({ prefix: 'user/' }, (event) => byPrefix.push(event))
    store.subscribe((event) => all.push(event))
    await store.set('user/name', 'ada')
    await store.set('user/age', 36)
    await store.set('other', true)
    off()
    await store.set('user/name', 'grace')
    expect(byKey.map((event) => event.value)).toEqual(['ada', 'grace'])
    expect(byKey[1]).toEqual({ key: 'user/name', value: 'grace', oldValue: 'ada', origin: 'local' })
    expect(byPrefix.map((event) => event.key)).toEqual(['user/name', 'user/age'])
    expect(all).toHaveLength(4)
  })

  it('applies a transaction as one batch', async () => {
    const store = await memoryStore()
    const events: StoreEvent[] = []
    store.subscribe((event) => events.push(event))
    await store.transact(() => {
      for (let i = 0; i < 100; i++) void store.set(`k${i}`, i)
    })
    expect(store.size).toBe(100)
    expect(events).toHaveLength(100)
    expect(store.keys({ prefix: 'k9' })).toEqual(['k9', 'k90', 'k91', 'k92', 'k93', 'k94', 'k95', 'k96', 'k97', 'k98', 'k99'])
  })

  it('refuses use after close with STORE_CLOSED', async () => {
    const store = await openStore('closing', { persistence: 'memory' })
    await store.close()
    await store.close()
    expect(isKvsyncError(thrown(() => store.get('a')), 'STORE_CLOSED')).toBe(true)
    expect(isKvsyncError(thrown(() => store.set('a', 1)), 'STORE_CLOSED')).toBe(true)
  })

  it('rejects whenSynced for a local-only store', async () => {
    const store = await memoryStore()
    await expect(store.whenSynced()).rejects.toMatchObject({ code: 'INVALID_OPTION' })
    expect(store.status).toBe('offline')
  })
})

describe('local-only sweeps', () => {
  it('turns expired entries into tombstones and drops old tombstones without a server', async () => {
    let now = 1_000_000
    const store = await openStore('sweep/local', { persistence: 'memory', now: () => now, sweepIntervalMs: 20, tombstoneRetentionMs: 1_000 })
    open.push(store)
    await store.set('session', 'token', { ttl: 50 })
    await store.set('gone', 1)
    await store.delete('gone')
    const stored = () => (store as unknown as { replica: { writer(): { entry(key: string): { tombstone: boolean } | undefined } } }).replica.writer()
    now += 100
    await vi.waitFor(() => expect(stored().entry('session')?.tombstone).toBe(true))
    expect(store.has('session')).toBe(false)
    now += 5_000
    await vi.waitFor(() => expect(stored().entry('gone')).toBeUndefined())
  })
})
