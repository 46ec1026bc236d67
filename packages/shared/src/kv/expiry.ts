/** setTimeout accepts at most 2^31 - 1 ms; later expiries are re-checked after that long. */
const MAX_TIMER_DELAY = 0x7fffffff

export interface ExpiryTrackerOptions {
  now: () => number
  timers?: { setTimeout: typeof setTimeout; clearTimeout: typeof clearTimeout } | undefined
  /** Called with the keys whose expiry time has come, once per key and expiry. */
  onDue: (keys: string[]) => void
}

/**
 * Keeps the expiry times of keys and calls back when they pass, with one timer for the
 * earliest. Only notifies; removing expired data from the document is the sweep's job.
 */
export class ExpiryTracker {
  private readonly expiries = new Map<string, number>()
  private timer: ReturnType<typeof setTimeout> | undefined
  private timerAt = Infinity
  private readonly options: ExpiryTrackerOptions

  constructor(options: ExpiryTrackerOptions) {
    this.options = options
  }

  /** Tracks `key` expiring at `expiresAt`, or stops tracking it when `undefined` or past. */
  track(key: string, expiresAt: number | undefined): void {
    if (expiresAt === undefined || expiresAt <= this.options.now()) {
      if (this.expiries.size > 0) this.expiries.delete(key)
      return
    }
    this.expiries.set(key, expiresAt)
    if (expiresAt < this.timerAt) this.schedule(expiresAt)
  }

  /**
   * Stops tracking `key` (its entry is being replaced or removed); returns whether its expiry
   * had come but its notification had not gone out yet (the timer runs late, e.g. in a
   * throttled tab, or a sweep from elsewhere arrived first), so the caller announces it.
   */
  takeOverdue(key: string): boolean {
    const at = this.expiries.get(key)
    if (at === undefined) return false
    this.expiries.delete(key)
    return at <= this.options.now()
  }

  clear(): void {
    this.expiries.clear()
    this.cancel()
  }

  private cancel(): void {
    if (this.timer !== undefined) (this.options.timers?.clearTimeout ?? clearTimeout)(this.timer)
    this.timer = undefined
    this.timerAt = Infinity
  }

  private schedule(at: number): void {
    this.cancel()
    const delay = Math.min(Math.max(0, at - this.options.now()), MAX_TIMER_DELAY)
    this.timerAt = at
    this.timer = (this.options.timers?.setTimeout ?? setTimeout)(() => this.fire(), delay)
    // An expiry timer alone must not keep a Node process alive.
    ;(this.timer as { unref?: () => void }).unref?.()
  }

  private fire(): void {
    this.timer = undefined
    this.timerAt = Infinity
    const now = this.options.now()
    const due: string[] = []
    let next = Infinity
    for (const [key, at] of this.expiries) {
      if (at <= now) due.push(key)
      else if (at < next) next = at
    }
    for (const key of due) this.expiries.delete(key)
    if (next !== Infinity) this.schedule(next)
    if (due.length > 0) this.options.onDue(due)
  }
}
