import { mkdir, symlink, writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { resolveStaticPath } from '../src/http/static-files.js'
import { startServer, tempDir } from './helpers.js'

const cleanups: Array<() => Promise<unknown>> = []

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** A raw GET, so paths reach the server exactly as written (fetch would normalize `..`). */
function get(port: number, path: string, method = 'GET'): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

async function staticSite() {
  const outside = await tempDir('kvsync-outside-')
  const site = await tempDir('kvsync-static-')
  cleanups.push(outside.teardown, site.teardown)
  await writeFile(join(outside.value, 'secret.txt'), 'secret')
  await writeFile(join(site.value, 'index.html'), '<h1>kvsync</h1>')
  await writeFile(join(site.value, 'app.mjs'), 'export {}')
  await writeFile(join(site.value, 'manifest.webmanifest'), '{}')
  await mkdir(join(site.value, 'docs'))
  await writeFile(join(site.value, 'docs', 'index.html'), 'docs')
  await symlink(join(outside.value, 'secret.txt'), join(site.value, 'leak.txt'))
  const { port, teardown } = await startServer({ staticDir: site.value })
  cleanups.push(teardown)
  return { port, site: site.value }
}

describe('HTTP beside the WebSocket endpoint', () => {
  it('answers GET /healthz with 200 and JSON', async () => {
    const { port, teardown } = await startServer()
    cleanups.push(teardown)
    const response = await get(port, '/healthz')
    expect(response.status).toBe(200)
    expect(response.headers['content-type']).toMatch(/^application\/json/)
    expect(JSON.parse(response.body)).toEqual({ status: 'ok' })
  })

  it('answers 404 without a static directory', async () => {
    const { port, teardown } = await startServer()
    cleanups.push(teardown)
    expect((await get(port, '/index.html')).status).toBe(404)
  })

  it('serves static files with content types and no-cache', async () => {
    const { port } = await staticSite()
    const index = await get(port, '/')
    expect(index.status).toBe(200)
    expect(index.body).toBe('<h1>kvsync</h1>')
    expect(index.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(index.headers['cache-control']).toBe('no-cache')
    expect((await get(port, '/app.mjs')).headers['content-type']).toBe('text/javascript; charset=utf-8')
    expect((await get(port, '/manifest.webmanifest')).headers['content-type']).toBe('application/manifest+json; charset=utf-8')
    expect((await get(port, '/docs/')).body).toBe('docs')
    const head = await get(port, '/app.mjs', 'HEAD')
    expect(head.status).toBe(200)
    expect(head.body).toBe('')
  })

  it('never serves files outside the static directory', async () => {
    const { port } = await staticSite()
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/..%2Fsecret.txt', '/leak.txt', '/%00', '/..\\secret.txt']) {
      const response = await get(port, path)
      expect(response.status, path).toBe(404)
      expect(response.body).not.toContain('secret')
    }
  })

  it('resolves URL paths inside the root only', () => {
    expect(resolveStaticPath('/srv/site', '/a/b.js')).toBe('/srv/site/a/b.js')
    expect(resolveStaticPath('/srv/site', '/')).toBe('/srv/site')
    expect(resolveStaticPath('/srv/site', '/../x')).toBeUndefined()
    expect(resolveStaticPath('/srv/site', '/a/../../site2/x')).toBeUndefined()
    expect(resolveStaticPath('/srv/site', '/%E0%A4%A')).toBeUndefined()
  })
})
