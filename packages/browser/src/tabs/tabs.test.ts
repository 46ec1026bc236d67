import 'fake-indexeddb/auto'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { openStore } from '../open-store.js'
import type { Store } from '../store.js'
import { TabCoordinator, type TabMessage } from './coordinator.js'

// Node's BroadcastChannel delivers between the instances of one process as a browser's does
// between tabs, and fake-indexeddb stands in for the shared database; e2e/browser-tabs.spec.ts
// runs tabs in real Chromium. Node has no Web Locks: local-only tabs never ask for one, so a
// lock manager that refuses is enough for openStore to coordinate tabs.
const hadNavigator = 'navigator' in globalThis
beforeAll(() => {
  if (!hadNavigator) {
    Object.defineProperty(globalThis, 'navigator', {
      configurable: true,
      value: { locks: { request: () => Promise.reject(new Error('local-only tabs never elect a leader')) } },
    })
  }
})
afterAll(() => {
  if (!hadNavigator) Reflect.deleteProperty(globalThis, 'navigator')
})

let counter = 0
const uniqueName = () => `tabs-test/${Date.now()}-${counter++}`

/** Every message sent on store `name`'s channel, as another tab that never speaks sees them. */
function listen(name: string): { messages: TabMessage[]; channel: BroadcastChannel } {
  const messages: TabMessage[] = []
  const channel = new BroadcastChannel(`kvsync:${name}`)
  channel.onmessage = (event: MessageEvent<TabMessage>) => messages.push(event.data)
  return { messages, channel }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const settle = () => sleep(20)

describe('tabs that have not met', () => {
  it('a tab alone sends only its hello; once another says hello it replies and broadcasts', async () => {
    const name = uniqueName()
    const silent = listen(name)
    const received: TabMessage[] = []
    const tab = new TabCoordinator({ storeName: name, onMessage: (message) => received.push(message), onLeader: () => {} })
    const update: TabMessage = { type: 'updateV1', update: new Uint8Array([1]), records: [1], durable: true }
    tab.post(update)
    tab.post({ type: 'acks', clocks: new Map([[1, 2]]) })
    await settle()
    expect(tab.hasPeers).toBe(false)
    expect(silent.messages.map((message) => message.type)).toEqual(['hello'])

    silent.channel.postMessage({ type: 'hello' } satisfies TabMessage)
    await settle()
    expect(tab.hasPeers).toBe(true)
    expect(received.map((message) => message.type)).toEqual(['hello'])
    tab.post(update)
    await settle()
    expect(silent.messages.map((message) => message.type)).toEqual(['hello', 'here', 'updateV1'])
    tab.close()
    silent.channel.close()
  })

  it('a tab that finds company by a reply says hello again, so the others read back its commits', async () => {
    const name = uniqueName()
    const silent = listen(name)
    const tab = new TabCoordinator({ storeName: name, onMessage: () => {}, onLeader: () => {} })
    silent.channel.postMessage({ type: 'here' } satisfies TabMessage)
    await settle()
    expect(tab.hasPeers).toBe(true)
    expect(silent.messages.map((message) => message.type)).toEqual(['hello', 'hello'])
    tab.close()
    silent.channel.close()
  })

  it('stores in two tabs see every write, also those committed before the tabs met', async () => {
    // A slow channel: the first tab's messages take 40 ms to arrive, the second's 10 ms (each
    // tab's in order). Both go on committing, unannounced, after the other tab loaded the log.
    const send = BroadcastChannel.prototype.postMessage
    const delays = new WeakMap<BroadcastChannel, number>()
    let channels = 0
    const slowChannel = vi.spyOn(BroadcastChannel.prototype, 'postMessage').mockImplementation(function (this: BroadcastChannel, message: unknown) {
      // Each round opens the first tab's channel, then the second's.
      if (!delays.has(this)) delays.set(this, channels++ % 2 === 0 ? 40 : 10)
      setTimeout(() => send.call(this, message), delays.get(this))
    })
    try {
      await twoTabsWriting()
    } finally {
      slowChannel.mockRestore()
    }
  })

  async function twoTabsWriting(): Promise<void> {
    for (let round = 0; round < 8; round++) {
      const name = uniqueName()
      const first = await openStore(name, { persistence: 'indexeddb' })
      for (let i = 0; i < round; i++) await first.set(`first/${i}`, i)
      await sleep(60) // the first tab's hello has gone out to nobody
      // Both tabs keep writing while they get to know each other: some commits land after the
      // other tab loaded the log and before their tab knows of it; only reading back finds them.
      let writing = true
      const keepWriting = async (store: Store, prefix: string, from: number) => {
        let i = from
        while (writing) await store.set(`${prefix}/${i}`, i++)
        return i
      }
      const firstWrites = keepWriting(first, 'first', round)
      const second = await openStore(name, { persistence: 'indexeddb' })
      const secondWrites = keepWriting(second, 'second', 0)
      await sleep(100)
      writing = false
      const written = (await firstWrites) + (await secondWrites)
      await vi.waitFor(() => {
        expect(first.size).toBe(written)
        expect(second.size).toBe(written)
      })
      expect(second.entries()).toEqual(first.entries())
      await first.close()
      await second.close()
    }
  }
})
