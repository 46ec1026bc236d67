import * as decoding from 'lib0/decoding'
import * as Y from 'yjs'
import { KvsyncError } from '@kvsync/shared'
import type { KnownState } from '../documents/encoded-state.js'

/**
 * Whether applying `update` to a document in state `known` would change nothing: every struct
 * is already integrated and every deleted range is already deleted. A read-only client's sync
 * step 2 must pass this test to be accepted, and a hibernated store is woken only for an update
 * that fails it. It is not always empty: `Y.encodeStateAsUpdate` always carries the sender's
 * whole delete set, so a stock client reconnecting with a synced document sends deletions the
 * server already has. The document's delete set is asked for only if `update` deletes anything.
 *
 * Throws a `KvsyncError` `PROTOCOL_ERROR` when `update` is not a Yjs update.
 */
export function addsNothing(known: KnownState, update: Uint8Array): boolean {
  let decoded: ReturnType<typeof Y.decodeUpdate>
  try {
    decoded = Y.decodeUpdate(update)
  } catch (cause) {
    throw new KvsyncError('PROTOCOL_ERROR', 'malformed update', { cause })
  }
  for (const struct of decoded.structs) {
    if (struct instanceof Y.Skip) continue
    if (struct.id.clock + struct.length > known.clock(struct.id.client)) return false
  }
  if (decoded.ds.clients.size === 0) return true
  const deleted = known.deleteSet()
  for (const [client, items] of decoded.ds.clients) {
    const ranges = deleted.clients.get(client) ?? []
    for (const item of items) {
      if (item.len > 0 && !covered(ranges, item.clock, item.len)) return false
    }
  }
  return true
}

/** Whether sorted, merged `ranges` contain all of [clock, clock + len). */
function covered(ranges: ReadonlyArray<{ clock: number; len: number }>, clock: number, len: number): boolean {
  let low = 0
  let high = ranges.length - 1
  while (low <= high) {
    const middle = (low + high) >>> 1
    const range = ranges[middle] as { clock: number; len: number }
    if (clock < range.clock) high = middle - 1
    else if (clock >= range.clock + range.len) low = middle + 1
    else return clock + len <= range.clock + range.len
  }
  return false
}

/** Bounds on awareness traffic from one connection. */
export interface AwarenessLimits {
  readonly maxBytes: number
  readonly maxClients: number
}

/**
 * Checks an awareness update before it is applied: at most `maxBytes`, and the connection may
 * not announce more than `maxClients` client ids (a stock client announces one). Throws
 * `MESSAGE_TOO_LARGE` or `PROTOCOL_ERROR`. The layout is y-protocols' awareness encoding:
 * varUint count, then per client varUint id, varUint clock, varString JSON state.
 */
export function checkAwarenessUpdate(update: Uint8Array, ownClients: ReadonlySet<number> | undefined, limits: AwarenessLimits): void {
  if (update.byteLength > limits.maxBytes) {
    throw new KvsyncError('MESSAGE_TOO_LARGE', `awareness update of ${update.byteLength} bytes exceeds ${limits.maxBytes}`)
  }
  try {
    const decoder = decoding.createDecoder(update)
    const count = decoding.readVarUint(decoder)
    let added = 0
    for (let index = 0; index < count; index++) {
      const client = decoding.readVarUint(decoder)
      decoding.readVarUint(decoder)
      const state = decoding.readVarString(decoder)
      if (state !== 'null' && ownClients?.has(client) !== true) added++
    }
    if ((ownClients?.size ?? 0) + added > limits.maxClients) {
      throw new KvsyncError('PROTOCOL_ERROR', `a connection may announce at most ${limits.maxClients} awareness clients`)
    }
  } catch (error) {
    if (error instanceof KvsyncError) throw error
    throw new KvsyncError('PROTOCOL_ERROR', 'malformed awareness update', { cause: error })
  }
}
