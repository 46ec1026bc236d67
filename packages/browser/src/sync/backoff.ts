/** Options of {@link Backoff}. Defaults: 250 ms doubling up to 15 s, full jitter. */
export interface BackoffOptions {
  initialMs?: number
  maxMs?: number
  random?: () => number
}

/**
 * Exponential backoff with full jitter: the n-th retry waits a random time in
 * [0, min(max, initial · 2^n)], so clients that lost one server do not reconnect in lockstep.
 */
export class Backoff {
  private attempt = 0
  private readonly initialMs: number
  private readonly maxMs: number
  private readonly random: () => number

  constructor(options: BackoffOptions = {}) {
    this.initialMs = options.initialMs ?? 250
    this.maxMs = options.maxMs ?? 15_000
    this.random = options.random ?? Math.random
  }

  /** The delay before the next attempt; each call lengthens the following one. */
  next(): number {
    const ceiling = Math.min(this.maxMs, this.initialMs * 2 ** this.attempt)
    this.attempt = Math.min(this.attempt + 1, 30)
    return Math.round(this.random() * ceiling)
  }

  /** Back to the shortest delay, after a connection that worked. */
  reset(): void {
    this.attempt = 0
  }
}
