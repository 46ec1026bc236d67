import { describe, expect, it } from 'vitest'
import { TokenBucket } from './token-bucket.js'

describe('TokenBucket', () => {
  it('allows a burst, then refills at the rate', () => {
    let now = 0
    const bucket = new TokenBucket({ rate: 10, burst: 3, now: () => now })
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, true, false])
    now += 100
    expect(bucket.take()).toBe(true)
    expect(bucket.take()).toBe(false)
    now += 10_000
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, true, false])
  })

  it('ignores a clock that goes backwards', () => {
    let now = 1000
    const bucket = new TokenBucket({ rate: 1, burst: 1, now: () => now })
    expect(bucket.take()).toBe(true)
    now = 0
    expect(bucket.take()).toBe(false)
  })
})
