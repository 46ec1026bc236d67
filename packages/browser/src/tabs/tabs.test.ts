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

/**
 * Runs `run` with BroadcastChannels whose messages leave `ms` after they are posted (in order),
 * `ms` as set by `delayNextTab` before the channel (the store) is opened: a slow channel, as
 * delivery may be in a browser. A delayed message to a channel closed meanwhile is dropped, as
 * it would be for a tab that closed.
 */
async function withSlowChannels(run: (delayNextTab: (ms: number) => void) => Promise<void>): Promise<void> {
  const Native = globalThis.BroadcastChannel
  let nextDelay = 0
  class SlowChannel extends Native {
    readonly delayMs = nextDelay
    override postMessage(message: unknown): void {
      if (this.delayMs === 0) return super.postMessage(message)
      setTimeout(() => {
        try {
          super.postMessage(message)
        } catch {
          // Closed meanwhile.
        }
      }, this.delayMs)
    }
  }
  globalThis.BroadcastChannel = SlowChannel
  try {
    await run((ms) => (nextDelay = ms))
  } finally {
    globalThis.BroadcastChannel = Native
  }
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
    expect(tab.hasMetAnotherTab).toBe(false)
    expect(silent.messages.map((message) => message.type)).toEqual(['hello'])

    silent.channel.postMessage({ type: 'hello' } satisfies TabMessage)
    await settle()
    expect(tab.hasMetAnotherTab).toBe(true)
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
    expect(tab.hasMetAnotherTab).toBe(true)
    expect(silent.messages.map((message) => message.type)).toEqual(['hello', 'hello'])
    tab.close()
    silent.channel.close()
  })

  it('stores in two tabs see every write, also those committed before the tabs met', async () => {
    // A slow channel: the first tab's messages take 40 ms to arrive, the second's 10 ms (each
    // tab's in order). Both go on committing, unannounced, after the other tab loaded the log.
    await withSlowChannels(async (delayNextTab) => {
      for (let round = 0; round < 8; round++) await twoTabsWriting(round, delayNextTab)
    })
  })

  it('a tab that closes before it hears the hello of a tab opening says here, so its last commits are read back', async () => {
    await withSlowChannels(async (delayNextTab) => {
      for (let round = 0; round < 4; round++) {
        const name = uniqueName()
        delayNextTab(0)
        const first = await openStore(name, { persistence: 'indexeddb' })
        await first.set('before', round)
        await sleep(30) // the first tab's hello has gone out to nobody
        delayNextTab(40)
        const second = await openStore(name, { persistence: 'indexeddb' })
        // Committed after the second tab loaded, while its hello is still on its way.
        await first.set('last', round)
        await first.close()
        await vi.waitFor(() => expect(second.get('last')).toBe(round))
        expect(second.get('before')).toBe(round)
        await second.close()
      }
    })
  })

  it('a tab reads back a snapshot that holds what it lacks (a write the other tab failed to commit while alone)', async () => {
    const name = uniqueName()
    const first = await openStore(name, { persistence: 'indexeddb' })
    first.onError(() => {})
    const failOnce = vi.spyOn(IDBObjectStore.prototype, 'add').mockImplementationOnce(() => {
      throw new DOMException('disk full', 'QuotaExceededError')
    })
    await expect(first.set('in memory only', 1)).rejects.toMatchObject({ code: 'QUOTA_EXCEEDED' })
    failOnce.mockRestore()
    const second = await openStore(name, { persistence: 'indexeddb' })
    await sleep(50) // the tabs have met and read the log back: the failed write is not in it
    expect(second.get('in memory only')).toBeUndefined()
    // The next commit stores a snapshot instead (the failed write is only in memory); the
    // second tab, told of it by `compacted`, reads it back.
    await first.set('next', 2)
    await vi.waitFor(() => {
      expect(second.get('in memory only')).toBe(1)
      expect(second.get('next')).toBe(2)
    })
    await first.close()
    await second.close()
  })

  async function twoTabsWriting(round: number, delayNextTab: (ms: number) => void): Promise<void> {
    const name = uniqueName()
    delayNextTab(40)
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
    delayNextTab(10)
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
})
