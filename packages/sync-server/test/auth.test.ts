import { request } from 'node:http'
import { beforeAll, describe, expect, it, vi } from 'vitest'
import { WebSocket } from 'ws'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'
import { CloseCodes, MessageType } from '@kvsync/shared'
import { MemoryDocStorage, createSyncServer, silentLogger } from '../src/index.js'
import { serverFixtures } from './helpers.js'
import { SECRET, asymmetric, claims, hs256, keyPairs, tamper, unsigned } from './tokens.js'

const { cleanups, client, server } = serverFixtures({ auth: { secret: SECRET }, rejectGraceMs: 2_000 })

let keys: ReturnType<typeof keyPairs>
beforeAll(() => {
  keys = keyPairs()
})

const reader = { kvsync: { read: ['config/*', 'prefs/user-42'] } }
const writer = { kvsync: { write: ['prefs/user-42'], read: ['config/*'] } }
const admin = { kvsync: { write: ['**'] } }

function httpGet(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }))
    })
    req.on('error', reject)
    req.end()
  })
}

describe('WebSocket auth rejections', () => {
  const now = Date.now()
  const cases: Array<[string, () => string, number]> = [
    ['no token', () => '', CloseCodes.unauthorized.code],
    ['an empty token', () => '?token=', CloseCodes.unauthorized.code],
    ['a bad signature', () => `?token=${hs256(claims(admin), 'wrong-secret-wrong-secret-wrong!!')}`, CloseCodes.unauthorized.code],
    ['a tampered payload', () => `?token=${tamper(hs256(claims(reader)), claims(admin))}`, CloseCodes.unauthorized.code],
    ['an expired token', () => `?token=${hs256(claims({ ...admin, exp: Math.floor(now / 1000) - 60 }))}`, CloseCodes.unauthorized.code],
    ['a not-yet-valid token', () => `?token=${hs256(claims({ ...admin, nbf: Math.floor(now / 1000) + 600 }))}`, CloseCodes.unauthorized.code],
    ['alg none', () => `?token=${unsigned(claims(admin))}`, CloseCodes.unauthorized.code],
    ['a wrong algorithm (RS256 against a secret)', () => `?token=${asymmetric('RS256', claims(admin), keys.rsa.privateKey)}`, CloseCodes.unauthorized.code],
    ['HS512', () => `?token=${hs256(claims(admin), SECRET, { alg: 'HS512' })}`, CloseCodes.unauthorized.code],
    ['a malformed token', () => '?token=not.a.jwt', CloseCodes.unauthorized.code],
    ['garbage', () => `?token=${encodeURIComponent('{"alg":"none"}')}`, CloseCodes.unauthorized.code],
    ['malformed claims', () => `?token=${hs256(claims({ kvsync: { read: ['a/**/b'] } }))}`, CloseCodes.unauthorized.code],
    ['two tokens', () => `?token=${hs256(claims(admin))}&token=${hs256(claims(admin))}`, CloseCodes.unauthorized.code],
    ['a token without the kvsync claim', () => `?token=${hs256(claims())}`, CloseCodes.forbidden.code],
  ]

  it.each(cases)('closes with the right code for %s', async (_name, query, code) => {
    const { url } = await server()
    const kvsync = client(`${url}/prefs/user-42${query()}`, { hello: true })
    expect((await kvsync.closed).code).toBe(code)
    // kvsync clients (hello first) learn the reason as a coded error before the close.
    expect(kvsync.errors.map((error) => error.code)).toEqual([code === CloseCodes.forbidden.code ? 'FORBIDDEN' : 'UNAUTHORIZED'])
    const stock = client(`${url}/prefs/user-42${query()}`)
    expect((await stock.closed).code).toBe(code)
    expect(stock.errors).toEqual([])
  })

  it('closes with 4403 for a store outside the read patterns and never loads it', async () => {
    const storage = new MemoryDocStorage()
    const { url, server: running } = await server({ storage })
    const token = hs256(claims(reader))
    for (const store of ['prefs/user-43', 'config', 'config/prod/eu', 'secret']) {
      const raw = client(`${url}/${store}?token=${token}`, { hello: true })
      expect((await raw.closed).code).toBe(CloseCodes.forbidden.code)
      expect(raw.errors[0]?.code).toBe('FORBIDDEN')
    }
    expect(running.stats().loadedStores).toBe(0)
  })

  it('closes without waiting when a stock client sends its first frame', async () => {
    const { url } = await server({ rejectGraceMs: 60_000 })
    const stock = client(`${url}/prefs/user-42`)
    expect((await stock.closed).code).toBe(CloseCodes.unauthorized.code)
  })

  it('accepts a token in the Authorization header of the upgrade', async () => {
    const { url } = await server()
    const raw = client(`${url}/prefs/user-42`, { headers: { Authorization: `Bearer ${hs256(claims(writer))}` } })
    await vi.waitFor(() => expect(raw.synced).toBe(true))
    const basic = client(`${url}/prefs/user-42`, { headers: { Authorization: 'Basic dXNlcjpwYXNz' } })
    expect((await basic.closed).code).toBe(CloseCodes.unauthorized.code)
  })

  it('accepts RS256 and ES256 tokens with a public key, and refuses HS256 keyed with it', async () => {
    for (const [alg, pair] of [['RS256', keys.rsa], ['ES256', keys.ec]] as const) {
      const { url } = await server({ auth: { publicKey: pair.publicPem } })
      const ok = client(`${url}/prefs/user-42?token=${asymmetric(alg, claims(writer), pair.privateKey)}`)
      await vi.waitFor(() => expect(ok.synced).toBe(true))
      const confused = client(`${url}/prefs/user-42?token=${hs256(claims(admin), pair.publicPem)}`)
      expect((await confused.closed).code).toBe(CloseCodes.unauthorized.code)
      const other = client(`${url}/prefs/user-42?token=${asymmetric('ES256', claims(admin), keys.otherEc.privateKey)}`)
      expect((await other.closed).code).toBe(CloseCodes.unauthorized.code)
    }
  })

  it('closes a connection with 4401 when its token expires', async () => {
    let now = Date.now()
    const { url } = await server({ auth: { secret: SECRET, leewaySeconds: 0, now: () => now } })
    const exp = now / 1000 + 0.2
    const raw = client(`${url}/prefs/user-42?token=${hs256(claims({ ...writer, exp }, now))}`, { hello: true })
    await vi.waitFor(() => expect(raw.synced).toBe(true))
    now += 250
    expect((await raw.closed).code).toBe(CloseCodes.unauthorized.code)
    expect(raw.errors[0]).toMatchObject({ code: 'UNAUTHORIZED', message: 'the token has expired' })
  })
})

describe('read-only access', () => {
  it('syncs a reader, refuses its writes with FORBIDDEN and never applies them', async () => {
    const storage = new MemoryDocStorage()
    const { url } = await server({ storage })
    const owner = client(`${url}/prefs/user-42?token=${hs256(claims(writer))}`, { hello: true })
    await vi.waitFor(() => expect(owner.synced).toBe(true))
    owner.map.set('theme', 'dark')
    await vi.waitFor(() => expect(owner.allAcked).toBe(true))

    const readOnly = client(`${url}/prefs/user-42?token=${hs256(claims(reader))}`, { hello: true })
    await vi.waitFor(() => expect(readOnly.map.get('theme')).toBe('dark'))
    readOnly.map.set('theme', 'hacked')
    readOnly.map.delete('theme')
    await vi.waitFor(() => expect(readOnly.errors.map((error) => error.code)).toEqual(['FORBIDDEN', 'FORBIDDEN']))
    expect(readOnly.socket.readyState).toBe(WebSocket.OPEN)

    // A marker written after the refused writes arrives; the refused writes never do.
    owner.map.set('marker', 1)
    const check = client(`${url}/prefs/user-42?token=${hs256(claims(writer))}`)
    await vi.waitFor(() => expect(check.map.get('marker')).toBe(1))
    expect(check.map.get('theme')).toBe('dark')
    const stored = new Y.Doc()
    for (const update of await storage.loadUpdates('prefs/user-42')) Y.applyUpdate(stored, update)
    expect(stored.getMap('kv').toJSON()).toEqual({ theme: 'dark', marker: 1 })
  })

  it('refuses a non-empty sync step 2 from a reader', async () => {
    const { url } = await server()
    const readOnly = client(`${url}/config/prod?token=${hs256(claims(reader))}`, { hello: true, sendStep1: false })
    readOnly.map.set('sneaky', true)
    await vi.waitFor(() => expect(readOnly.errors.map((error) => error.code)).toContain('FORBIDDEN'))
    const check = client(`${url}/config/prod?token=${hs256(claims(admin))}`)
    await vi.waitFor(() => expect(check.synced).toBe(true))
    expect(check.map.has('sneaky')).toBe(false)
  })

  it('lets a stock y-websocket client sync read-only, across a reconnect with deletions', async () => {
    const { url } = await server()
    const owner = client(`${url}/config/prod?token=${hs256(claims(admin))}`, { hello: true })
    await vi.waitFor(() => expect(owner.synced).toBe(true))
    owner.map.set('a', 1)
    owner.map.set('a', 2)
    owner.map.delete('a')
    owner.map.set('b', 3)
    await vi.waitFor(() => expect(owner.allAcked).toBe(true))

    const doc = new Y.Doc()
    const provider = new WebsocketProvider(url, 'config/prod', doc, {
      WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
      disableBc: true,
      params: { token: hs256(claims(reader)) },
    })
    cleanups.push(() => provider.destroy())
    await vi.waitFor(() => expect(provider.synced && doc.getMap('kv').get('b') === 3).toBe(true))
    provider.disconnect()
    owner.map.set('c', 4)
    provider.connect()
    // Its step 2 now carries the deletions it knows: accepted, since it adds nothing.
    await vi.waitFor(() => expect(doc.getMap('kv').toJSON()).toEqual({ b: 3, c: 4 }))
    expect(provider.wsconnected).toBe(true)
  })
})

describe('HTTP Bearer auth on /metrics', () => {
  it.each([
    ['no Authorization header', {}, 401],
    ['a Basic header', { Authorization: 'Basic dXNlcjpwYXNz' }, 401],
    ['an empty Bearer', { Authorization: 'Bearer ' }, 401],
    ['a bad signature', { Authorization: `Bearer ${hs256(claims({ kvsync: { metrics: true } }), 'x'.repeat(40))}` }, 401],
    ['alg none', { Authorization: `Bearer ${unsigned(claims({ kvsync: { metrics: true } }))}` }, 401],
    ['an expired token', { Authorization: `Bearer ${hs256({ exp: 1, kvsync: { metrics: true } })}` }, 401],
    ['a token without the metrics claim', { Authorization: `Bearer ${hs256(claims(admin))}` }, 403],
    ['a metrics token', { Authorization: `Bearer ${hs256(claims({ kvsync: { metrics: true } }))}` }, 200],
  ])('answers %s with %i', async (_name, headers, status) => {
    const { port } = await server()
    const response = await httpGet(port, '/metrics', headers as Record<string, string>)
    expect(response.status).toBe(status)
    if (status === 200) expect(response.body).toContain('kvsync_connections')
    else expect(response.body).not.toContain('kvsync_connections')
  })

  it('does not take HTTP tokens from the query string', async () => {
    const { port } = await server()
    expect((await httpGet(port, `/metrics?token=${hs256(claims({ kvsync: { metrics: true } }))}`)).status).toBe(401)
  })

  it('keeps /healthz and /readyz open for probes', async () => {
    const { port } = await server()
    expect((await httpGet(port, '/healthz')).status).toBe(200)
    expect((await httpGet(port, '/readyz')).status).toBe(200)
  })
})

describe('open mode', () => {
  it('refuses a non-loopback host without auth unless insecure', async () => {
    expect(() => createSyncServer({ host: '0.0.0.0', port: 0, logger: silentLogger })).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }))
    expect(() => createSyncServer({ host: '::', port: 0, logger: silentLogger })).toThrow(/without auth/)
    const insecure = createSyncServer({ host: '0.0.0.0', port: 0, logger: silentLogger, insecure: true })
    await insecure.listen()
    await insecure.close()
    const withAuth = createSyncServer({ host: '0.0.0.0', port: 0, logger: silentLogger, auth: { secret: SECRET } })
    await withAuth.listen()
    await withAuth.close()
  })

  it('refuses a secret shorter than 32 bytes', () => {
    expect(() => createSyncServer({ port: 0, logger: silentLogger, auth: { secret: 'short' } })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }))
  })

  it('warns that it is open when it starts', async () => {
    const lines: string[] = []
    const logger = { ...silentLogger, warn: (message: string) => lines.push(message) }
    const open = createSyncServer({ port: 0, logger })
    await open.listen()
    await open.close()
    expect(lines.join('\n')).toMatch(/open mode/)
  })

  it('never sends kvsync messages to a client that did not say hello', async () => {
    const { url } = await server()
    const stock = client(`${url}/prefs/user-42?token=${hs256(claims(reader))}`)
    await vi.waitFor(() => expect(stock.synced).toBe(true))
    stock.map.set('x', 1)
    const check = client(`${url}/prefs/user-42?token=${hs256(claims(reader))}`)
    await vi.waitFor(() => expect(check.synced).toBe(true))
    expect(stock.received.every((message) => message.type < MessageType.hello)).toBe(true)
  })
})
