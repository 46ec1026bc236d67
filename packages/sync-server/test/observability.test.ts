import { request } from 'node:http'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { CloseCodes } from '@kvsync/shared'
import type { DocStorage } from '@kvsync/shared'
import { MemoryDocStorage, createLogger, silentLogger } from '../src/index.js'
import { RawClient, startServer, updateFrame } from './helpers.js'

const cleanups: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

function get(port: number, path: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body: Buffer.concat(chunks).toString('utf8') }))
    })
    req.on('error', reject)
    req.end()
  })
}

describe('metrics and probes', () => {
  it('exposes connections, stores, traffic, persistence latency and errors by code', async () => {
    const { url, port, teardown } = await startServer()
    cleanups.push(teardown)
    const a = new RawClient(`${url}/m/one`, { hello: true })
    cleanups.push(() => a.close())
    await vi.waitFor(() => expect(a.synced).toBe(true))
    a.map.set('k', 'v')
    await vi.waitFor(() => expect(a.allAcked).toBe(true))
    const bad = new RawClient(`${url}/m/two`)
    await vi.waitFor(() => expect(bad.synced).toBe(true))
    bad.send(updateFrame(Uint8Array.of(9, 9, 9)))
    expect((await bad.closed).code).toBe(CloseCodes.protocolError.code)

    const response = await get(port, '/metrics')
    expect(response.status).toBe(200)
    expect(response.type).toMatch(/^text\/plain; version=0\.0\.4/)
    const text = response.body
    expect(text).toMatch(/^kvsync_connections 1$/m)
    expect(text).toMatch(/^kvsync_loaded_stores 2$/m)
    expect(text).toMatch(/^kvsync_updates_in_total [1-9]\d*$/m)
    expect(text).toMatch(/^kvsync_bytes_in_total [1-9]\d*$/m)
    expect(text).toMatch(/^kvsync_bytes_out_total [1-9]\d*$/m)
    expect(text).toMatch(/^kvsync_durable_acks_total [1-9]\d*$/m)
    expect(text).toMatch(/^kvsync_persist_duration_seconds_count [1-9]\d*$/m)
    expect(text).toMatch(/^kvsync_persist_duration_seconds_bucket\{le="\+Inf"\} [1-9]\d*$/m)
    expect(text).toMatch(/^kvsync_errors_total\{code="PROTOCOL_ERROR"\} 1$/m)
    expect(text).toMatch(/^process_resident_memory_bytes \d+$/m)
  })

  it('answers /readyz with 200 while serving', async () => {
    const { port, teardown } = await startServer()
    cleanups.push(teardown)
    expect(await get(port, '/readyz')).toMatchObject({ status: 200 })
  })

  it('answers /readyz with 503 while storage writes fail, and 200 again once one succeeds', async () => {
    const storage = new MemoryDocStorage()
    let broken = false
    const flaky: DocStorage = {
      loadUpdates: (doc) => storage.loadUpdates(doc),
      appendUpdate: (doc, update) => (broken ? Promise.reject(new Error('disk full')) : storage.appendUpdate(doc, update)),
      compact: (doc, merged, count) => storage.compact(doc, merged, count),
      listDocs: () => storage.listDocs(),
      deleteDoc: (doc) => storage.deleteDoc(doc),
    }
    const { url, port, teardown } = await startServer({ storage: flaky, logger: silentLogger })
    cleanups.push(teardown)
    const a = new RawClient(`${url}/r/one`, { hello: true })
    cleanups.push(() => a.close())
    await vi.waitFor(() => expect(a.synced).toBe(true))
    broken = true
    a.map.set('k', 1)
    await vi.waitFor(async () => {
      const answer = await get(port, '/readyz')
      expect(answer.status).toBe(503)
      expect(JSON.parse(answer.body)).toMatchObject({ status: 'not ready', reason: expect.stringContaining('storage failing since') })
    })
    expect(a.allAcked).toBe(false)
    broken = false
    await vi.waitFor(async () => expect((await get(port, '/readyz')).status).toBe(200), { timeout: 15_000 })
    await vi.waitFor(() => expect(a.allAcked).toBe(true))
    expect((await storage.loadUpdates('r/one')).length).toBeGreaterThan(0)
  })
})

describe('structured logs', () => {
  it('writes one JSON object per line with level, message and fields, dropping lower levels', () => {
    const lines: string[] = []
    const logger = createLogger({ level: 'info', format: 'json', write: (line) => lines.push(line), now: () => Date.UTC(2030, 0, 1) })
    logger.debug('hidden')
    logger.info('refused a connection', { doc: 'a/b', code: 'FORBIDDEN' })
    logger.error('failed', { error: Object.assign(new Error('disk full'), { code: 'ENOSPC' }) })
    expect(lines.map((line) => JSON.parse(line) as unknown)).toEqual([
      { time: '2030-01-01T00:00:00.000Z', level: 'info', msg: 'refused a connection', doc: 'a/b', code: 'FORBIDDEN' },
      { time: '2030-01-01T00:00:00.000Z', level: 'error', msg: 'failed', error: { name: 'Error', message: 'disk full', code: 'ENOSPC' } },
    ])
  })

  it('writes text lines by default and never logs a token from the URL', async () => {
    const lines: string[] = []
    const logger = createLogger({ level: 'debug', write: (line) => lines.push(line) })
    const { url, teardown } = await startServer({ logger, auth: { secret: 'x'.repeat(32) }, rejectGraceMs: 0 })
    cleanups.push(teardown)
    const raw = new RawClient(`${url}/s?token=secret-token-value`)
    expect((await raw.closed).code).toBe(CloseCodes.unauthorized.code)
    expect(lines.some((line) => line.startsWith('[kvsync-server] info refused a connection'))).toBe(true)
    expect(lines.join('\n')).not.toContain('secret-token-value')
  })
})
