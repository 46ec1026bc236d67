import 'fake-indexeddb/auto'
import { isKvsyncError } from '@kvsync/shared'
import { openDB } from 'idb'
import { describe, expect, it, vi } from 'vitest'
import { openStore } from '../open-store.js'
import { IDB_FORMAT_VERSION, IndexedDbPersistence, databaseName } from './indexeddb.js'

// fake-indexeddb stands in for the browser here; e2e/ proves the same in real Chromium.
let counter = 0
const uniqueName = () => `idb-test/${Date.now()}-${counter++}`

describe('IndexedDB persistence', () => {
  it('keeps every committed write across reopen', async () => {
    const name = uniqueName()
    const first = await openStore(name, { persistence: 'indexeddb' })
    await first.set('a', { nested: [1, 2, 3] })
    await first.set('bytes', new Uint8Array([1, 2, 3]))
    await first.set('when', new Date(86_400_000))
    await first.delete('a')
    await first.set('b', 'kept')
    await first.close()
    const second = await openStore(name, { persistence: 'indexeddb' })
    expect(second.get('a')).toBeUndefined()
    expect(second.get('b')).toBe('kept')
    expect(second.get('bytes')).toEqual(new Uint8Array([1, 2, 3]))
    expect(second.get('when')).toEqual(new Date(86_400_000))
    await second.close()
  })

  it('compacts the update log into one snapshot without losing writes', async () => {
    const name = uniqueName()
    const store = await openStore(name, { persistence: 'indexeddb', compactAfter: 10 })
    for (let i = 0; i < 35; i++) await store.set(`k${i}`, i)
    await store.flush()
    await store.close()
    const db = await openDB(databaseName(name))
    const stored = await db.count('updates')
    db.close()
    expect(stored).toBeLessThanOrEqual(11)
    const reopened = await openStore(name, { persistence: 'indexeddb' })
    expect(reopened.size).toBe(35)
    await reopened.close()
  })

  it('by default compacts the log once it passes 500 updates', async () => {
    const name = uniqueName()
    const count = async () => {
      const db = await openDB(databaseName(name))
      const stored = await db.count('updates')
      db.close()
      return stored
    }
    const store = await openStore(name, { persistence: 'indexeddb' })
    for (let i = 0; i < 500; i++) await store.set(`k${i}`, i)
    await store.flush()
    expect(await count()).toBe(500)
    await store.set('one more', 500)
    await store.close()
    expect(await count()).toBe(1)
  })

  it('refuses a database of a newer format and leaves it untouched', async () => {
    const name = uniqueName()
    const store = await openStore(name, { persistence: 'indexeddb' })
    await store.set('precious', 1)
    await store.close()
    const db = await openDB(databaseName(name))
    await db.put('meta', IDB_FORMAT_VERSION + 1, 'format')
    db.close()
    await expect(openStore(name, { persistence: 'indexeddb' })).rejects.toMatchObject({ code: 'UNSUPPORTED_FORMAT' })
    const check = await openDB(databaseName(name))
    expect(await check.count('updates')).toBeGreaterThan(0)
    check.close()
  })

  it('reports a corrupt record as CORRUPT_DATA and does not wipe it', async () => {
    const name = uniqueName()
    const persistence = await IndexedDbPersistence.open(name)
    await persistence.append([new Uint8Array([255, 255, 255, 1, 2, 3])])
    await persistence.close()
    await expect(openStore(name, { persistence: 'indexeddb' })).rejects.toMatchObject({ code: 'CORRUPT_DATA' })
    const check = await openDB(databaseName(name))
    expect(await check.count('updates')).toBe(1)
    check.close()
  })
})

describe('durability', () => {
  /** The durability of every readwrite transaction the store opens while `run` runs. */
  async function durabilities(run: () => Promise<void>): Promise<string[]> {
    const seen: string[] = []
    const original = IDBDatabase.prototype.transaction
    const spy = vi.spyOn(IDBDatabase.prototype, 'transaction').mockImplementation(function (this: IDBDatabase, stores, mode, options) {
      if (mode === 'readwrite') seen.push(options?.durability ?? 'default')
      return original.call(this, stores, mode, options)
    })
    try {
      await run()
    } finally {
      spy.mockRestore()
    }
    return seen
  }

  it("commits with the browsers' default durability ('relaxed') by default and with 'strict' when asked", async () => {
    const relaxed = await durabilities(async () => {
      const store = await openStore(uniqueName(), { persistence: 'indexeddb', compactAfter: 2 })
      for (let i = 0; i < 4; i++) await store.set(`k${i}`, i)
      await store.close()
    })
    expect(relaxed.length).toBeGreaterThan(4)
    // No options: 'relaxed' is the default of current browsers (see transactionOptions).
    expect(new Set(relaxed)).toEqual(new Set(['default']))
    const strict = await durabilities(async () => {
      const store = await openStore(uniqueName(), { persistence: 'indexeddb', durability: 'strict', compactAfter: 2 })
      for (let i = 0; i < 4; i++) await store.set(`k${i}`, i)
      await store.close()
    })
    expect(strict.length).toBeGreaterThan(4)
    expect(new Set(strict)).toEqual(new Set(['strict']))
  })

  it('commits each append at once, and appends where the engine has no commit()', async () => {
    const persistence = await IndexedDbPersistence.open(uniqueName())
    await persistence.load()
    const commit = vi.spyOn(IDBTransaction.prototype, 'commit')
    try {
      await persistence.append([new Uint8Array([0, 0])])
      await persistence.append([new Uint8Array([0, 0]), new Uint8Array([0, 0])])
      expect(commit).toHaveBeenCalledTimes(2)
    } finally {
      commit.mockRestore()
    }
    // Engines before IDBTransaction.commit (Safari < 15) commit when the transaction idles.
    const original = Object.getOwnPropertyDescriptor(IDBTransaction.prototype, 'commit')!
    delete (IDBTransaction.prototype as { commit?: unknown }).commit
    try {
      expect(await persistence.append([new Uint8Array([0, 0])])).toHaveLength(1)
    } finally {
      Object.defineProperty(IDBTransaction.prototype, 'commit', original)
    }
    expect(persistence.size.count).toBe(4)
    await persistence.close()
  })

  it('refuses an unknown durability with INVALID_OPTION before opening anything', async () => {
    const name = uniqueName()
    const error = await openStore(name, { persistence: 'indexeddb', durability: 'fast' as never }).catch((thrown: unknown) => thrown)
    expect(isKvsyncError(error, 'INVALID_OPTION')).toBe(true)
    await expect(openStore(name, { persistence: 'memory', durability: 'none' as never })).rejects.toMatchObject({ code: 'INVALID_OPTION' })
    await expect(IndexedDbPersistence.open(name, { durability: 'STRICT' as never })).rejects.toMatchObject({ code: 'INVALID_OPTION' })
    expect((await indexedDB.databases()).map((database) => database.name)).not.toContain(databaseName(name))
  })
})

describe('destroy', () => {
  it('closes the store and deletes its database on purpose', async () => {
    const name = uniqueName()
    const store = await openStore(name, { persistence: 'indexeddb' })
    await store.set('gone', 1)
    await store.destroy()
    expect(() => store.get('gone')).toThrow(expect.objectContaining({ code: 'STORE_CLOSED' }))
    const names = (await indexedDB.databases()).map((database) => database.name)
    expect(names).not.toContain(databaseName(name))
    const fresh = await openStore(name, { persistence: 'indexeddb' })
    expect(fresh.size).toBe(0)
    await fresh.close()
  })
})

describe('versionchange', () => {
  it('lets a newer version open the database and reports that this store lost it', async () => {
    const name = uniqueName()
    const store = await openStore(name, { persistence: 'indexeddb', multiTab: false })
    const errors: string[] = []
    store.onError((error) => errors.push(error.code))
    await store.set('a', 1)
    const newer = await openDB(databaseName(name), IDB_FORMAT_VERSION + 1)
    expect(errors).toEqual(['PERSISTENCE_FAILED'])
    newer.close()
    expect(store.get('a')).toBe(1)
    await store.close()
  })
})

describe('records another instance stored', () => {
  it('reads them back, and forgets them only once marked known (compaction would clear them)', async () => {
    const name = uniqueName()
    const reader = await IndexedDbPersistence.open(name)
    await reader.load()
    const writer = await IndexedDbPersistence.open(name)
    await writer.load()
    const [record] = await writer.append([new Uint8Array([0, 0])])
    const first = await reader.readUnknown()
    expect(first.records).toEqual([record])
    expect(first.updates).toEqual([new Uint8Array([0, 0])])
    // Not applied yet (say the apply failed): still unknown.
    expect((await reader.readUnknown()).records).toEqual([record])
    reader.markKnown(first.records)
    expect(await reader.readUnknown()).toEqual({ records: [], updates: [] })
    await writer.close()
    await reader.close()
  })

  it('refuses a record that is not an update, in a read-back and in a compaction, and leaves it', async () => {
    const name = uniqueName()
    const persistence = await IndexedDbPersistence.open(name)
    await persistence.load()
    // Another writer (not kvsync) puts something else into the log.
    const foreign = await openDB(databaseName(name))
    await foreign.add('updates', { not: 'an update' })
    foreign.close()
    await expect(persistence.readUnknown()).rejects.toMatchObject({ code: 'CORRUPT_DATA' })
    await expect(persistence.compact({ snapshot: () => new Uint8Array([0, 0]) })).rejects.toMatchObject({ code: 'CORRUPT_DATA' })
    await persistence.close()
    const check = await openDB(databaseName(name))
    expect(await check.getAll('updates')).toEqual([{ not: 'an update' }])
    check.close()
  })
})
