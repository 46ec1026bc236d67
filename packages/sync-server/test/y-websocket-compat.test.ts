import { afterEach, describe, expect, it, vi } from 'vitest'
import { startServer, stockClient, tempDir } from './helpers.js'

const cleanups: Array<() => Promise<unknown> | void> = []

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})


describe('compatibility with stock y-websocket clients', () => {
  it('syncs two WebsocketProviders both ways and keeps the data across a restart', async () => {
    const dir = await tempDir()
    cleanups.push(dir.teardown)
    const first = await startServer({ dataDir: dir.value })
    cleanups.push(first.teardown)

    const a = stockClient(first.url, 'prefs/user-42', cleanups)
    const b = stockClient(first.url, 'prefs/user-42', cleanups)
    await vi.waitFor(() => expect(a.provider.synced && b.provider.synced).toBe(true))
    a.doc.getMap('kv').set('theme', 'dark')
    await vi.waitFor(() => expect(b.doc.getMap('kv').get('theme')).toBe('dark'))
    b.doc.getMap('kv').set('lang', 'de')
    await vi.waitFor(() => expect(a.doc.getMap('kv').get('lang')).toBe('de'))

    for (const { provider } of [a, b]) provider.destroy()
    await first.teardown()

    const second = await startServer({ dataDir: dir.value, port: first.port })
    cleanups.push(second.teardown)
    const c = stockClient(second.url, 'prefs/user-42', cleanups)
    await vi.waitFor(() => expect(c.provider.synced).toBe(true))
    expect(c.doc.getMap('kv').toJSON()).toEqual({ theme: 'dark', lang: 'de' })
  })

  it('shares awareness between stock clients', async () => {
    const { url, teardown } = await startServer()
    cleanups.push(teardown)
    const a = stockClient(url, 'room', cleanups)
    const b = stockClient(url, 'room', cleanups)
    a.provider.awareness.setLocalStateField('user', 'ada')
    await vi.waitFor(() => expect(b.provider.awareness.getStates().get(a.doc.clientID)).toEqual({ user: 'ada' }))
    a.provider.disconnect()
    await vi.waitFor(() => expect(b.provider.awareness.getStates().has(a.doc.clientID)).toBe(false))
  })
})
