import { spawn, spawnSync } from 'node:child_process'
import { mkdtemp, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { crc32 } from 'node:zlib'
import { KvRegister } from '@kvsync/shared'
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { openStore } from '../open-store.js'
import { FILE_FORMAT_VERSION, FilePersistence } from './file.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function tempFile(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kvsync-file-'))
  cleanups.push(() => rm(dir, { recursive: true, force: true }))
  return join(dir, 'store.kvsync')
}

async function fileStore(path: string, compactAfter?: number) {
  return openStore('file/test', { persistence: await FilePersistence.open(path), ...(compactAfter ? { compactAfter } : {}) })
}

describe('FilePersistence', () => {
  it('keeps every committed write across reopen', async () => {
    const path = await tempFile()
    const first = await fileStore(path)
    await first.set('a', { nested: [1, 2] })
    await first.set('bytes', new Uint8Array([9, 8]))
    await first.delete('a')
    await first.set('b', 'kept')
    await first.close()
    const second = await fileStore(path)
    expect(second.entries()).toEqual([['b', 'kept'], ['bytes', new Uint8Array([9, 8])]])
    await second.close()
  })

  it('compacts into one snapshot by atomic rename without losing writes', async () => {
    const path = await tempFile()
    const store = await fileStore(path, 5)
    for (let i = 0; i < 40; i++) await store.set(`k${i % 10}`, i)
    await store.flush()
    await store.close()
    const before = (await stat(path)).size
    const reopened = await fileStore(path)
    expect(reopened.size).toBe(10)
    expect(reopened.get('k9')).toBe(39)
    await reopened.close()
    expect(before).toBeLessThan(2_000)
  })

  it('ignores a torn last record and keeps appending after the intact ones', async () => {
    const path = await tempFile()
    const store = await fileStore(path)
    await store.set('first', 1)
    await store.set('second', 2)
    await store.set('torn', 3)
    await store.close()
    // A crash in the middle of the last append: part of its record reached the disk.
    for (const cut of [1, 5, 9]) {
      const copy = `${path}.${cut}`
      await writeFile(copy, await readFile(path))
      await truncate(copy, (await stat(copy)).size - cut)
      const reopened = await fileStore(copy)
      expect(reopened.entries()).toEqual([['first', 1], ['second', 2]])
      await reopened.set('after', 4)
      await reopened.close()
      const again = await fileStore(copy)
      expect(again.entries()).toEqual([['after', 4], ['first', 1], ['second', 2]])
      await again.close()
    }
  })

  it('ignores the temp file of a compaction that crashed before its rename', async () => {
    const path = await tempFile()
    const store = await fileStore(path)
    await store.set('safe', true)
    await store.close()
    await writeFile(`${path}.tmp`, Buffer.from('KVSF\x01\x10\x00\x00'))
    const reopened = await fileStore(path)
    expect(reopened.get('safe')).toBe(true)
    await reopened.close()
  })

  it('refuses a file damaged in the middle and leaves it as is', async () => {
    const path = await tempFile()
    const store = await fileStore(path)
    await store.set('a', 'x'.repeat(100))
    await store.set('b', 2)
    await store.close()
    const bytes = await readFile(path)
    bytes[20] = bytes[20]! ^ 0xff
    await writeFile(path, bytes)
    await expect(FilePersistence.open(path)).rejects.toMatchObject({ code: 'CORRUPT_DATA' })
    expect(await readFile(path)).toEqual(bytes)
    // The failed open released its lock.
    await expect(FilePersistence.open(path).then((p) => p.close())).rejects.toMatchObject({ code: 'CORRUPT_DATA' })
  })

  it('re-frames a version-1 file (Yjs V2 records) on first open, then appends V1 after it', async () => {
    const path = await tempFile()
    const doc = new Y.Doc()
    const register = new KvRegister(doc)
    register.set('a', 1)
    register.set('b', { two: 2 })
    await writeFile(path, version1File([Y.encodeStateAsUpdateV2(doc)]))
    const store = await fileStore(path)
    expect(store.entries()).toEqual([['a', 1], ['b', { two: 2 }]])
    await store.set('c', 3)
    await store.close()
    const bytes = await readFile(path)
    expect(bytes[4]).toBe(FILE_FORMAT_VERSION)
    const again = await fileStore(path)
    expect(again.entries()).toEqual([['a', 1], ['b', { two: 2 }], ['c', 3]])
    await again.close()
  })

  it('reports a version-1 record that is no update as CORRUPT_DATA, keeping its bytes', async () => {
    const path = await tempFile()
    const damaged = new Uint8Array([255, 255, 255, 1, 2, 3])
    await writeFile(path, version1File([damaged]))
    await expect(fileStore(path)).rejects.toMatchObject({ code: 'CORRUPT_DATA' })
    const persistence = await FilePersistence.open(path)
    expect(await persistence.load()).toEqual([{ v2: damaged }])
    await persistence.close()
  })

  it('refuses a file of a newer format', async () => {
    const path = await tempFile()
    await writeFile(path, Buffer.from('KVSF\x09'))
    await expect(FilePersistence.open(path)).rejects.toMatchObject({ code: 'UNSUPPORTED_FORMAT' })
  })

  it('refuses a second opener while the first holds the lock', async () => {
    const path = await tempFile()
    const first = await FilePersistence.open(path)
    await expect(FilePersistence.open(path)).rejects.toMatchObject({ code: 'STORE_LOCKED', message: expect.stringContaining('in use') })
    await first.close()
    const second = await FilePersistence.open(path)
    await second.close()
  })

  it('refuses to open a file whose lock belongs to another live process', async () => {
    const path = await tempFile()
    const other = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' })
    const exited = new Promise((resolve) => other.once('exit', resolve))
    cleanups.push(async () => {
      other.kill()
      await exited
    })
    await writeFile(`${path}.lock`, String(other.pid))
    await expect(FilePersistence.open(path)).rejects.toMatchObject({ code: 'STORE_LOCKED', message: expect.stringContaining(`process ${other.pid}`) })
    other.kill()
    await exited
    const persistence = await FilePersistence.open(path)
    await persistence.close()
  })

  it('takes over a lock left by a process that died', async () => {
    const path = await tempFile()
    const dead = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' })
    await writeFile(`${path}.lock`, dead.stdout.trim())
    const persistence = await FilePersistence.open(path)
    await persistence.close()
  })
})

/** A store file as kvsync wrote it before file format 2: header version 1, Yjs V2 records. */
function version1File(updates: Uint8Array[]): Buffer {
  const records = updates.map((update) => {
    const head = Buffer.alloc(8)
    head.writeUInt32LE(update.byteLength, 0)
    head.writeUInt32LE(crc32(update), 4)
    return Buffer.concat([head, update])
  })
  return Buffer.concat([Buffer.from('KVSF'), Buffer.from([1]), ...records])
}
