import * as decoding from 'lib0/decoding'
import * as syncProtocol from 'y-protocols/sync'
import { KvsyncError, MessageType } from '@kvsync/shared'
import type { DocumentPeer, ServerDocument } from '../documents/server-document.js'
import { awarenessMessage, syncStep2Message } from './messages.js'

/** What handling one client message may do to the connection it came from. */
export interface MessageContext {
  readonly document: ServerDocument
  /** The connection, as the origin of its updates and awareness changes. */
  readonly peer: DocumentPeer
  /** Replies to this connection only. */
  reply(message: Uint8Array): void
  /** The client announced kvsync extensions (`hello`) with this protocol version. */
  announceKvsync(version: number): void
  /** The client wrote; `durable` resolves once the document state after the write is durable. */
  wrote(durable: Promise<void>): void
}

/**
 * Handles one message (one WebSocket frame) from a client whose document is loaded. Throws a
 * `KvsyncError` `PROTOCOL_ERROR` on anything malformed; lib0 decoders throw plain errors on
 * truncated input, which the caller treats the same way.
 *
 * | type | payload | handling |
 * | --- | --- | --- |
 * | 0 sync | step 1: state vector | reply step 2 |
 * | 0 sync | step 2 / update: Yjs update | apply, persist, broadcast to all (sender too) |
 * | 1 awareness | awareness update | apply, broadcast to all (sender too) |
 * | 2 auth | — | ignored: clients never send it |
 * | 3 query awareness | — | reply with all awareness states |
 * | 100 hello | varUint version | mark as kvsync client |
 * | other | — | ignored, so newer clients can add messages |
 */
export function handleClientMessage(context: MessageContext, data: Uint8Array): void {
  const decoder = decoding.createDecoder(data)
  const type = decoding.readVarUint(decoder)
  switch (type) {
    case MessageType.sync:
      handleSync(context, decoder)
      return
    case MessageType.awareness:
      context.document.applyAwarenessUpdate(decoding.readVarUint8Array(decoder), context.peer)
      return
    case MessageType.queryAwareness: {
      const clients = [...context.document.awareness.getStates().keys()]
      if (clients.length > 0) context.reply(awarenessMessage(context.document.awareness, clients))
      return
    }
    case MessageType.hello:
      context.announceKvsync(decoding.readVarUint(decoder))
      return
    default:
      return
  }
}

function handleSync(context: MessageContext, decoder: decoding.Decoder): void {
  const syncType = decoding.readVarUint(decoder)
  switch (syncType) {
    case syncProtocol.messageYjsSyncStep1: {
      const stateVector = decoding.readVarUint8Array(decoder)
      let reply: Uint8Array
      try {
        reply = syncStep2Message(context.document.doc, stateVector)
      } catch (cause) {
        throw new KvsyncError('PROTOCOL_ERROR', 'malformed state vector', { cause })
      }
      context.reply(reply)
      return
    }
    case syncProtocol.messageYjsSyncStep2:
    case syncProtocol.messageYjsUpdate:
      context.wrote(context.document.applyUpdate(decoding.readVarUint8Array(decoder), context.peer))
      return
    default:
      throw new KvsyncError('PROTOCOL_ERROR', `unknown sync message type ${syncType}`)
  }
}
