import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { FreedMemoryTrimmer } from './freed-memory-trimmer.js'

/** A trimmer on fake timers whose garbage collections the test triggers. */
function setUp(options: { minIntervalMs?: number; armedForMs?: number } = {}) {
  let gcListener: (() => void) | undefined
  let watches = 0
  const trim = vi.fn()
  const trimmer = new FreedMemoryTrimmer({
    trim,
    now: () => Date.now(),
    watchGc: (listener) => {
      watches++
      gcListener = listener
      return () => {
        gcListener = undefined
      }
    },
    ...options,
  })
  return {
    trimmer,
    trim,
    gc: () => gcListener?.(),
    watching: () => gcListener !== undefined,
    watches: () => watches,
  }
}

describe('FreedMemoryTrimmer', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('does nothing, and watches no garbage collection, until memory was freed', () => {
    const { trim, gc, watching } = setUp()
    gc()
    vi.advanceTimersByTime(120_000)
    expect(trim).not.toHaveBeenCalled()
    expect(watching()).toBe(false)
  })

  it('trims once right after a note, then after each garbage collection, at most once per interval', () => {
    const { trimmer, trim, gc } = setUp({ minIntervalMs: 1_000 })
    trimmer.noteFreed()
    vi.advanceTimersByTime(0)
    expect(trim).toHaveBeenCalledTimes(1)

    // Collections 100 ms apart: one trim, a second after the first.
    for (let i = 0; i < 5; i++) {
      gc()
      vi.advanceTimersByTime(100)
    }
    expect(trim).toHaveBeenCalledTimes(1)
    vi.advanceTimersByTime(500)
    expect(trim).toHaveBeenCalledTimes(2)
    expect(trimmer.trims).toBe(2)

    // A collection long after the last trim: trimmed at once (on a timer, not inside the GC callback).
    vi.advanceTimersByTime(5_000)
    gc()
    expect(trim).toHaveBeenCalledTimes(2)
    vi.advanceTimersByTime(0)
    expect(trim).toHaveBeenCalledTimes(3)
  })

  it('stops watching at the first collection after armedForMs, and a new note arms it again', () => {
    const { trimmer, trim, gc, watching, watches } = setUp({ armedForMs: 10_000 })
    trimmer.noteFreed()
    vi.advanceTimersByTime(0)
    vi.advanceTimersByTime(10_001)
    gc()
    vi.advanceTimersByTime(5_000)
    expect(trim).toHaveBeenCalledTimes(1)
    expect(watching()).toBe(false)

    trimmer.noteFreed()
    vi.advanceTimersByTime(0)
    expect(trim).toHaveBeenCalledTimes(2)
    expect(watching()).toBe(true)
    expect(watches()).toBe(2)
  })

  it('after close, neither a pending trim nor a note runs', () => {
    const { trimmer, trim, gc, watching } = setUp({ minIntervalMs: 1_000 })
    trimmer.noteFreed()
    vi.advanceTimersByTime(0)
    gc()
    trimmer.close()
    trimmer.noteFreed()
    vi.advanceTimersByTime(5_000)
    expect(trim).toHaveBeenCalledTimes(1)
    expect(watching()).toBe(false)
  })
})

describe('FreedMemoryTrimmer with the real garbage-collection observer', () => {
  it('trims after a garbage collection while armed', async () => {
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as () => void
    let trims = 0
    const trimmer = new FreedMemoryTrimmer({ trim: () => trims++, minIntervalMs: 0 })
    try {
      trimmer.noteFreed()
      await vi.waitFor(() => expect(trims).toBeGreaterThanOrEqual(1))
      // Collections of V8's own may have added trims meanwhile; the forced one adds one more.
      const before = trims
      gc()
      await vi.waitFor(() => expect(trims).toBeGreaterThan(before), { timeout: 5_000 })
    } finally {
      trimmer.close()
    }
  })
})
