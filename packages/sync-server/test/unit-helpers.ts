// Helpers for tests that need no running server: document peers and protocol bytes.
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
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

/** An awareness update of raw entries, for clocks and states a stock client would not send. */
export function rawAwarenessUpdate(entries: ReadonlyArray<[client: number, clock: number, json: string]>): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, entries.length)
  for (const [client, clock, json] of entries) {
    encoding.writeVarUint(encoder, client)
    encoding.writeVarUint(encoder, clock)
    encoding.writeVarString(encoder, json)
  }
  return encoding.toUint8Array(encoder)
}
