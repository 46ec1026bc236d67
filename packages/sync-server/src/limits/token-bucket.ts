/** The default clock, one function for every bucket (there is one bucket per connection). */
const monotonicNow = (): number => performance.now()

/**
 * A token bucket: `rate` tokens per second refill up to `burst`. One message takes one token;
 * a connection that finds the bucket empty is sending faster than allowed. The clock is
 * injected so tests can drive it without sleeping.
 */
export class TokenBucket {
  readonly #rate: number
  readonly #burst: number
  readonly #now: () => number
  #tokens: number
  #updatedAt: number

  constructor(options: { rate: number; burst: number; now?: () => number }) {
    this.#rate = options.rate
    this.#burst = options.burst
    this.#now = options.now ?? monotonicNow
    this.#tokens = options.burst
    this.#updatedAt = this.#now()
  }

  /** Takes one token; `false` when none is left. */
  take(): boolean {
    const now = this.#now()
    const elapsedSeconds = Math.max(0, now - this.#updatedAt) / 1000
    this.#updatedAt = now
    this.#tokens = Math.min(this.#burst, this.#tokens + elapsedSeconds * this.#rate)
    if (this.#tokens < 1) return false
    this.#tokens -= 1
    return true
  }
}
