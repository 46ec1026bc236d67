import * as decoding from 'lib0/decoding'
import type { DocumentPeer } from '../src/documents/server-document.js'

/** A peer that records what it is sent: a stock client by default, which wants its own updates back. */
export function recordingPeer(wantsOwnUpdates = true): DocumentPeer & { sent: Uint8Array[] } {
  const sent: Uint8Array[] = []
  return { sent, awarenessClients: undefined, wantsOwnUpdates, send: (message) => void sent.push(message) }
}

/** The Yjs update inside a sync message (step 2 or update): after its two varUint type fields. */
export function syncPayload(message: Uint8Array): Uint8Array {
  const decoder = decoding.createDecoder(message)
  decoding.readVarUint(decoder)
  decoding.readVarUint(decoder)
  return decoding.readVarUint8Array(decoder)
}
