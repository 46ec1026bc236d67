import { describe, expect, it } from 'vitest'
import { isKvsyncError, KvsyncError } from '@kvsync/shared'
import type { DocStorage } from '@kvsync/shared'
import { silentLogger } from '../logger.js'
import { MemoryDocStorage } from '../storage/memory.js'
import { WriteQueue } from './write-queue.js'

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text)
const text = (updates: Uint8Array[]): string[] => updates.map((update) => new TextDecoder().decode(update))

/** A memory storage whose calls can be observed, failed or held. */
function instrumented(options: { withBatches?: boolean } = {}) {
  const inner = new MemoryDocStorage()
  const calls: string[] = []
  let failures = 0
  let hold: Promise<void> | undefined
  const maybeFail = async (what: string): Promise<void> => {
    calls.push(what)
    if (hold !== undefined) await hold
    if (failures > 0) {
      failures--
      throw new KvsyncError('STORAGE_FAILED', 'disk unplugged')
    }
  }
  const storage: DocStorage = {
    loadUpdates: (doc) => inner.loadUpdates(doc),
    appendUpdate: async (doc, update) => {
      await maybeFail(`append ${doc}`)
      await inner.appendUpdate(doc, update)
    },
    compact: async (doc, merged, count) => {
      await maybeFail(`compact ${doc} ${count}`)
      await inner.compact(doc, merged, count)
    },
    listDocs: () => inner.listDocs(),
    deleteDoc: (doc) => inner.deleteDoc(doc),
  }
  if (options.withBatches !== false) {
    storage.appendUpdates = async (batch) => {
      await maybeFail(`batch ${batch.length}`)
      await inner.appendUpdates(batch)
    }
  }
  return {
    storage,
    inner,
    calls,
    failNext(count: number) {
      failures = count
    },
    holdUntil(promise: Promise<void> | undefined) {
      hold = promise
    },
  }
}

describe('WriteQueue', () => {
  it('stores appends of one turn with one group commit', async () => {
    const { storage, inner, calls } = instrumented()
    const queue = new WriteQueue({ storage, logger: silentLogger })
    await Promise.all([queue.append('a', bytes('1')), queue.append('b', bytes('2')), queue.append('a', bytes('3'))])
    expect(calls).toEqual(['batch 3'])
    expect(text(await inner.loadUpdates('a'))).toEqual(['1', '3'])
    expect(queue.storedCount('a')).toBe(2)
  })

  it('batches appends that arrive during a commit into the next one', async () => {
    const { storage, calls, holdUntil } = instrumented()
    const queue = new WriteQueue({ storage, logger: silentLogger })
    let release: () => void = () => {}
    holdUntil(new Promise((resolve) => (release = resolve)))
    const first = queue.append('a', bytes('1'))
    await new Promise((resolve) => setImmediate(resolve))
    const later = [queue.append('a', bytes('2')), queue.append('a', bytes('3'))]
    holdUntil(undefined)
    release()
    await Promise.all([first, ...later])
    expect(calls).toEqual(['batch 1', 'batch 2'])
  })

  it('retries a failed commit until it succeeds', async () => {
    const { storage, inner, calls, failNext } = instrumented()
    const queue = new WriteQueue({ storage, logger: silentLogger, retryDelayMs: 1 })
    failNext(2)
    await queue.append('a', bytes('1'))
    expect(calls).toEqual(['batch 1', 'batch 1', 'batch 1'])
    expect(text(await inner.loadUpdates('a'))).toEqual(['1'])
  })

  it('resumes after the last stored entry when storage has no group commit', async () => {
    const { storage, inner, failNext } = instrumented({ withBatches: false })
    const queue = new WriteQueue({ storage, logger: silentLogger, retryDelayMs: 1 })
    const first = queue.append('a', bytes('1'))
    await first
    failNext(1)
    await Promise.all([queue.append('a', bytes('2')), queue.append('a', bytes('3'))])
    expect(text(await inner.loadUpdates('a'))).toEqual(['1', '2', '3'])
  })

  it('compacts exactly the updates stored before the compaction', async () => {
    const { storage, inner, calls } = instrumented()
    const queue = new WriteQueue({ storage, logger: silentLogger })
    queue.noteLoaded('a', 0)
    const writes = [queue.append('a', bytes('1')), queue.append('a', bytes('2'))]
    const compacted = queue.compact('a', () => bytes('1+2'))
    writes.push(queue.append('a', bytes('3')))
    await Promise.all(writes)
    expect(await compacted).toBe(true)
    expect(calls).toEqual(['batch 2', 'compact a 2', 'batch 1'])
    expect(text(await inner.loadUpdates('a'))).toEqual(['1+2', '3'])
    expect(queue.storedCount('a')).toBe(2)
  })

  it('skips a compaction with nothing to merge', async () => {
    const { storage, calls } = instrumented()
    const queue = new WriteQueue({ storage, logger: silentLogger })
    queue.noteLoaded('a', 1)
    expect(await queue.compact('a', () => bytes('snapshot'))).toBe(false)
    expect(calls).toEqual([])
  })

  it('gives up on close and rejects what it could not store', async () => {
    const { storage, failNext } = instrumented()
    const queue = new WriteQueue({ storage, logger: silentLogger, retryDelayMs: 60_000 })
    failNext(Number.POSITIVE_INFINITY)
    const write = queue.append('a', bytes('1'))
    const writeFailed = write.catch((error: unknown) => error)
    await new Promise((resolve) => setImmediate(resolve))
    const closeError = await queue.close().catch((error: unknown) => error)
    expect(isKvsyncError(closeError, 'PERSISTENCE_FAILED')).toBe(true)
    expect(isKvsyncError(await writeFailed, 'PERSISTENCE_FAILED')).toBe(true)
    const late = await queue.append('a', bytes('2')).catch((error: unknown) => error)
    expect(isKvsyncError(late, 'STORE_CLOSED')).toBe(true)
  })

  it('waits for queued writes when closing', async () => {
    const { storage, inner } = instrumented()
    const queue = new WriteQueue({ storage, logger: silentLogger })
    const write = queue.append('a', bytes('1'))
    await queue.close()
    await write
    expect(text(await inner.loadUpdates('a'))).toEqual(['1'])
  })
})
