import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { isKvsyncError } from '@kvsync/shared'
import { rejection, runDocStorageSuite } from '@kvsync/shared/testing'
import type { DocStorage } from '@kvsync/shared'
import { SQLITE_FILE_NAME, SqliteDocStorage } from './sqlite.js'

runDocStorageSuite('SqliteDocStorage', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'kvsync-sqlite-'))
  const opened: DocStorage[] = [new SqliteDocStorage({ dataDir })]
  return {
    adapter: opened[0] as DocStorage,
    async reopen() {
      const adapter = new SqliteDocStorage({ dataDir })
      opened.push(adapter)
      return adapter
    },
    async teardown() {
      for (const adapter of opened) await adapter.close?.()
      await rm(dataDir, { recursive: true, force: true })
    },
  }
})

// The real storage thread, which dies on request: loading "exit" ends it, loading "throw"
// throws an uncaught error in it.
const crashingWorker = new URL('../../test/fixtures/crashing-sqlite-worker.mjs', import.meta.url)
const cleanups: Array<() => Promise<unknown>> = []

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function openStorage(options: { workerUrl?: URL } = {}): Promise<{ storage: SqliteDocStorage; dataDir: string }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'kvsync-sqlite-'))
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }))
  const storage = new SqliteDocStorage({ dataDir, ...options })
  cleanups.push(() => storage.close())
  return { storage, dataDir }
}

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values)

describe('SqliteDocStorage thread', () => {
  it('rejects pending calls with STORAGE_FAILED when the thread exits, then starts a new one', async () => {
    const { storage } = await openStorage({ workerUrl: crashingWorker })
    await storage.appendUpdate('doc', bytes(1))
    const dying = storage.loadUpdates('exit')
    // Sent to the same thread behind the fatal call: it is never answered.
    const behind = storage.appendUpdate('doc', bytes(2))
    for (const error of [await rejection(dying), await rejection(behind)]) {
      expect(isKvsyncError(error) && error.code).toBe('STORAGE_FAILED')
      expect((error as Error).cause).toBeInstanceOf(Error)
    }
    await storage.appendUpdate('doc', bytes(3))
    expect(await storage.loadUpdates('doc')).toEqual([bytes(1), bytes(3)])
  })

  it('reports an uncaught error of the thread as the cause', async () => {
    const { storage } = await openStorage({ workerUrl: crashingWorker })
    const error = await rejection(storage.loadUpdates('throw'))
    expect(isKvsyncError(error) && error.code).toBe('STORAGE_FAILED')
    expect(((error as Error).cause as Error).message).toBe('boom')
  })

  it('closes after a crash without starting a new thread', async () => {
    const { storage } = await openStorage({ workerUrl: crashingWorker })
    await rejection(storage.loadUpdates('exit'))
    await storage.close()
    const error = await rejection(storage.appendUpdate('doc', bytes(1)))
    expect(isKvsyncError(error) && error.code).toBe('STORE_CLOSED')
  })

  it('stores every write made before close, in order, and refuses later ones', async () => {
    const { storage, dataDir } = await openStorage()
    const writes = Array.from({ length: 50 }, (_, i) =>
      i % 2 === 0 ? storage.appendUpdate('doc', bytes(i)) : storage.appendUpdates([{ doc: 'doc', update: bytes(i) }]),
    )
    const closed = storage.close()
    const late = await rejection(storage.appendUpdate('doc', bytes(99)))
    expect(isKvsyncError(late) && late.code).toBe('STORE_CLOSED')
    await Promise.all([...writes, closed])
    const reopened = new SqliteDocStorage({ dataDir })
    cleanups.push(() => reopened.close())
    expect(await reopened.loadUpdates('doc')).toEqual(Array.from({ length: 50 }, (_, i) => bytes(i)))
  })

  it('leaves the caller its buffers: nothing passed in is detached', async () => {
    const { storage } = await openStorage()
    const backing = bytes(9, 1, 2, 3, 9)
    const update = backing.subarray(1, 4)
    await storage.appendUpdates([{ doc: 'doc', update }])
    await storage.compact('doc', update, 1)
    expect(backing.byteLength).toBe(5)
    expect(await storage.loadUpdates('doc')).toEqual([bytes(1, 2, 3)])
  })

  it('rejects with STORAGE_FAILED and the driver error as cause when SQLite fails', async () => {
    const { storage, dataDir } = await openStorage()
    // Another connection holding the write lock: the thread gives up after its busy timeout.
    const blocker = new Database(join(dataDir, SQLITE_FILE_NAME))
    cleanups.push(async () => blocker.close())
    blocker.exec('BEGIN EXCLUSIVE')
    const error = await rejection(storage.appendUpdate('doc', bytes(1)))
    blocker.exec('ROLLBACK')
    expect(isKvsyncError(error) && error.code).toBe('STORAGE_FAILED')
    expect(((error as Error).cause as { code?: string }).code).toBe('SQLITE_BUSY')
    await storage.appendUpdate('doc', bytes(2))
    expect(await storage.loadUpdates('doc')).toEqual([bytes(2)])
  })
})
