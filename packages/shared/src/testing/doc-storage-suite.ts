import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { isKvsyncError } from '../errors.js'
import type { DocStorage } from '../storage.js'
import { rejection } from './rejection.js'

/** What a {@link runDocStorageSuite} setup function returns for one test. */
export interface DocStorageFixture {
  /** A fresh, empty adapter. */
  readonly adapter: DocStorage
  /** Closes whatever is still open and removes temporary files. Called after every test. */
  teardown(): Promise<void>
  /**
   * Persistent adapters only: opens a new adapter over the same data (the first one is closed
   * by the suite before). The suite's teardown must also dispose of reopened adapters.
   */
  reopen?(): Promise<DocStorage>
}

const encoder = new TextEncoder()

function bytes(text: string): Uint8Array {
  return encoder.encode(text)
}

const hexDigits = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'))

/** Hex strings compare the same whether an adapter returns `Uint8Array` or a subclass of it. */
function hex(updates: ReadonlyArray<Uint8Array>): string[] {
  return updates.map((update) => {
    let text = ''
    for (const byte of update) text += hexDigits[byte]
    return text
  })
}

/**
 * Conformance suite for a {@link DocStorage} adapter: every adapter's test file calls it once.
 * `setup` runs before each test and must return a fresh, empty adapter.
 *
 * @example
 * ```ts
 * runDocStorageSuite('MemoryDocStorage', async () => {
 *   const adapter = new MemoryDocStorage()
 *   return { adapter, teardown: () => adapter.close() }
 * })
 * ```
 */
export function runDocStorageSuite(name: string, setup: () => Promise<DocStorageFixture>): void {
  describe(`DocStorage conformance: ${name}`, () => {
    let fixture: DocStorageFixture
    let storage: DocStorage

    beforeEach(async () => {
      fixture = await setup()
      storage = fixture.adapter
    })

    afterEach(async () => {
      await fixture.teardown()
    })

    it('loads a missing document as an empty array', async () => {
      expect(await storage.loadUpdates('missing')).toEqual([])
    })

    it('returns updates in append order', async () => {
      await storage.appendUpdate('doc', bytes('one'))
      await storage.appendUpdate('doc', bytes('two'))
      await storage.appendUpdate('doc', bytes('three'))
      expect(hex(await storage.loadUpdates('doc'))).toEqual(hex([bytes('one'), bytes('two'), bytes('three')]))
    })

    it('keeps call order for overlapping appends', async () => {
      const updates = Array.from({ length: 50 }, (_, index) => bytes(`update-${index}`))
      await Promise.all(updates.map((update) => storage.appendUpdate('doc', update)))
      expect(hex(await storage.loadUpdates('doc'))).toEqual(hex(updates))
    })

    it('keeps its own copy of appended and loaded bytes', async () => {
      const update = bytes('original')
      await storage.appendUpdate('doc', update)
      update.fill(0)
      const [loaded] = await storage.loadUpdates('doc')
      expect(loaded).toBeDefined()
      loaded?.fill(1)
      expect(hex(await storage.loadUpdates('doc'))).toEqual(hex([bytes('original')]))
    })

    it('stores empty and 1 MiB updates', async () => {
      const large = new Uint8Array(1024 * 1024)
      for (let index = 0; index < large.length; index++) large[index] = (index * 31) % 251
      await storage.appendUpdate('doc', new Uint8Array(0))
      await storage.appendUpdate('doc', large)
      const loaded = await storage.loadUpdates('doc')
      expect(loaded.map((update) => update.byteLength)).toEqual([0, large.byteLength])
      expect(hex(loaded)).toEqual(hex([new Uint8Array(0), large]))
    })

    it('treats adjacent id prefixes as unrelated documents', async () => {
      await storage.appendUpdate('a', bytes('a'))
      await storage.appendUpdate('a/b', bytes('a/b'))
      await storage.appendUpdate('ab', bytes('ab'))
      await storage.appendUpdate('a-', bytes('a-'))
      expect(hex(await storage.loadUpdates('a'))).toEqual(hex([bytes('a')]))
      expect(hex(await storage.loadUpdates('a/b'))).toEqual(hex([bytes('a/b')]))
      expect(hex(await storage.loadUpdates('ab'))).toEqual(hex([bytes('ab')]))
      await storage.deleteDoc('a')
      expect(await storage.loadUpdates('a')).toEqual([])
      expect((await storage.listDocs()).sort()).toEqual(['a-', 'a/b', 'ab'])
      await storage.compact('a/b', bytes('merged'), 1)
      expect(hex(await storage.loadUpdates('ab'))).toEqual(hex([bytes('ab')]))
      expect(hex(await storage.loadUpdates('a-'))).toEqual(hex([bytes('a-')]))
    })

    it('compacts the first replacedCount updates and keeps later ones after the snapshot', async () => {
      for (const text of ['u1', 'u2', 'u3', 'u4']) await storage.appendUpdate('doc', bytes(text))
      await storage.compact('doc', bytes('merged'), 3)
      expect(hex(await storage.loadUpdates('doc'))).toEqual(hex([bytes('merged'), bytes('u4')]))
      await storage.appendUpdate('doc', bytes('u5'))
      await storage.compact('doc', bytes('merged-2'), 2)
      expect(hex(await storage.loadUpdates('doc'))).toEqual(hex([bytes('merged-2'), bytes('u5')]))
    })

    it('keeps appends that overlap a compaction', async () => {
      for (const text of ['u1', 'u2']) await storage.appendUpdate('doc', bytes(text))
      await Promise.all([
        storage.compact('doc', bytes('merged'), 2),
        storage.appendUpdate('doc', bytes('u3')),
      ])
      expect(hex(await storage.loadUpdates('doc'))).toEqual(hex([bytes('merged'), bytes('u3')]))
    })

    it('replaces everything when replacedCount exceeds the stored count', async () => {
      await storage.appendUpdate('doc', bytes('u1'))
      await storage.compact('doc', bytes('merged'), 10)
      expect(hex(await storage.loadUpdates('doc'))).toEqual(hex([bytes('merged')]))
    })

    it('compacts a missing document into a single snapshot', async () => {
      await storage.compact('fresh', bytes('merged'), 0)
      expect(hex(await storage.loadUpdates('fresh'))).toEqual(hex([bytes('merged')]))
    })

    it('appends a batch to several documents in order', async () => {
      if (storage.appendUpdates === undefined) return
      await storage.appendUpdate('x', bytes('x0'))
      await storage.appendUpdates([
        { doc: 'x', update: bytes('x1') },
        { doc: 'y', update: bytes('y1') },
        { doc: 'x', update: bytes('x2') },
      ])
      expect(hex(await storage.loadUpdates('x'))).toEqual(hex([bytes('x0'), bytes('x1'), bytes('x2')]))
      expect(hex(await storage.loadUpdates('y'))).toEqual(hex([bytes('y1')]))
      await storage.appendUpdates([])
      expect((await storage.listDocs()).sort()).toEqual(['x', 'y'])
    })

    it('lists documents with updates and forgets deleted ones', async () => {
      expect(await storage.listDocs()).toEqual([])
      await storage.appendUpdate('prefs/user-1', bytes('1'))
      await storage.appendUpdate('prefs/user-1', bytes('2'))
      await storage.appendUpdate('config/prod', bytes('3'))
      expect((await storage.listDocs()).sort()).toEqual(['config/prod', 'prefs/user-1'])
      await storage.deleteDoc('prefs/user-1')
      await storage.deleteDoc('never-existed')
      expect(await storage.listDocs()).toEqual(['config/prod'])
      expect(await storage.loadUpdates('prefs/user-1')).toEqual([])
    })

    it('closes twice without error and rejects later calls with STORE_CLOSED', async () => {
      await storage.close?.()
      await storage.close?.()
      if (storage.close === undefined) return
      const error = await rejection(storage.loadUpdates('doc'))
      expect(isKvsyncError(error, 'STORE_CLOSED')).toBe(true)
      expect(isKvsyncError(await rejection(storage.appendUpdate('doc', bytes('x'))), 'STORE_CLOSED')).toBe(true)
    })

    it('keeps data across close and reopen', async () => {
      if (fixture.reopen === undefined) return
      await storage.appendUpdate('doc', bytes('u1'))
      await storage.appendUpdate('doc', bytes('u2'))
      await storage.compact('doc', bytes('merged'), 1)
      await storage.appendUpdate('other', bytes('o1'))
      await storage.close?.()
      const reopened = await fixture.reopen()
      expect(hex(await reopened.loadUpdates('doc'))).toEqual(hex([bytes('merged'), bytes('u2')]))
      expect((await reopened.listDocs()).sort()).toEqual(['doc', 'other'])
      await reopened.appendUpdate('doc', bytes('u3'))
      expect(hex(await reopened.loadUpdates('doc'))).toEqual(hex([bytes('merged'), bytes('u2'), bytes('u3')]))
    })
  })
}
