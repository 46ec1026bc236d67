import { MessageType, encodeDurableAck } from '@kvsync/shared'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { WebSocketServer, type WebSocket } from 'ws'
import * as syncProtocol from 'y-protocols/sync'
import * as Y from 'yjs'

// A tiny fake kvsync server speaking the y-websocket sync protocol, whose durable acks
// (message 102, see packages/shared/src/protocol/extensions.ts) the test releases by hand.
export interface FakeServer {
  url: string
  doc: Y.Doc
  /** Acks the server document's whole state vector to every connection. */
  ackAll(): void
  /** Drops every connection (the client reconnects). */
  dropAll(): void
  ackOnHello: boolean
  /** Connections open right now. */
  readonly connections: number
  close(): Promise<void>
}

export async function startFakeServer(): Promise<FakeServer> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' })
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()))
  const doc = new Y.Doc()
  const sockets = new Set<WebSocket>()
  const stateAck = () => encodeDurableAck(Y.decodeStateVector(Y.encodeStateVector(doc)))
  const server: FakeServer = {
    url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}`,
    doc,
    ackOnHello: false,
    ackAll: () => sockets.forEach((socket) => socket.send(stateAck())),
    dropAll: () => sockets.forEach((socket) => socket.terminate()),
    get connections() {
      return sockets.size
    },
    close: () =>
      new Promise<void>((resolve) => {
        sockets.forEach((socket) => socket.terminate())
        wss.close(() => resolve())
      }),
  }
  wss.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    // As a real server does: step 1 on connect, so the client's step 2 brings what it has.
    const step1 = encoding.createEncoder()
    encoding.writeVarUint(step1, MessageType.sync)
    syncProtocol.writeSyncStep1(step1, doc)
    socket.send(encoding.toUint8Array(step1))
    socket.on('message', (data: Buffer) => {
      const decoder = decoding.createDecoder(new Uint8Array(data))
      const type = decoding.readVarUint(decoder)
      if (type === MessageType.hello) {
        if (server.ackOnHello) socket.send(stateAck())
      } else if (type === MessageType.sync) {
        const reply = encoding.createEncoder()
        encoding.writeVarUint(reply, MessageType.sync)
        syncProtocol.readSyncMessage(decoder, reply, doc, socket)
        if (encoding.length(reply) > 1) socket.send(encoding.toUint8Array(reply))
      }
    })
  })
  return server
}

