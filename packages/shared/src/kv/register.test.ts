import { describe, expect, it, vi } from 'vitest'
import * as Y from 'yjs'
import { isKvsyncError } from '../errors.js'
import { encodeValue } from '../value-codec.js'
import { KvRegister, type KvChange } from './register.js'
import { KV_ARRAY_NAME, encodeEntry } from './entry.js'

function replica(now: () => number = Date.now) {
  const doc = new Y.Doc()
  return { doc, kv: new KvRegister(doc, { now }) }
}

function sync(a: Y.Doc, b: Y.Doc) {
  Y.applyUpdate(b, Y.encodeStateAsUpdate(a, Y.encodeStateVector(b)))
  Y.applyUpdate(a, Y.encodeStateAsUpdate(b, Y.encodeStateVector(a)))
}

describe('KvRegister', () => {
  it('reads back what was written', () => {
    const { kv } = replica()
    kv.set('a', { nested: [1, 'two', null, true] })
    kv.set('b', 2)
    expect(kv.get('a')).toEqual({ nested: [1, 'two', null, true] })
    expect(kv.keys()).toEqual(['a', 'b'])
    kv.delete('a')
    expect(kv.get('a')).toBeUndefined()
    expect(kv.has('a')).toBe(false)
    expect(kv.keys()).toEqual(['b'])
  })

  it('writes a batch sharing one buffer exactly as the same writes one by one', () => {
    const now = () => 1_000_000
    const writes = [
      { key: 'a', value: encodeValue(1), expiresAt: undefined },
      { key: 'b', value: encodeValue({ nested: ['x'] }), expiresAt: 5_000_000 },
      { key: 'a', value: encodeValue('again'), expiresAt: undefined },
      { key: 'c', value: undefined, expiresAt: undefined },
      { key: 'é😀', value: encodeValue(new Uint8Array([1, 2])), expiresAt: undefined },
    ]
    const one = replica(now)
    one.doc.clientID = 7
    const batch = replica(now)
    batch.doc.clientID = 7
    one.kv.transact(() => writes.forEach(({ key, value, expiresAt }) => one.kv.writeEncoded(key, value, expiresAt)))
    batch.kv.transact(() => batch.kv.writeEncodedMany(writes))
    expect(Y.encodeStateAsUpdate(batch.doc)).toEqual(Y.encodeStateAsUpdate(one.doc))
    expect([...batch.kv.winners()]).toEqual([...one.kv.winners()])
    expect(batch.kv.entries()).toEqual([['a', 'again'], ['b', { nested: ['x'] }], ['é😀', new Uint8Array([1, 2])]])
    // Outside a transaction it opens its own, and an empty batch writes nothing.
    batch.kv.writeEncodedMany([{ key: 'd', value: encodeValue(4), expiresAt: undefined }])
    batch.kv.writeEncodedMany([])
    expect(batch.kv.get('d')).toBe(4)
  })

  it('keeps the write with the greater HLC whatever the Yjs client ids', () => {
    for (let round = 0; round < 20; round++) {
      let timeA = 1_000
      let timeB = 2_000
      const a = replica(() => timeA)
      const b = replica(() => timeB)
      a.kv.set('k', 'from-a-earlier')
      b.kv.set('k', 'from-b-later')
      timeA++
      timeB++
      sync(a.doc, b.doc)
      expect(a.kv.get('k')).toBe('from-b-later')
      expect(b.kv.get('k')).toBe('from-b-later')
    }
  })

  it('lets a write made after seeing another win even with a slower clock', () => {
    const a = replica(() => 5_000)
    const b = replica(() => 1_000) // b's clock is far behind
    a.kv.set('k', 'a')
    sync(a.doc, b.doc)
    b.kv.set('k', 'b-after-seeing-a')
    sync(a.doc, b.doc)
    expect(a.kv.get('k')).toBe('b-after-seeing-a')
    expect(b.kv.get('k')).toBe('b-after-seeing-a')
  })

  it('resolves a delete and a concurrent set by the same rule', () => {
    const a = replica(() => 1_000)
    const b = replica(() => 2_000)
    a.kv.set('k', 'v')
    sync(a.doc, b.doc)
    b.kv.delete('k')
    a.kv.set('k', 'older-concurrent')
    sync(a.doc, b.doc)
    expect(a.kv.has('k')).toBe(false)
    expect(b.kv.has('k')).toBe(false)
  })

  it('rejects bad keys and values without storing anything', () => {
    const { kv, doc } = replica()
    const before = Y.encodeStateAsUpdate(doc)
    for (const [key, value, code] of [
      ['', 1, 'INVALID_KEY'],
      [42, 1, 'INVALID_KEY'],
      ['x'.repeat(1025), 1, 'INVALID_KEY'],
      ['k', undefined, 'INVALID_VALUE'],
      ['k', () => 1, 'INVALID_VALUE'],
      ['k', Number.NaN, 'INVALID_VALUE'],
      ['k', { a: Symbol('s') }, 'INVALID_VALUE'],
    ] as const) {
      let caught: unknown
      try {
        kv.set(key as string, value)
      } catch (error) {
        caught = error
      }
      expect(isKvsyncError(caught, code), `${String(key).slice(0, 10)} ${String(value)}`).toBe(true)
    }
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    expect(() => kv.set('k', cyclic)).toThrow(/cycle/)
    expect(Y.encodeStateAsUpdate(doc)).toEqual(before)
  })

  it('emits one batch per transaction with old and new values', () => {
    const { kv } = replica()
    const batches: KvChange[][] = []
    kv.onChange((changes) => batches.push(changes))
    kv.set('a', 1)
    kv.transact(() => {
      kv.set('a', 2)
      kv.set('b', 3)
      kv.set('b', 4)
    })
    expect(batches).toEqual([
      [{ key: 'a', value: 1, oldValue: undefined, origin: 'local' }],
      [
        { key: 'a', value: 2, oldValue: 1, origin: 'local' },
        { key: 'b', value: 4, oldValue: undefined, origin: 'local' },
      ],
    ])
  })

  it('collects no changes while wantsChanges says nobody wants them, and still indexes', () => {
    const writer = replica()
    const doc = new Y.Doc()
    let wanted = false
    const kv = new KvRegister(doc, { wantsChanges: () => wanted })
    const seen: KvChange[][] = []
    kv.onChange((changes) => seen.push(changes))
    writer.kv.set('a', 1)
    sync(writer.doc, doc)
    expect(seen).toEqual([])
    expect(kv.get('a')).toBe(1)
    wanted = true
    writer.kv.set('a', 2)
    sync(writer.doc, doc)
    expect(seen.map((changes) => changes.map(({ key, value, oldValue }) => ({ key, value, oldValue })))).toEqual([[{ key: 'a', value: 2, oldValue: 1 }]])
  })

  it('decodes a change\'s values only when read, once, as they were at the change', () => {
    const { doc, kv } = replica()
    const batches: KvChange[][] = []
    kv.onChange((changes) => batches.push(changes))
    kv.set('a', { list: [1] })
    kv.set('a', { list: [2] })
    const [first, second] = [batches[0]![0]!, batches[1]![0]!]
    expect(second.value).toEqual({ list: [2] })
    expect(second.oldValue).toEqual({ list: [1] })
    expect(second.value).toBe(second.value)
    expect(second.oldValue).toBe(second.oldValue)
    expect(first.value).toEqual({ list: [1] })
    // Its own enumerable properties, so spreading or logging a change shows its values.
    expect(Object.keys(second)).toEqual(['key', 'origin', 'value', 'oldValue'])
    expect({ ...second }).toEqual({ key: 'a', origin: 'local', value: { list: [2] }, oldValue: { list: [1] } })
    // A well-formed entry whose value bytes do not decode (another client wrote it): the change
    // is delivered, and only reading its value fails, with the value codec's error.
    const other = new Y.Doc()
    Y.applyUpdate(other, Y.encodeStateAsUpdate(doc))
    const broken = encodeEntry({ key: 'b', hlc: { wallMs: Date.now() + 60_000, counter: 0, node: 1 }, tombstone: false, expiresAt: undefined, value: new Uint8Array([0xff, 0xff]) }, other.clientID)
    other.getArray<Uint8Array>(KV_ARRAY_NAME).push([broken])
    Y.applyUpdate(doc, Y.encodeStateAsUpdate(other, Y.encodeStateVector(doc)))
    const change = batches.at(-1)![0]!
    expect(change.key).toBe('b')
    expect(() => change.value).toThrow(expect.objectContaining({ code: 'CORRUPT_DATA' }))
    // Not cached as undefined: every read says the bytes are bad.
    expect(() => change.value).toThrow(expect.objectContaining({ code: 'CORRUPT_DATA' }))
  })

  it('hides expired keys and tells subscribers when they expire', () => {
    vi.useFakeTimers({ now: 10_000 })
    try {
      const { kv } = replica(() => Date.now())
      const seen: KvChange[] = []
      kv.onChange((changes) => seen.push(...changes))
      kv.set('session', 'abc', { ttl: 1_000 })
      expect(kv.get('session')).toBe('abc')
      vi.advanceTimersByTime(1_000)
      expect(kv.get('session')).toBeUndefined()
      expect(seen.at(-1)).toEqual({ key: 'session', value: undefined, oldValue: 'abc', origin: 'expired' })
      expect(kv.sweepExpired()).toBe(1)
      expect(kv.entry('session')?.tombstone).toBe(true)
    } finally {
      vi.useRealTimers()
    }
  })

  it('announces an expiry once even when the entry is swept or rewritten before its timer fires', () => {
    // Timers that never fire: a throttled background tab, or a server sweep that arrives first.
    const late = { setTimeout: (() => 0) as unknown as typeof setTimeout, clearTimeout: () => {} }
    let now = 10_000
    const sweeper = new KvRegister(new Y.Doc(), { now: () => now })
    const readerDoc = new Y.Doc()
    const reader = new KvRegister(readerDoc, { now: () => now, timers: late })
    const seen: KvChange[] = []
    reader.onChange((changes) => seen.push(...changes))
    const share = () => sync(sweeper.doc, readerDoc)
    sweeper.set('session', 'abc', { ttl: 1_000 })
    sweeper.set('draft', 'x', { ttl: 1_000 })
    share()
    seen.length = 0
    now = 11_000
    // Another replica's sweep reaches the reader first: the expiry is still announced, once.
    expect(sweeper.sweepExpired()).toBe(2)
    share()
    expect(seen).toEqual([
      { key: 'session', value: undefined, oldValue: 'abc', origin: 'expired' },
      { key: 'draft', value: undefined, oldValue: 'x', origin: 'expired' },
    ])
    // The reader's own sweep of its own expired write, and a write over an expired key.
    seen.length = 0
    reader.set('mine', 1, { ttl: 1_000 })
    reader.set('other', 'old', { ttl: 1_000 })
    seen.length = 0
    now = 12_000
    expect(reader.sweepExpired()).toBe(1 + 1)
    expect(seen).toEqual([
      { key: 'mine', value: undefined, oldValue: 1, origin: 'expired' },
      { key: 'other', value: undefined, oldValue: 'old', origin: 'expired' },
    ])
    reader.set('again', 'a', { ttl: 1_000 })
    now = 13_000
    seen.length = 0
    reader.set('again', 'b')
    expect(seen).toEqual([
      { key: 'again', value: undefined, oldValue: 'a', origin: 'expired' },
      { key: 'again', value: 'b', oldValue: undefined, origin: 'local' },
    ])
    // Nothing is announced twice.
    share()
    expect(seen.length).toBe(2)
  })

  it('keeps the document bounded when the same keys are rewritten', () => {
    const { kv, doc } = replica()
    kv.transact(() => {
      for (let i = 0; i < 1000; i++) kv.set(`key-${i}`, i)
    })
    const afterFirst = Y.encodeStateAsUpdate(doc).length
    for (let round = 0; round < 100; round++) {
      kv.transact(() => {
        for (let i = 0; i < 1000; i++) kv.set(`key-${i}`, i + round)
      })
    }
    const afterRewrites = Y.encodeStateAsUpdate(doc).length
    expect(afterRewrites).toBeLessThanOrEqual(2 * afterFirst)
    const fresh = new Y.Doc()
    Y.applyUpdate(fresh, Y.encodeStateAsUpdate(doc))
    const rebuilt = new KvRegister(fresh)
    expect(rebuilt.get('key-999')).toBe(999 + 99)
    expect(rebuilt.keys().length).toBe(1000)
  })
})
