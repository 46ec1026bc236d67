import { describe, expect, it } from 'vitest'
import { Backoff } from './backoff.js'

describe('Backoff', () => {
  it('doubles the ceiling up to the maximum and jitters below it', () => {
    const ceilings: number[] = []
    const top = new Backoff({ initialMs: 100, maxMs: 1_000, random: () => 1 })
    for (let i = 0; i < 6; i++) ceilings.push(top.next())
    expect(ceilings).toEqual([100, 200, 400, 800, 1_000, 1_000])
    const bottom = new Backoff({ initialMs: 100, maxMs: 1_000, random: () => 0 })
    expect([bottom.next(), bottom.next()]).toEqual([0, 0])
    const half = new Backoff({ initialMs: 100, maxMs: 1_000, random: () => 0.5 })
    expect([half.next(), half.next(), half.next()]).toEqual([50, 100, 200])
  })

  it('starts over after reset', () => {
    const backoff = new Backoff({ initialMs: 10, random: () => 1 })
    backoff.next()
    backoff.next()
    backoff.reset()
    expect(backoff.next()).toBe(10)
  })

  it('defaults to 250 ms doubling up to 15 s', () => {
    const backoff = new Backoff({ random: () => 1 })
    const delays = Array.from({ length: 10 }, () => backoff.next())
    expect(delays[0]).toBe(250)
    expect(Math.max(...delays)).toBe(15_000)
  })
})
