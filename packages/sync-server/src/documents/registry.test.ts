import * as Y from 'yjs'
import { afterEach, describe, expect, it } from 'vitest'
import { silentLogger } from '../logger.js'
import { MemoryDocStorage } from '../storage/memory.js'
import { HIBERNATION_SIZE_STEP_BYTES } from './hibernation.js'
import { DocumentRegistry } from './registry.js'
import type { DocumentLease } from './registry.js'
import { WriteQueue } from './write-queue.js'

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** A registry over memory storage whose timers never fire during a test (huge intervals). */
function registry(storage = new MemoryDocStorage(), hibernateAfterMs = 1_000): DocumentRegistry {
  const documents = new DocumentRegistry({
    storage,
    queue: new WriteQueue({ storage, logger: silentLogger }),
    logger: silentLogger,
    idleUnloadMs: 3_600_000,
    hibernateAfterMs,
    compactAfterUpdates: 500,
    sweepIntervalMs: 3_600_000,
    tombstoneRetentionMs: 3_600_000,
    maxPendingBytes: 1024 * 1024,
  })
  const leases: DocumentLease[] = []
  cleanups.push(async () => {
    for (const lease of leases) lease.release()
    await documents.close()
  })
  const open = documents.open.bind(documents)
  documents.open = (name) => {
    const lease = open(name)
    leases.push(lease)
    return lease
  }
  return documents
}

describe('DocumentRegistry hibernation', () => {
  it('hibernates only documents idle for the delay, in slices that each make progress', async () => {
    const documents = registry()
    await Promise.all(['a', 'b', 'c'].map((name) => documents.open(name).ready))
    expect(documents.hibernateIdle(performance.now()).hibernated).toBe(0)
    const later = performance.now() + 1_000
    // A zero budget still hibernates one document per slice.
    expect(documents.hibernateIdle(later, 0)).toEqual({ hibernated: 1, more: true })
    expect(documents.hibernateIdle(later, 0)).toEqual({ hibernated: 1, more: true })
    expect(documents.hibernateIdle(later, 0)).toEqual({ hibernated: 1, more: true })
    expect(documents.hibernateIdle(later, 0)).toEqual({ hibernated: 0, more: false })
    expect(documents.hibernatedCount).toBe(3)
  })

  it('waits proportionally longer before hibernating a document above 64 KiB', async () => {
    const storage = new MemoryDocStorage()
    const big = new Y.Doc()
    big.getMap('kv').set('blob', 'x'.repeat(4 * HIBERNATION_SIZE_STEP_BYTES))
    await storage.appendUpdate('big', Y.encodeStateAsUpdate(big))
    const documents = registry(storage)
    const loadedAt = performance.now()
    await Promise.all([documents.open('big').ready, documents.open('small').ready])
    expect(documents.hibernateIdle(loadedAt + 2_000).hibernated).toBe(1)
    expect(documents.hibernateIdle(loadedAt + 3_500).hibernated).toBe(0)
    expect(documents.hibernateIdle(performance.now() + 4_100).hibernated).toBe(1)
  })

  it('never hibernates with hibernateAfterMs 0', async () => {
    const documents = registry(new MemoryDocStorage(), 0)
    await documents.open('a').ready
    expect(documents.hibernateIdle(performance.now() + 1e9).hibernated).toBe(0)
  })
})
