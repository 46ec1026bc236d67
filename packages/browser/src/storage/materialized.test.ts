import 'fake-indexeddb/auto'
import { KvRegister, type KvEntry } from '@kvsync/shared'
import { openDB } from 'idb'
import { describe, expect, it, vi } from 'vitest'
import * as Y from 'yjs'
import { openStore } from '../open-store.js'
import { IndexedDbPersistence, databaseName } from './indexeddb.js'
import { PackedView, decodeRow, encodeRow, packEntries, packRows, rowWins } from './materialized.js'

// fake-indexeddb stands in for the browser here; e2e/tests/browser-*.spec.ts prove it in Chromium.
let counter = 0
const uniqueName = () => `mat-test/${Date.now()}-${counter++}`

function entry(key: string, wallMs: number, tombstone = false): KvEntry {
  return { key, hlc: { wallMs, counter: 0, node: 7 }, tombstone, expiresAt: undefined, value: tombstone ? undefined : new Uint8Array([1, wallMs]) }
}

/** The stored view (packed rows of the last compaction merged with the rows written since). */
async function rawRows(name: string): Promise<Map<string, KvEntry | undefined>> {
  const persistence = await IndexedDbPersistence.open(name)
  const { materialized } = await persistence.load()
  await persistence.close()
  const rows = new Map<string, KvEntry | undefined>()
  const packed = materialized?.packed
  packed?.keys.forEach((key, index) => rows.set(key, decodeRow(packed.rowAt(index))))
  for (const [key, row] of materialized?.rows ?? []) {
    const since = decodeRow(row)!
    if (rowWins(since, rows.get(key))) rows.set(key, since)
  }
  return rows
}

/** An update holding `count` keys written by a plain register (as another replica would). */
function bigUpdate(count: number, prefix = 'k'): Uint8Array {
  const doc = new Y.Doc()
  const register = new KvRegister(doc)
  doc.transact(() => {
    for (let i = 0; i < count; i++) register.set(`${prefix}${i}`, { i, text: `value ${i}` })
  })
  register.destroy()
  return Y.encodeStateAsUpdateV2(doc)
}

describe('materialized view', () => {
  it('round-trips rows and orders them like the register (HLC, then tombstone)', () => {
    expect(decodeRow(encodeRow(entry('a', 5)))).toEqual(entry('a', 5))
    expect(rowWins(entry('a', 6), entry('a', 5))).toBe(true)
    expect(rowWins(entry('a', 5), entry('a', 6))).toBe(false)
    expect(rowWins(entry('a', 5, true), entry('a', 5))).toBe(true)
    expect(rowWins(entry('a', 5), entry('a', 5, true))).toBe(false)
    expect(rowWins(entry('a', 1), undefined)).toBe(true)
  })

  it('writes the winning entry of each written key in the commit of the write', async () => {
    const name = uniqueName()
    const store = await openStore(name, { persistence: 'indexeddb' })
    await store.set('a', 1)
    await store.set('b', 'two', { ttl: 60_000 })
    await store.delete('a')
    const rows = await rawRows(name)
    expect(rows.get('a')).toMatchObject({ key: 'a', tombstone: true })
    expect(rows.get('b')).toMatchObject({ key: 'b', tombstone: false })
    expect(rows.get('b')!.expiresAt).toBeGreaterThan(Date.now())
    await store.close()
  })

  it('answers reads from the view before the document is decoded, then from the register', async () => {
    const name = uniqueName()
    const first = await openStore(name, { persistence: 'indexeddb' })
    await first.transact(() => {
      for (let i = 0; i < 500; i++) void first.set(`k${i}`, { i })
    })
    await first.delete('k7')
    await first.close()

    const second = await openStore(name, { persistence: 'indexeddb', backgroundLoadBytes: 0 })
    const loaded = vi.fn()
    void second.whenLoaded().then(loaded)
    // Same task as the open resolving: the document has not been decoded yet.
    expect(loaded).not.toHaveBeenCalled()
    expect(second.get('k3')).toEqual({ i: 3 })
    expect(second.has('k7')).toBe(false)
    expect(second.size).toBe(499)
    expect(second.keys({ prefix: 'k49' })).toEqual(['k49', 'k490', 'k491', 'k492', 'k493', 'k494', 'k495', 'k496', 'k497', 'k498', 'k499'])
    await second.whenLoaded()
    expect(second.get('k3')).toEqual({ i: 3 })
    expect(second.size).toBe(499)
    // A write before or after loading works the same.
    await second.set('k7', 'back')
    expect(second.get('k7')).toBe('back')
    await second.close()
  })

  it('shows writes made before the document arrived at once and applies them in order once it has', async () => {
    const name = uniqueName()
    const first = await openStore(name, { persistence: 'indexeddb' })
    await first.transact(() => {
      for (let i = 0; i < 300; i++) void first.set(`k${i}`, i)
    })
    await first.close()

    const store = await openStore(name, { persistence: 'indexeddb', backgroundLoadBytes: 0 })
    const events: string[] = []
    store.subscribe((event) => events.push(`${event.key}=${JSON.stringify(event.value)} (${event.origin})`))
    const value = { list: [1] }
    const writes = [
      store.set('k1', value),
      store.delete('k2'),
      store.transact(() => {
        void store.set('new', 'a', { ttl: 60_000 })
        void store.set('k3', 'three')
      }),
    ]
    value.list.push(2) // the store keeps its own copy
    expect(() => store.set('bad', (() => 1) as never)).toThrow(expect.objectContaining({ code: 'INVALID_VALUE' }))
    expect(() => store.set('bad', 1, { ttl: -1 })).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }))
    expect(store.get('k1')).toEqual({ list: [1] })
    expect(store.has('k2')).toBe(false)
    expect(store.keys({ prefix: 'new' })).toEqual(['new'])
    expect(store.size).toBe(300)
    await Promise.all(writes)
    await store.whenLoaded()
    expect(store.get('k1')).toEqual({ list: [1] })
    expect(store.has('k2')).toBe(false)
    expect(store.get('k3')).toBe('three')
    // In order of the writes; the two of one transaction come as one batch.
    expect(events.slice(0, 2)).toEqual(['k1={"list":[1]} (local)', 'k2=undefined (local)'])
    expect(events.slice(2).sort()).toEqual(['k3="three" (local)', 'new="a" (local)'])
    await store.close()
    const reopened = await openStore(name, { persistence: 'indexeddb' })
    expect(reopened.get('k1')).toEqual({ list: [1] })
    expect(reopened.has('k2')).toBe(false)
    expect(reopened.get('new')).toBe('a')
    await reopened.close()
  })

  it('decodes at once when written to before the background load', async () => {
    const name = uniqueName()
    const first = await openStore(name, { persistence: 'indexeddb' })
    await first.set('a', 1)
    await first.close()
    const second = await openStore(name, { persistence: 'indexeddb', backgroundLoadBytes: 0 })
    await second.set('b', 2)
    expect(second.entries()).toEqual([['a', 1], ['b', 2]])
    await second.close()
  })

  it('builds the view on the first open of a format-1 database', async () => {
    const name = uniqueName()
    const v1 = await openDB(databaseName(name), 1, {
      upgrade(database) {
        database.createObjectStore('updates', { autoIncrement: true })
        database.createObjectStore('meta')
      },
    })
    await v1.put('meta', 1, 'format')
    await v1.add('updates', bigUpdate(50))
    v1.close()

    const store = await openStore(name, { persistence: 'indexeddb' })
    expect(store.size).toBe(50)
    const rows = await rawRows(name)
    expect(rows.size).toBe(50)
    expect(rows.get('k10')).toMatchObject({ key: 'k10', tombstone: false })
    await store.close()
    const check = await openDB(databaseName(name))
    expect(check.version).toBe(2)
    expect(await check.get('meta', 'materialized')).toBe(1)
    check.close()
    // And the next open uses it.
    const again = await openStore(name, { persistence: 'indexeddb', backgroundLoadBytes: 0 })
    expect(again.get('k49')).toEqual({ i: 49, text: 'value 49' })
    await again.close()
  })

  it('reports an undecodable update found by the background load and keeps it', async () => {
    const name = uniqueName()
    const persistence = await IndexedDbPersistence.open(name)
    await persistence.append([new Uint8Array([255, 255, 255, 1, 2, 3])], new Map([['x', encodeRow(entry('x', 3))]]))
    await persistence.close()
    const store = await openStore(name, { persistence: 'indexeddb', backgroundLoadBytes: 0 })
    const errors: string[] = []
    store.onError((error) => errors.push(error.code))
    // Before the stored updates arrive the write waits for them and is rejected with the
    // decode error; after, it decodes at once and throws it.
    const early = (async () => store.set('early', 1))()
    await expect(store.whenLoaded()).rejects.toMatchObject({ code: 'CORRUPT_DATA' })
    await expect(early).rejects.toMatchObject({ code: 'CORRUPT_DATA' })
    expect(store.has('early')).toBe(false)
    expect(errors).toEqual(['CORRUPT_DATA'])
    expect(() => store.set('y', 1)).toThrow(expect.objectContaining({ code: 'CORRUPT_DATA' }))
    await store.close()
    const check = await openDB(databaseName(name))
    expect(await check.count('updates')).toBe(1)
    check.close()
  })

  it('packs the whole view at compaction and merges later rows over it', async () => {
    const name = uniqueName()
    const store = await openStore(name, { persistence: 'indexeddb', compactAfter: 3 })
    for (let i = 0; i < 6; i++) await store.set(`k${i}`, i)
    await store.flush()
    await store.delete('k0')
    await store.set('k1', 'later')
    await store.close()
    const db = await openDB(databaseName(name))
    expect(await db.count('view')).toBe(1)
    expect(await db.count('kv')).toBeLessThan(6)
    db.close()
    const rows = await rawRows(name)
    expect(rows.get('k0')).toMatchObject({ tombstone: true })
    expect(rows.get('k5')).toMatchObject({ tombstone: false })
    const reopened = await openStore(name, { persistence: 'indexeddb', backgroundLoadBytes: 0 })
    expect(reopened.entries()).toEqual([['k1', 'later'], ['k2', 2], ['k3', 3], ['k4', 4], ['k5', 5]])
    await reopened.close()
  })

  it('writes a bulk import as one snapshot with the packed view, not a row per key', async () => {
    const name = uniqueName()
    const store = await openStore(name, { persistence: 'indexeddb' })
    await store.transact(() => {
      for (let i = 0; i < 2_500; i++) void store.set(`bulk/${i}`, i)
    })
    await store.close()
    const db = await openDB(databaseName(name))
    expect(await db.count('kv')).toBe(0)
    expect(await db.count('view')).toBe(1)
    expect(await db.count('updates')).toBe(1)
    db.close()
    expect((await rawRows(name)).size).toBe(2_500)
  })

  it('round-trips packed rows and rejects a damaged pack', () => {
    const rows = new Map([['bé', encodeRow(entry('bé', 2, true))], ['a', encodeRow(entry('a', 1))], ['😀x', encodeRow(entry('😀x', 3))]])
    const packed = PackedView.parse(packRows(rows))!
    expect(packed.keys).toEqual(['a', 'bé', '😀x'])
    expect(decodeRow(packed.row('bé'))).toEqual(entry('bé', 2, true))
    expect(decodeRow(packed.row('😀x'))).toEqual(entry('😀x', 3))
    expect(packed.row('b')).toBeUndefined()
    const damaged = { ...packRows(rows), keys: 'abé' }
    expect(PackedView.parse(damaged)).toBeUndefined()
    expect(PackedView.parse({ ...packRows(rows), rowEnds: new Uint32Array([1, 2, 3]) })).toBeUndefined()
    expect(PackedView.parse(new Uint8Array(4))).toBeUndefined()
  })

  it('packs entries into the same record as packing their rows', () => {
    const entries: Array<[string, KvEntry]> = [
      ['bé', entry('bé', 2, true)],
      ['a', entry('a', 1)],
      ['😀x', entry('😀x', 3)],
      ['\uFFFF', { ...entry('\uFFFF', 2 ** 44), expiresAt: 2 ** 45, hlc: { wallMs: 2 ** 44, counter: 70_000, node: 0xffffffff } }],
      ['a/b', { ...entry('a/b', 5), value: new Uint8Array(300).fill(9) }],
      ['z', { ...entry('z', 6, true), hlc: { wallMs: 6, counter: 1, node: 0 } }],
    ]
    for (let i = 0; i < 200; i++) entries.push([`k${(i * 7919) % 200}-${i}`, entry(`k${(i * 7919) % 200}-${i}`, i)])
    const fromRows = packRows(new Map(entries.map(([key, value]) => [key, encodeRow(value)])))
    expect(packEntries(entries)).toEqual(fromRows)
    expect(packEntries([])).toEqual(packRows(new Map()))
    const packed = PackedView.parse(packEntries(entries))!
    for (const [key, value] of entries) expect(decodeRow(packed.row(key))).toEqual(value)
  })

  it('keeps the greater row when two connections commit in the opposite order', async () => {
    const name = uniqueName()
    const a = await IndexedDbPersistence.open(name)
    const b = await IndexedDbPersistence.open(name)
    await b.append([], new Map([['k', encodeRow(entry('k', 9))]]))
    await a.append([], new Map([['k', encodeRow(entry('k', 4))]]))
    expect((await rawRows(name)).get('k')).toMatchObject({ hlc: { wallMs: 9 } })
    await a.append([], new Map([['k', encodeRow(entry('k', 9, true))]]))
    expect((await rawRows(name)).get('k')).toMatchObject({ tombstone: true })
    await a.close()
    await b.close()
  })

  it('compaction reads back updates another connection committed before clearing them', async () => {
    const name = uniqueName()
    const a = await IndexedDbPersistence.open(name)
    const b = await IndexedDbPersistence.open(name)
    await a.load()
    await b.load()
    const fromB = bigUpdate(3, 'b')
    await b.append([fromB])
    const absorbed: Uint8Array[][] = []
    await a.compact({ snapshot: () => new Uint8Array([0, 0]), absorb: (updates) => absorbed.push(updates) })
    expect(absorbed).toEqual([[fromB]])
    // Updates it was told about (markKnown) are not read back.
    const id = (await b.append([fromB]))[0]!
    a.markKnown([id])
    await a.compact({ snapshot: () => new Uint8Array([0, 0]), absorb: (updates) => absorbed.push(updates) })
    expect(absorbed).toHaveLength(1)
    await a.close()
    await b.close()
  })

  it("commits with durability 'strict' when the store asks for it", async () => {
    const name = uniqueName()
    const store = await openStore(name, { persistence: 'indexeddb', durability: 'strict' })
    const spy = vi.spyOn(IDBDatabase.prototype, 'transaction')
    await store.set('a', 1)
    const writes = spy.mock.calls.filter(([, mode]) => mode === 'readwrite')
    spy.mockRestore()
    expect(writes.length).toBeGreaterThan(0)
    for (const call of writes) expect(call[2]).toEqual({ durability: 'strict' })
    // Once the promise resolved, another connection sees the write.
    const db = await openDB(databaseName(name))
    expect(await db.count('updates')).toBeGreaterThan(0)
    db.close()
    await store.close()
  })
})
