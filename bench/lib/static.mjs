// Serves the bundled benchmark pages over HTTP on 127.0.0.1. Every call to origin() opens a new
// port: a new origin, so IndexedDB and navigator.storage.estimate() start empty.
import { createServer } from 'node:http'
import { readFile } from 'node:fs/promises'
import { extname, join, normalize } from 'node:path'
import { onCleanup } from './proc.mjs'

const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8' }

export function staticServer(dir) {
  const servers = []
  const handler = async (req, res) => {
    const path = new URL(req.url, 'http://x').pathname
    const relative = normalize(path.slice(1))
    if (relative.startsWith('..')) return void res.writeHead(403).end()
    try {
      const body = await readFile(join(dir, relative))
      res.writeHead(200, { 'content-type': types[extname(relative)] ?? 'application/octet-stream', 'cache-control': 'no-store' }).end(body)
    } catch {
      res.writeHead(404).end('not found')
    }
  }
  const closeAll = () => Promise.all(servers.map((s) => new Promise((r) => s.close(() => r()))))
  onCleanup(closeAll)
  return {
    async origin() {
      const server = createServer(handler)
      servers.push(server)
      await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
      return `http://127.0.0.1:${server.address().port}`
    },
    close: closeAll,
  }
}
