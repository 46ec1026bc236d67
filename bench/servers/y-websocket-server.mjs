// @y/websocket-server 0.1.1 as its own bin (src/server.js) runs it — http + ws + setupWSConnection,
// in-memory (no YPERSISTENCE) — but bound to 127.0.0.1 on a free port.
import http from 'node:http'
import { setupWSConnection } from '@y/websocket-server/utils'
import { WebSocketServer } from 'ws'
import { serve } from './common.mjs'

const wss = new WebSocketServer({ noServer: true })
const server = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('okay'))
wss.on('connection', setupWSConnection)
server.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req)))
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
serve({ url: `ws://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => (wss.close(), server.close(() => r()))) })
