/**
 * Issue 7, IndexedDB format 3: a store keeps only its Yjs update log. Big stores answer reads
 * from entries scanned out of the log before the document is decoded, each commit is one
 * IndexedDB request, and databases of formats 1 and 2 upgrade in place.
 *
 * fake-indexeddb stands in for the browser here; e2e/tests/browser-*.spec.ts prove the same in
 * Chromium.
 */
import 'fake-indexeddb/auto'
import { KvRegister, applyStoredUpdate, type StoredUpdate } from '@kvsync/shared'
import { openDB } from 'idb'
import { describe, expect, it, vi } from 'vitest'
import * as Y from 'yjs'
import { openStore } from '../src/open-store.js'
import { IDB_FORMAT_VERSION, IndexedDbPersistence, databaseName } from '../src/storage/indexeddb.js'
import { MemoryPersistence } from '../src/storage/memory.js'

let counter = 0
const uniqueName = () => `log-only/${Date.now()}-${counter++}`

/** An update (Yjs V1) holding `count` keys written by a plain register (as another replica would). */
function bigUpdate(count: number, prefix = 'k'): Uint8Array {
  const doc = new Y.Doc()
  const register = new KvRegister(doc)
  doc.transact(() => {
    for (let i = 0; i < count; i++) register.set(`${prefix}${i}`, { i, text: `value ${i}` })
  })
  register.destroy()
  return Y.encodeStateAsUpdate(doc)
}

/** The same as Yjs V2, as IndexedDB formats 1 and 2 stored it. */
const bigUpdateV2 = (count: number): Uint8Array => Y.convertUpdateFormatV1ToV2(bigUpdate(count))

/** A database as kvsync formats 1 (updates, meta) and 2 (plus the view: kv, view) left it. */
async function oldDatabase(name: string, format: 1 | 2, updates: Uint8Array[]) {
  const db = await openDB(databaseName(name), format, {
    upgrade(database) {
      database.createObjectStore('updates', { autoIncrement: true })
      database.createObjectStore('meta')
      if (format === 2) {
        database.createObjectStore('kv')
        database.createObjectStore('view')
      }
    },
  })
  await db.put('meta', format, 'format')
  for (const update of updates) await db.add('updates', update)
  return db
}

/** Counts the IndexedDB requests that write or read records while `run` runs. */
async function requests(run: () => Promise<void>): Promise<Record<string, number>> {
  const counts: Record<string, number> = { add: 0, put: 0, get: 0, transactions: 0 }
  const spies = (['add', 'put', 'get'] as const).map((method) => {
    const original = IDBObjectStore.prototype[method] as (...args: unknown[]) => IDBRequest
    return vi.spyOn(IDBObjectStore.prototype, method).mockImplementation(function (this: IDBObjectStore, ...args: unknown[]) {
      counts[method]!++
      return original.apply(this, args)
    })
  })
  const transaction = IDBDatabase.prototype.transaction
  spies.push(
    vi.spyOn(IDBDatabase.prototype, 'transaction').mockImplementation(function (this: IDBDatabase, stores, mode, options) {
      if (mode === 'readwrite') counts.transactions!++
      return transaction.call(this, stores, mode, options)
    }) as never,
  )
  try {
    await run()
  } finally {
    spies.forEach((spy) => spy.mockRestore())
  }
  return counts
}

describe('IndexedDB format 3 (the update log only)', () => {
  it('writes each commit as one request in one transaction', async () => {
    const store = await openStore(uniqueName(), { persistence: 'indexeddb', multiTab: false })
    await store.set('warm', 0)
    const awaited = await requests(async () => {
      for (let i = 0; i < 10; i++) await store.set(`k${i}`, { i })
    })
    expect(awaited).toEqual({ add: 10, put: 0, get: 0, transactions: 10 })
    const batch = await requests(async () => {
      await store.transact(() => {
        for (let i = 0; i < 5_000; i++) void store.set(`bulk/${i}`, i)
      })
    })
    expect(batch).toEqual({ add: 1, put: 0, get: 0, transactions: 1 })
    await store.close()
  })

  it('answers reads from the scanned log before the document is decoded, then from the register', async () => {
    const name = uniqueName()
    const first = await openStore(name, { persistence: 'indexeddb' })
    await first.transact(() => {
      for (let i = 0; i < 500; i++) void first.set(`k${i}`, { i })
    })
    await first.delete('k7')
    await first.set('k8', 'expires', { ttl: 60_000 })
    await first.close()

    const second = await openStore(name, { persistence: 'indexeddb', backgroundLoadBytes: 0 })
    const loaded = vi.fn()
    void second.whenLoaded().then(loaded)
    // Same task as the open resolving: the document has not been decoded yet.
    expect(loaded).not.toHaveBeenCalled()
    expect(second.get('k3')).toEqual({ i: 3 })
    expect(second.has('k7')).toBe(false)
    expect(second.get('k8')).toBe('expires')
    expect(second.size).toBe(499)
    expect(second.keys({ prefix: 'k49' })).toEqual(['k49', 'k490', 'k491', 'k492', 'k493', 'k494', 'k495', 'k496', 'k497', 'k498', 'k499'])
    const before = second.entries()
    await second.whenLoaded()
    expect(loaded).toHaveBeenCalled()
    expect(second.entries()).toEqual(before)
    // A write after loading works as before.
    await second.set('k7', 'back')
    expect(second.get('k7')).toBe('back')
    await second.close()
  })

  it('decodes at once when written to before the background decode', async () => {
    const name = uniqueName()
    const first = await openStore(name, { persistence: 'indexeddb' })
    await first.set('a', 1)
    await first.close()
    const second = await openStore(name, { persistence: 'indexeddb', backgroundLoadBytes: 0 })
    const events: string[] = []
    second.subscribe((event) => events.push(`${event.key}=${JSON.stringify(event.value)}`))
    await second.set('b', 2)
    expect(second.entries()).toEqual([['a', 1], ['b', 2]])
    expect(events).toEqual(['b=2'])
    await second.close()
  })

  it('upgrades a format-2 database: drops the view, keeps the log (its updates marked V2)', async () => {
    const name = uniqueName()
    const v2 = await oldDatabase(name, 2, [bigUpdateV2(50)])
    await v2.put('meta', 1, 'materialized')
    await v2.put('kv', new Uint8Array([1, 2, 3]), 'k1')
    await v2.put('view', { version: 1, keys: '', keyEnds: new Uint32Array(), rows: new Uint8Array(), rowEnds: new Uint32Array() }, 'all')
    v2.close()

    const store = await openStore(name, { persistence: 'indexeddb', backgroundLoadBytes: 0 })
    expect(store.size).toBe(50)
    expect(store.get('k10')).toEqual({ i: 10, text: 'value 10' })
    await store.set('k10', 'new')
    await store.close()
    const check = await openDB(databaseName(name))
    expect(check.version).toBe(IDB_FORMAT_VERSION)
    expect([...check.objectStoreNames].sort()).toEqual(['meta', 'updates'])
    expect(await check.get('meta', 'format')).toBe(IDB_FORMAT_VERSION)
    expect(await check.get('meta', 'materialized')).toBeUndefined()
    // The old record is marked V2, the later commit is V1; together they hold the 50 keys.
    const records = (await check.getAll('updates')) as StoredUpdate[]
    expect(records[0]).toEqual({ v2: expect.any(Uint8Array) })
    expect(records.at(-1)).toBeInstanceOf(Uint8Array)
    const doc = new Y.Doc()
    for (const update of records) applyStoredUpdate(doc, update)
    expect(new KvRegister(doc).get('k10')).toBe('new')
    check.close()
    const again = await openStore(name, { persistence: 'indexeddb' })
    expect(again.get('k10')).toBe('new')
    expect(again.size).toBe(50)
    await again.close()
  })

  it('opens a format-1 database, its updates marked V2', async () => {
    const name = uniqueName()
    const v1 = await oldDatabase(name, 1, [bigUpdateV2(50)])
    v1.close()
    const store = await openStore(name, { persistence: 'indexeddb', backgroundLoadBytes: 0 })
    expect(store.get('k49')).toEqual({ i: 49, text: 'value 49' })
    expect(store.size).toBe(50)
    await store.close()
    const check = await openDB(databaseName(name))
    expect(check.version).toBe(IDB_FORMAT_VERSION)
    const records = (await check.getAll('updates')) as StoredUpdate[]
    expect(records).toEqual([{ v2: expect.any(Uint8Array) }])
    const doc = new Y.Doc()
    applyStoredUpdate(doc, records[0]!)
    expect(new KvRegister(doc).size).toBe(50)
    check.close()
  })

  it('reports a stored record that is no update as CORRUPT_DATA after the upgrade, keeping its bytes', async () => {
    const name = uniqueName()
    const stored = bigUpdateV2(5)
    const v2 = await oldDatabase(name, 2, [stored, new Uint8Array([255, 255, 255, 1, 2, 3])])
    v2.close()
    await expect(openStore(name, { persistence: 'indexeddb' })).rejects.toMatchObject({ code: 'CORRUPT_DATA' })
    const check = await openDB(databaseName(name))
    expect(await check.getAll('updates')).toEqual([{ v2: stored }, { v2: new Uint8Array([255, 255, 255, 1, 2, 3]) }])
    check.close()
  })

  it('opens a log the scan leaves to Yjs (nested types written by another client)', async () => {
    const name = uniqueName()
    // A nested Y.Map: ScannedEntries.scan gives up on it (see scanned-entries.test.ts).
    const doc = new Y.Doc()
    const register = new KvRegister(doc)
    register.set('plain', 1)
    doc.getMap('other').set('nested', new Y.Map())
    ;(doc.getMap('other').get('nested') as Y.Map<number>).set('x', 1)
    const persistence = await IndexedDbPersistence.open(name)
    await persistence.append([Y.encodeStateAsUpdate(doc)])
    await persistence.close()
    const store = await openStore(name, { persistence: 'indexeddb', backgroundLoadBytes: 0 })
    expect(store.get('plain')).toBe(1)
    expect(store.keys()).toEqual(['plain'])
    await store.close()
  })

  it('compaction reads back updates another connection committed before clearing them', async () => {
    const name = uniqueName()
    const a = await IndexedDbPersistence.open(name)
    const b = await IndexedDbPersistence.open(name)
    await a.load()
    await b.load()
    const fromB = bigUpdate(3, 'b')
    await b.append([fromB])
    const absorbed: StoredUpdate[][] = []
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

  it('compacts by bytes: rewriting big batches keeps the log within about twice the state', async () => {
    const persistence = new MemoryPersistence()
    const store = await openStore(uniqueName(), { persistence })
    let largest = 0
    for (let round = 0; round < 30; round++) {
      await store.transact(() => {
        for (let i = 0; i < 2_000; i++) void store.set(`key-${i}`, { round, text: `value ${i} of round ${round}` })
      })
      const { size } = persistence
      largest = Math.max(largest, size.bytes - size.snapshotBytes)
      // Once the compaction it started (in the background) is done, the V1 bytes appended never
      // pass the larger of the snapshot and 256 KiB by more than one commit.
      await vi.waitFor(() => expect(size.bytes - size.snapshotBytes).toBeLessThanOrEqual(Math.max(size.snapshotBytes, 256 * 1024) + 120_000))
    }
    // 30 rounds of ~90 KB each were written: without compaction by bytes all would be kept.
    expect(persistence.size.count).toBeLessThan(30)
    expect(largest).toBeGreaterThan(0)
    expect(store.get('key-7')).toEqual({ round: 29, text: 'value 7 of round 29' })
    await store.close()
  })
})
