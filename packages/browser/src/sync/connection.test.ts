import { CloseCodes, encodeDurableAck } from '@kvsync/shared'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import * as Y from 'yjs'
import { SyncConnection, type SyncStatus } from './connection.js'
import { FakeSocket } from '../../test/fake-socket.js'

function connection(urls: string[], extra: Partial<ConstructorParameters<typeof SyncConnection>[0]> = {}) {
  const statuses: SyncStatus[] = []
  const errors: string[] = []
  const acks: Array<Map<number, number>> = []
  const doc = new Y.Doc()
  const sync = new SyncConnection({
    doc,
    storeName: 'fake/store',
    urls,
    WebSocket: FakeSocket,
    backoff: { initialMs: 100, maxMs: 1_000, random: () => 1 },
    onStatus: (status) => statuses.push(status),
    onError: (error) => errors.push(error.code),
    onDurableAck: (clocks) => acks.push(clocks),
    ...extra,
  })
  return { sync, doc, statuses, errors, acks }
}

beforeEach(() => {
  FakeSocket.reset()
  vi.useFakeTimers()
})
afterEach(() => {
  vi.useRealTimers()
})

describe('SyncConnection', () => {
  it('goes connecting → syncing → synced, sending hello and sync step 1 on open', () => {
    const { sync, statuses } = connection(['ws://a.test'])
    sync.start()
    expect(FakeSocket.last().url).toBe('ws://a.test/fake/store')
    FakeSocket.last().open()
    expect(FakeSocket.last().sentTypes()).toEqual([100, 0])
    FakeSocket.last().answerStep1()
    expect(statuses).toEqual(['connecting', 'syncing', 'synced'])
    sync.stop()
    expect(statuses.at(-1)).toBe('offline')
  })

  it('reconnects with growing backoff and tries the URLs in turn', async () => {
    const { sync, statuses } = connection(['ws://a.test', 'ws://b.test'])
    sync.start()
    FakeSocket.last().drop()
    expect(statuses.at(-1)).toBe('connecting')
    // Ceilings 100, 200, 400 ms (random() = 1 picks the ceiling).
    await vi.advanceTimersByTimeAsync(99)
    expect(FakeSocket.instances).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(FakeSocket.instances).toHaveLength(2)
    FakeSocket.last().drop()
    await vi.advanceTimersByTimeAsync(200)
    FakeSocket.last().drop()
    await vi.advanceTimersByTimeAsync(400)
    expect(FakeSocket.instances.map((socket) => socket.url)).toEqual([
      'ws://a.test/fake/store',
      'ws://b.test/fake/store',
      'ws://a.test/fake/store',
      'ws://b.test/fake/store',
    ])
    // A connection that synced resets the backoff.
    FakeSocket.last().open()
    FakeSocket.last().answerStep1()
    FakeSocket.last().drop()
    await vi.advanceTimersByTimeAsync(100)
    expect(FakeSocket.instances).toHaveLength(5)
    sync.stop()
  })

  it('stops for good on a permanent close code and reports a coded error', async () => {
    const { sync, statuses, errors } = connection(['ws://a.test'])
    sync.start()
    FakeSocket.last().open()
    FakeSocket.last().drop(CloseCodes.unauthorized.code, 'no token')
    expect(errors).toEqual(['UNAUTHORIZED'])
    expect(statuses.at(-1)).toBe('offline')
    await vi.advanceTimersByTimeAsync(60_000)
    expect(FakeSocket.instances).toHaveLength(1)
    sync.stop()
  })

  it('reconnects when the server has been silent too long', async () => {
    const { sync } = connection(['ws://a.test'], { timeoutMs: 3_000 })
    sync.start()
    FakeSocket.last().open()
    FakeSocket.last().answerStep1()
    await vi.advanceTimersByTimeAsync(2_000)
    // Asked for awareness to hear from the server (type 3) before giving up.
    expect(FakeSocket.last().sentTypes()).toContain(3)
    await vi.advanceTimersByTimeAsync(2_000)
    expect(FakeSocket.instances.length).toBeGreaterThanOrEqual(1)
    await vi.advanceTimersByTimeAsync(1_000)
    expect(FakeSocket.instances).toHaveLength(2)
    sync.stop()
  })

  it('passes durable acks on and rejects a malformed one', () => {
    const { sync, acks, errors } = connection(['ws://a.test'])
    sync.start()
    FakeSocket.last().open()
    FakeSocket.last().receive(encodeDurableAck(new Map([[7, 3]])))
    expect(acks).toEqual([new Map([[7, 3]])])
    FakeSocket.last().receive(new Uint8Array([102, 5, 1]))
    expect(errors).toEqual(['PROTOCOL_ERROR'])
    sync.stop()
  })
})
