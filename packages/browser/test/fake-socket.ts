import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import * as syncProtocol from 'y-protocols/sync'
import * as Y from 'yjs'
import type { WebSocketLike } from '../src/sync/connection.js'

/**
 * @internal A WebSocket double for SyncConnection tests: records every instance (and so every
 * URL tried); tests open, answer and close sockets by hand.
 */
export class FakeSocket implements WebSocketLike {
  static instances: FakeSocket[] = []
  binaryType = 'blob'
  readyState = 0
  sent: Uint8Array[] = []
  onopen: ((event: unknown) => void) | null = null
  onmessage: ((event: { data: unknown }) => void) | null = null
  onclose: ((event: { code: number; reason: string }) => void) | null = null
  onerror: ((event: unknown) => void) | null = null

  constructor(readonly url: string) {
    FakeSocket.instances.push(this)
  }

  static reset(): void {
    FakeSocket.instances = []
  }

  static last(): FakeSocket {
    const socket = FakeSocket.instances.at(-1)
    if (socket === undefined) throw new Error('no socket yet')
    return socket
  }

  send(data: Uint8Array): void {
    this.sent.push(data)
  }

  close(): void {
    this.readyState = 3
  }

  open(): void {
    this.readyState = 1
    this.onopen?.({})
  }

  receive(data: Uint8Array): void {
    this.onmessage?.({ data: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) })
  }

  /** The server side closing (or the network dropping) the connection. */
  drop(code = 1006, reason = ''): void {
    this.readyState = 3
    this.onclose?.({ code, reason })
  }

  /** Answers the client's sync step 1 with the server document's step 2. */
  answerStep1(serverDoc: Y.Doc = new Y.Doc()): void {
    const encoder = encoding.createEncoder()
    encoding.writeVarUint(encoder, 0)
    syncProtocol.writeSyncStep2(encoder, serverDoc)
    this.receive(encoding.toUint8Array(encoder))
  }

  /** Message types the client sent, in order. */
  sentTypes(): number[] {
    return this.sent.map((message) => decoding.readVarUint(decoding.createDecoder(message)))
  }
}
