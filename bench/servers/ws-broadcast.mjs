// The ceiling: a bare `ws` relay. Every frame is sent as is to every connection on the same
// path (the sender too, like the Yjs servers); no decoding, no state, no persistence.
import http from 'node:http'
import { WebSocketServer } from 'ws'
import { serve } from './common.mjs'

const rooms = new Map()
const server = http.createServer((_req, res) => res.writeHead(426).end())
const wss = new WebSocketServer({ server, perMessageDeflate: false })
wss.on('connection', (ws, req) => {
  const room = req.url ?? '/'
  let peers = rooms.get(room)
  if (peers === undefined) rooms.set(room, (peers = new Set()))
  peers.add(ws)
  ws.on('message', (data, isBinary) => {
    for (const peer of peers) if (peer.readyState === 1) peer.send(data, { binary: isBinary })
  })
  ws.on('close', () => {
    peers.delete(ws)
    if (peers.size === 0) rooms.delete(room)
  })
})
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
serve({ url: `ws://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => (wss.close(), server.close(() => r()))) })
