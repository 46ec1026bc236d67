import 'fake-indexeddb/auto'
import { isKvsyncError } from '@kvsync/shared'
import * as Y from 'yjs'
import { afterEach, describe, expect, it } from 'vitest'
import { MemoryPersistence, openStore, type Store, type StoreEvent } from '../src/index.js'

/** A memory persistence that records what each commit appends. */
class RecordingPersistence extends MemoryPersistence {
  readonly commits: Uint8Array[][] = []
  override async append(updates: readonly Uint8Array[]): Promise<readonly number[]> {
    this.commits.push([...updates])
    return super.append(updates)
  }
}

const open: Store[] = []
async function store(persistence = new RecordingPersistence()): Promise<{ store: Store; persistence: RecordingPersistence }> {
  const opened = await openStore(`coalesce/${open.length}`, { persistence })
  open.push(opened)
  return { store: opened, persistence }
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((opened) => opened.close()))
})

function describeEvent(event: StoreEvent): string {
  return `${event.key}: ${JSON.stringify(event.oldValue)} -> ${JSON.stringify(event.value)}`
}

/** The keys of every entry in `updates`, applied to a fresh document (what storage holds). */
function storedDoc(updates: Uint8Array[]): Y.Doc {
  const doc = new Y.Doc()
  for (const update of updates) Y.applyUpdate(doc, update)
  return doc
}

describe('issue 7: the writes of one task are one transaction', () => {
  it('applies many set and delete calls of one task as one update in one commit', async () => {
    const { store: kv, persistence } = await store()
    const promises: Array<Promise<void>> = []
    for (let i = 0; i < 100; i++) promises.push(kv.set(`k${i}`, i))
    promises.push(kv.delete('k0'))
    expect(new Set(promises).size).toBe(1)
    await Promise.all(promises)
    expect(persistence.commits).toHaveLength(1)
    expect(persistence.commits[0]).toHaveLength(1)
    const doc = storedDoc(persistence.commits[0]!)
    // 101 entries written; the superseded k0 entry is deleted in the same update.
    expect(doc.getArray('kv').length).toBe(100)
  })

  it('reads its writes at once, before the document has them', async () => {
    const { store: kv } = await store()
    await kv.set('kept', 'old')
    void kv.set('a', { n: 1 })
    void kv.set('gone', 1)
    void kv.delete('gone')
    void kv.delete('kept')
    void kv.set('short', 'x', { expiresAt: 1 })
    expect(kv.get('a')).toEqual({ n: 1 })
    expect(kv.has('a')).toBe(true)
    expect(kv.has('gone')).toBe(false)
    expect(kv.get('kept')).toBeUndefined()
    expect(kv.has('short')).toBe(false)
    expect(kv.keys()).toEqual(['a'])
    expect(kv.entries()).toEqual([['a', { n: 1 }]])
    expect(kv.size).toBe(1)
    void kv.set('b', 2)
    expect(kv.keys()).toEqual(['a', 'b'])
    await kv.flush()
    expect(kv.entries()).toEqual([['a', { n: 1 }], ['b', 2]])
  })

  it('answers reads from the overlay without touching the document (reads may run in a React render)', async () => {
    const { store: kv } = await store()
    await kv.set('a', 1)
    const counts: number[] = []
    kv.onUnsavedChange((count) => counts.push(count))
    void kv.set('b', 2)
    expect([kv.keys(), kv.entries(), kv.size, kv.get('b'), kv.has('b')]).toEqual([['a', 'b'], [['a', 1], ['b', 2]], 2, 2, true])
    // Nothing reached the document yet, so nothing that watches it has fired.
    expect(counts).toEqual([])
    await kv.flush()
    expect(counts).toHaveLength(1)
  })

  it('keeps its own copy of each value at the call', async () => {
    const { store: kv } = await store()
    const value = { list: [1] }
    const saved = kv.set('v', value)
    value.list.push(2)
    expect(kv.get('v')).toEqual({ list: [1] })
    await saved
    expect(kv.get('v')).toEqual({ list: [1] })
  })

  it('tells subscribers of each write at the call, in call order, with the right old values', async () => {
    const { store: kv } = await store()
    await kv.set('a', 0)
    const events: string[] = []
    const seen: unknown[] = []
    kv.subscribe((event) => {
      events.push(describeEvent(event))
      seen.push(kv.get(event.key))
    })
    void kv.set('a', 1)
    void kv.set('b', 2)
    void kv.set('a', 3)
    void kv.delete('b')
    void kv.delete('never-set')
    expect(events).toEqual(['a: 0 -> 1', 'b: undefined -> 2', 'a: 1 -> 3', 'b: 2 -> undefined'])
    // A subscriber reading the store sees the write it is told about.
    expect(seen).toEqual([1, 2, 3, undefined])
    await kv.flush()
    // Applying the writes to the document announces nothing more.
    expect(events).toHaveLength(4)
  })

  it('keeps the writes around a bad value and throws at the bad call', async () => {
    const { store: kv, persistence } = await store()
    const first = kv.set('a', 1)
    let error: unknown
    try {
      void kv.set('bad', (() => 1) as never)
    } catch (thrown) {
      error = thrown
    }
    expect(isKvsyncError(error, 'INVALID_VALUE')).toBe(true)
    expect(() => kv.set('', 1)).toThrow(expect.objectContaining({ code: 'INVALID_KEY' }))
    expect(() => kv.set('t', 1, { ttl: 0 })).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }))
    const last = kv.set('c', 3)
    expect(last).toBe(first)
    await last
    expect(kv.entries()).toEqual([['a', 1], ['c', 3]])
    expect(persistence.commits).toHaveLength(1)
    const reopened = await store(persistence)
    expect(reopened.store.entries()).toEqual([['a', 1], ['c', 3]])
  })

  it('keeps transact() a batch when plain writes of the same task surround it', async () => {
    const { store: kv, persistence } = await store()
    await kv.set('a', 0)
    const events: string[][] = []
    let batch: string[] = []
    kv.subscribe((event) => batch.push(describeEvent(event)))
    const cut = (): void => {
      if (batch.length > 0) events.push(batch)
      batch = []
    }
    void kv.set('a', 1)
    cut()
    const inside = kv.transact(() => {
      void kv.set('b', 1)
      void kv.set('a', 2)
      void kv.set('b', 2)
      expect(batch).toEqual([]) // nothing announced before the batch ends
      expect(kv.get('b')).toBe(2)
    })
    cut()
    void kv.set('c', 1)
    cut()
    expect(events).toEqual([['a: 0 -> 1'], ['b: undefined -> 2', 'a: 1 -> 2'], ['c: undefined -> 1']])
    await inside
    expect(persistence.commits.at(-1)).toHaveLength(1)
    expect(kv.entries()).toEqual([['a', 2], ['b', 2], ['c', 1]])
  })

  it('keeps writes made before transact() throws', async () => {
    const { store: kv } = await store()
    const events: string[] = []
    kv.subscribe((event) => events.push(describeEvent(event)))
    expect(() =>
      kv.transact(() => {
        void kv.set('x', 1)
        throw new Error('stop')
      }),
    ).toThrow('stop')
    expect(events).toEqual(['x: undefined -> 1'])
    await kv.flush()
    expect(kv.get('x')).toBe(1)
  })

  it('commits pending writes on flush() and close()', async () => {
    const persistence = new RecordingPersistence()
    const first = await openStore('coalesce/closing', { persistence })
    void first.set('a', 1)
    await first.flush()
    expect(persistence.commits).toHaveLength(1)
    void first.set('b', 2)
    void first.delete('a')
    await first.close()
    expect(persistence.commits).toHaveLength(2)
    const again = await store(persistence)
    expect(again.store.entries()).toEqual([['b', 2]])
  })

  it('commits pending writes of an IndexedDB store closed in the same task', async () => {
    const name = `coalesce/idb-${Date.now()}`
    const first = await openStore(name, { persistence: 'indexeddb' })
    for (let i = 0; i < 10; i++) void first.set(`k${i}`, i)
    await first.close()
    const second = await openStore(name, { persistence: 'indexeddb' })
    expect(second.size).toBe(10)
    await second.destroy()
  })

  it('applies and commits writes made before a big store\'s document arrived when closed at once', async () => {
    const name = `coalesce/early-close-${Date.now()}`
    const first = await openStore(name, { persistence: 'indexeddb' })
    await first.transact(() => {
      for (let i = 0; i < 50; i++) void first.set(`k${i}`, i)
    })
    await first.close()
    // backgroundLoadBytes 0: openStore resolves from the view, before the document is decoded.
    const second = await openStore(name, { persistence: 'indexeddb', backgroundLoadBytes: 0 })
    const saved = second.set('early', 1)
    void second.delete('k0')
    expect(second.get('early')).toBe(1)
    await second.close()
    await saved
    const third = await openStore(name, { persistence: 'indexeddb' })
    expect(third.get('early')).toBe(1)
    expect(third.has('k0')).toBe(false)
    expect(third.size).toBe(50)
    await third.destroy()
  })
})
