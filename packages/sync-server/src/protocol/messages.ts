import * as encoding from 'lib0/encoding'
import * as syncProtocol from 'y-protocols/sync'
import { MessageType } from '@kvsync/shared'

// Encoders for the messages the server sends. Every function returns one complete message;
// the server sends one message per WebSocket frame because older y-websocket clients decode only
// the first message of a frame. They take bytes, not a Y.Doc: a hibernated store answers from
// its encoded state.

/** `sync` step 1: the server's encoded state vector, asking the client for what the server lacks. */
export function syncStep1Message(stateVector: Uint8Array): Uint8Array {
  return syncMessage(syncProtocol.messageYjsSyncStep1, stateVector)
}

/** `sync` step 2: a V1 update of everything the server has that the client lacks. */
export function syncStep2Message(update: Uint8Array): Uint8Array {
  return syncMessage(syncProtocol.messageYjsSyncStep2, update)
}

/** `sync` update: one incremental Yjs update. */
export function updateMessage(update: Uint8Array): Uint8Array {
  return syncMessage(syncProtocol.messageYjsUpdate, update)
}

/** `awareness`: an encoded awareness update (removed clients carry `null` states). */
export function awarenessMessage(update: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, MessageType.awareness)
  encoding.writeVarUint8Array(encoder, update)
  return encoding.toUint8Array(encoder)
}

/**
 * `awareness` with no client in it: the answer to a query when nobody announced a state. A
 * kvsync client's liveness check is such a query (it cannot see WebSocket pings), and with no
 * echo of its own writes it may hear nothing else; y-protocols applies an empty update as a
 * no-op.
 */
export function emptyAwarenessMessage(): Uint8Array {
  return awarenessMessage(Uint8Array.of(0))
}

function syncMessage(syncType: number, payload: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, MessageType.sync)
  encoding.writeVarUint(encoder, syncType)
  encoding.writeVarUint8Array(encoder, payload)
  return encoding.toUint8Array(encoder)
}
