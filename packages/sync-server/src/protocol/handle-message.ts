import * as decoding from 'lib0/decoding'
import * as syncProtocol from 'y-protocols/sync'
import { KvsyncError, MessageType } from '@kvsync/shared'
import type { DocumentPeer, ServerDocument } from '../documents/server-document.js'
import { emptyAwarenessMessage } from './messages.js'
import { checkAwarenessUpdate } from './write-check.js'
import type { AwarenessLimits } from './write-check.js'

/** What handling one client message may do to the connection it came from. */
export interface MessageContext {
  readonly document: ServerDocument
  /** The connection, as the origin of its updates and awareness changes. */
  readonly peer: DocumentPeer
  /** Whether this connection's token allows writing to the store. */
  readonly canWrite: boolean
  readonly awarenessLimits: AwarenessLimits
  /** Replies to this connection only. */
  reply(message: Uint8Array): void
  /** The client announced kvsync extensions (`hello`) with this protocol version. */
  announceKvsync(version: number): void
  /**
   * Applies an update from a client allowed to write, then acks it. May wait until the end of
   * this turn to apply it together with the connection's next updates (one Yjs transaction);
   * the caller applies held updates before handing over a message of another kind (see
   * {@link isWriteMessage}). `incremental`: an update message (the sender's own transaction),
   * not a sync step 2.
   */
  write(update: Uint8Array, incremental: boolean): void
  /** A write was refused (never applied); the connection stays open. */
  refused(error: KvsyncError): void
}

/**
 * Whether `data` is a sync step 2 or update message: the only kind {@link MessageContext.write}
 * may hold back. Every message type and sync type is below 128, so each is one varUint byte.
 */
export function isWriteMessage(data: Uint8Array): boolean {
  return data[0] === MessageType.sync && (data[1] === syncProtocol.messageYjsSyncStep2 || data[1] === syncProtocol.messageYjsUpdate)
}

/**
 * Handles one message (one WebSocket frame) from a client whose document is loaded. Throws a
 * `KvsyncError` (`PROTOCOL_ERROR`, `MESSAGE_TOO_LARGE`, `PROTOCOL_VERSION_MISMATCH`) on
 * anything the connection must be closed for; lib0 decoders throw plain errors on truncated
 * input, which the caller treats as `PROTOCOL_ERROR`.
 *
 * | type | payload | handling |
 * | --- | --- | --- |
 * | 0 sync | step 1: state vector | reply step 2 |
 * | 0 sync | step 2 / update: Yjs update | writers: apply (those of one turn in one transaction), persist, broadcast, ack. Readers: accepted only if it adds nothing, else refused with `FORBIDDEN` |
 * | 1 awareness | awareness update | bounded in size and client ids; apply, broadcast to all (sender too) |
 * | 2 auth | — | ignored: clients never send it |
 * | 3 query awareness | — | reply with all awareness states (an empty awareness update if none) |
 * | 100 hello | varUint version ≥ 1 | mark as kvsync client; ack the durable state |
 * | other | — | ignored, so newer clients can add messages |
 */
export function handleClientMessage(context: MessageContext, data: Uint8Array): void {
  const decoder = decoding.createDecoder(data)
  const type = decoding.readVarUint(decoder)
  switch (type) {
    case MessageType.sync:
      handleSync(context, decoder)
      return
    case MessageType.awareness: {
      const update = decoding.readVarUint8Array(decoder)
      checkAwarenessUpdate(update, context.peer.awarenessClients, context.awarenessLimits)
      context.document.applyAwarenessUpdate(update, context.peer)
      return
    }
    case MessageType.queryAwareness:
      // Always answered, with no states if there are none: clients ask to hear from us.
      context.reply(context.document.awarenessStatesMessage() ?? emptyAwarenessMessage())
      return
    case MessageType.hello: {
      const version = decoding.readVarUint(decoder)
      if (version < 1) throw new KvsyncError('PROTOCOL_VERSION_MISMATCH', `unsupported kvsync protocol version ${version}`)
      context.announceKvsync(version)
      return
    }
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
        reply = context.document.syncStep2Message(stateVector)
      } catch (cause) {
        throw new KvsyncError('PROTOCOL_ERROR', 'malformed state vector', { cause })
      }
      context.reply(reply)
      return
    }
    case syncProtocol.messageYjsSyncStep2:
    case syncProtocol.messageYjsUpdate: {
      const update = decoding.readVarUint8Array(decoder)
      if (!context.canWrite) {
        // A stock client answers our step 1 with a step 2 even when it has nothing new; refusing
        // that would make read-only stock clients unusable.
        if (!context.document.addsNothing(update)) {
          context.refused(new KvsyncError('FORBIDDEN', `this token may not write to ${JSON.stringify(context.document.name)}`))
        }
        return
      }
      context.write(update, syncType === syncProtocol.messageYjsUpdate)
      return
    }
    default:
      throw new KvsyncError('PROTOCOL_ERROR', `unknown sync message type ${syncType}`)
  }
}
