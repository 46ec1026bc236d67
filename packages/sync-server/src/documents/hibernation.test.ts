import { describe, expect, it } from 'vitest'
import { HIBERNATION_SIZE_STEP_BYTES, hibernationCheckIntervalMs, hibernationDelayMs } from './hibernation.js'

describe('hibernation policy', () => {
  it('waits the configured delay for stores up to 64 KiB and proportionally longer above', () => {
    expect(hibernationDelayMs(10_000, 0)).toBe(10_000)
    expect(hibernationDelayMs(10_000, HIBERNATION_SIZE_STEP_BYTES)).toBe(10_000)
    expect(hibernationDelayMs(10_000, 4 * HIBERNATION_SIZE_STEP_BYTES)).toBe(40_000)
    // 100,000 keys encode to about 5.6 MB: about 14 minutes before a decode of ~0.4 s is risked.
    expect(hibernationDelayMs(10_000, 5_600_000) / 60_000).toBeCloseTo(14.2, 1)
  })

  it('checks four times per delay, between 10 ms and 5 s', () => {
    expect(hibernationCheckIntervalMs(10_000)).toBe(2_500)
    expect(hibernationCheckIntervalMs(1)).toBe(10)
    expect(hibernationCheckIntervalMs(3_600_000)).toBe(5_000)
  })
})
