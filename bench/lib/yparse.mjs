// Finds the Yjs update inside a protocol frame and returns its end state vector
// (Y.parseUpdateMeta(update).to: client → clock after the update), or undefined.
import * as decoding from 'lib0/decoding'
import * as Y from 'yjs'

const toBytes = (data) => (data instanceof Uint8Array ? data : new Uint8Array(data))

/** y-websocket frames (kvsync and @y/websocket-server): [0 sync][1 step2 | 2 update][update]. */
export function updateEndY(data) {
  const decoder = decoding.createDecoder(toBytes(data))
  if (decoding.readVarUint(decoder) !== 0) return undefined
  const syncType = decoding.readVarUint(decoder)
  if (syncType !== 1 && syncType !== 2) return undefined
  return Y.parseUpdateMeta(decoding.readVarUint8Array(decoder)).to
}

/** Hocuspocus frames: [document name][0 sync][1 step2 | 2 update][update]. */
export function updateEndHocuspocus(data) {
  const decoder = decoding.createDecoder(toBytes(data))
  decoding.readVarString(decoder)
  if (decoding.readVarUint(decoder) !== 0) return undefined
  const syncType = decoding.readVarUint(decoder)
  if (syncType !== 1 && syncType !== 2) return undefined
  return Y.parseUpdateMeta(decoding.readVarUint8Array(decoder)).to
}
