import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { describe, expect, it } from 'vitest'
import { isGlibc, loadMallocTrim } from './malloc-trim.js'

const MiB = 2 ** 20

describe.runIf(isGlibc())('malloc_trim (native helper, glibc)', () => {
  it('is built by the install and gives back freed memory that lies between live allocations', () => {
    const loaded = loadMallocTrim()
    // The suite's setup builds it (scripts/setup.mjs); missing here means that build failed.
    expect(loaded, 'run `node packages/sync-server/scripts/build-native.mjs` to see why the addon is missing').not.toHaveProperty('unavailable')
    const trim = loaded.trim
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as () => void
    const rss = (): number => process.memoryUsage().rss

    const before = rss()
    // ~200 MiB of ArrayBuffer backing stores (malloc'd), one in 50 kept: the free space is
    // spread through the heap, not at its top, which is the case glibc's free() never returns.
    let all: Uint8Array[] | undefined = []
    const kept: Uint8Array[] = []
    for (let i = 0; i < 160_000; i++) {
      const bytes = new Uint8Array(1_000 + (i % 7) * 100)
      bytes[0] = 1
      all.push(bytes)
      if (i % 50 === 0) kept.push(bytes)
    }
    all = undefined
    gc()
    gc()
    const freedButHeld = rss()
    expect(freedButHeld - before, 'the freed memory is still mapped before the trim').toBeGreaterThan(100 * MiB)

    trim?.()
    const afterTrim = rss()
    expect(freedButHeld - afterTrim).toBeGreaterThan(0.5 * (freedButHeld - before))
    expect(kept.every((bytes) => bytes[0] === 1)).toBe(true)
  })
})
