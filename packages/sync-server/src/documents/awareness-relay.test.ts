import * as awarenessProtocol from 'y-protocols/awareness'
import * as Y from 'yjs'
import { describe, expect, it } from 'vitest'
import { rawAwarenessUpdate } from '../../test/unit-helpers.js'
import { AWARENESS_TIMEOUT_MS, AwarenessRelay } from './awareness-relay.js'

/** A stock client's awareness (what a WebsocketProvider holds), with the update it would send. */
function stockClient(): { awareness: awarenessProtocol.Awareness; update: () => Uint8Array; id: number } {
  const awareness = new awarenessProtocol.Awareness(new Y.Doc())
  const id = awareness.clientID
  return { awareness, id, update: () => awarenessProtocol.encodeAwarenessUpdate(awareness, [id]) }
}


describe('AwarenessRelay', () => {
  it('relays states so that a stock Awareness receiving its encoding sees what the sender set', () => {
    const relay = new AwarenessRelay()
    const a = stockClient()
    a.awareness.setLocalState({ user: 'ada', cursor: [1, 2] })
    expect(relay.apply(a.update(), 0)).toEqual({ added: [a.id], updated: [], removed: [] })
    const reader = new awarenessProtocol.Awareness(new Y.Doc())
    awarenessProtocol.applyAwarenessUpdate(reader, relay.encode(relay.clients()), 'server')
    expect(reader.getStates().get(a.id)).toEqual({ user: 'ada', cursor: [1, 2] })
    expect(relay.size).toBe(1)
  })

  it('applies a newer clock, ignores an older or equal one, and removes at the same clock with null', () => {
    const relay = new AwarenessRelay()
    relay.apply(rawAwarenessUpdate([[7, 2, '{"v":2}']]), 0)
    expect(relay.apply(rawAwarenessUpdate([[7, 1, '{"v":1}']]), 0)).toEqual({ added: [], updated: [], removed: [] })
    expect(relay.apply(rawAwarenessUpdate([[7, 2, '{"v":"same clock"}']]), 0)).toEqual({ added: [], updated: [], removed: [] })
    expect(relay.apply(rawAwarenessUpdate([[7, 3, '{"v":3}']]), 0)).toEqual({ added: [], updated: [7], removed: [] })
    expect(relay.apply(rawAwarenessUpdate([[7, 3, 'null']]), 0)).toEqual({ added: [], updated: [], removed: [7] })
    expect(relay.has(7)).toBe(false)
    // A client never seen that says null changes nothing visible (as in y-protocols).
    expect(relay.apply(rawAwarenessUpdate([[8, 1, 'null']]), 0)).toEqual({ added: [], updated: [], removed: [] })
    expect(relay.size).toBe(0)
  })

  it('removes a leaving peer’s states but keeps their clocks, so receivers drop them', () => {
    const relay = new AwarenessRelay()
    const a = stockClient()
    a.awareness.setLocalState({ user: 'ada' })
    relay.apply(a.update(), 0)
    const reader = new awarenessProtocol.Awareness(new Y.Doc())
    awarenessProtocol.applyAwarenessUpdate(reader, relay.encode([a.id]), 'server')
    expect(relay.remove([a.id, 12345], 1)).toEqual([a.id])
    awarenessProtocol.applyAwarenessUpdate(reader, relay.encode([a.id]), 'server')
    expect(reader.getStates().has(a.id)).toBe(false)
    // The old clock still wins over a replay of the state it had.
    expect(relay.apply(a.update(), 2).added).toEqual([])
    expect(relay.has(a.id)).toBe(false)
  })

  it('times out states not renewed for 30 s and later forgets the removed clients', () => {
    const relay = new AwarenessRelay()
    relay.apply(rawAwarenessUpdate([[1, 1, '{}'], [2, 1, '{}']]), 0)
    relay.apply(rawAwarenessUpdate([[2, 2, '{}']]), 20_000)
    expect(relay.expire(AWARENESS_TIMEOUT_MS - 1)).toEqual([])
    expect(relay.expire(AWARENESS_TIMEOUT_MS)).toEqual([1])
    expect(relay.clients()).toEqual([2])
    expect(relay.encode([1])).toEqual(rawAwarenessUpdate([[1, 1, 'null']]))
    expect(relay.expire(20_000 + AWARENESS_TIMEOUT_MS)).toEqual([2])
    // Removed 30 s ago: forgotten, so a client that comes back at any clock is seen again.
    relay.expire(2 * AWARENESS_TIMEOUT_MS + 20_000)
    expect(relay.encode([1, 2])).toEqual(rawAwarenessUpdate([]))
    expect(relay.apply(rawAwarenessUpdate([[1, 1, '{"back":true}']]), 0).added).toEqual([1])
  })

  it('refuses garbage before changing anything', () => {
    const relay = new AwarenessRelay()
    expect(() => relay.apply(rawAwarenessUpdate([[1, 1, '{}'], [2, 1, '{not json']]), 0)).toThrow()
    expect(() => relay.apply(Uint8Array.of(5, 1), 0)).toThrow()
    expect(relay.size).toBe(0)
    expect(relay.encode([1])).toEqual(rawAwarenessUpdate([]))
  })
})
