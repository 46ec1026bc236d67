import { describe, expect, it, vi } from 'vitest'
import * as decoding from 'lib0/decoding'
import * as syncProtocol from 'y-protocols/sync'
import * as Y from 'yjs'
import { MessageType } from '@kvsync/shared'
import type { RawClient } from './helpers.js'
import { serverFixtures } from './helpers.js'

const { client, server } = serverFixtures()

/** How many sync updates `raw` received that carry structs of Yjs client `clientId`. */
function updatesCarrying(raw: RawClient, clientId: number): number {
  return raw.received.filter((message) => {
    if (message.type !== MessageType.sync || message.syncType !== syncProtocol.messageYjsUpdate) return false
    const decoder = decoding.createDecoder(message.bytes)
    decoding.readVarUint(decoder)
    decoding.readVarUint(decoder)
    return Y.parseUpdateMeta(decoding.readVarUint8Array(decoder)).to.has(clientId)
  }).length
}

describe('fan-out to kvsync and stock clients', () => {
  it('sends a kvsync client no echo of its own update, but the others’ updates and its ack', async () => {
    const { url } = await server()
    const a = client(`${url}/echo`, { hello: true })
    const b = client(`${url}/echo`, { hello: true })
    const stock = client(`${url}/echo`)
    await vi.waitFor(() => expect([a, b, stock].every((raw) => raw.synced) && a.acks.length > 0 && b.acks.length > 0).toBe(true))
    // One write at a time, each delivered everywhere before the next (so no turn mixes them).
    a.map.set('from-a', 1)
    await vi.waitFor(() => expect(a.allAcked && b.map.get('from-a') === 1 && stock.map.get('from-a') === 1).toBe(true))
    b.map.set('from-b', 2)
    await vi.waitFor(() => expect(b.allAcked && a.map.get('from-b') === 2 && stock.map.get('from-b') === 2).toBe(true))
    // Sent once the stock client had both, so in a later broadcast than any echo to a or b of
    // their own: once they have it, such an echo would have arrived before it.
    stock.map.set('last', 3)
    await vi.waitFor(() => expect(a.map.get('last') === 3 && b.map.get('last') === 3).toBe(true))
    expect(updatesCarrying(a, a.doc.clientID)).toBe(0)
    expect(updatesCarrying(b, b.doc.clientID)).toBe(0)
    expect(updatesCarrying(a, b.doc.clientID)).toBe(1)
    expect(updatesCarrying(b, a.doc.clientID)).toBe(1)
  })

  it('still echoes a stock client’s own update, to it and to kvsync clients', async () => {
    const { url } = await server()
    const stock = client(`${url}/stock-echo`)
    const kvsync = client(`${url}/stock-echo`, { hello: true })
    await vi.waitFor(() => expect(stock.synced && kvsync.synced).toBe(true))
    stock.map.set('k', 1)
    await vi.waitFor(() => expect(updatesCarrying(stock, stock.doc.clientID)).toBe(1))
    await vi.waitFor(() => expect(kvsync.map.get('k')).toBe(1))
  })

  it('answers a kvsync client’s query for awareness when nobody announced a state', async () => {
    const { url } = await server()
    const a = client(`${url}/quiet`, { hello: true })
    await vi.waitFor(() => expect(a.synced).toBe(true))
    expect(a.received.some((message) => message.type === MessageType.awareness)).toBe(false)
    // What kvsync's client sends after 10 s of silence, to hear from the server.
    a.send(Uint8Array.of(MessageType.queryAwareness))
    await vi.waitFor(() => expect(a.received.some((message) => message.type === MessageType.awareness)).toBe(true))
    expect(a.awareness.getStates().size).toBe(0)
  })
})
