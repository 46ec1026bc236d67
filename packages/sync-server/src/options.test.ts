import { describe, expect, it } from 'vitest'
import { resolveOptions } from './options.js'
import type { SyncServerOptions } from './options.js'

describe('resolveOptions', () => {
  it('gives back freed memory by default, and not when releaseFreedMemory is false', () => {
    expect(resolveOptions({}).releaseFreedMemory).toBe(true)
    expect(resolveOptions({ releaseFreedMemory: false }).releaseFreedMemory).toBe(false)
  })

  it('refuses a releaseFreedMemory that is not a boolean with INVALID_OPTION', () => {
    const options = { releaseFreedMemory: 'no' } as unknown as SyncServerOptions
    expect(() => resolveOptions(options)).toThrow(expect.objectContaining({ code: 'INVALID_OPTION', message: expect.stringContaining('releaseFreedMemory') }))
  })
})
