/**
 * Hybrid logical clock (HLC): wall-clock milliseconds plus a counter that orders events within
 * one millisecond and keeps the clock monotonic when the wall clock stalls or steps back, plus
 * the id of the node that issued it, which makes every timestamp unique.
 *
 * Ordering is lexicographic on (wallMs, counter, node). A node that has seen timestamp `t` only
 * issues timestamps greater than `t` ({@link HybridLogicalClock.observe}), so a write made after
 * seeing another always orders after it, whatever the wall clocks say.
 */
export interface HlcTimestamp {
  readonly wallMs: number
  readonly counter: number
  readonly node: number
}

/** Largest counter value before the clock borrows the next millisecond. */
export const HLC_MAX_COUNTER = 0xffff

/** Negative, zero or positive as `a` orders before, equal to or after `b`. */
export function compareHlc(a: HlcTimestamp, b: HlcTimestamp): number {
  if (a.wallMs !== b.wallMs) return a.wallMs < b.wallMs ? -1 : 1
  if (a.counter !== b.counter) return a.counter < b.counter ? -1 : 1
  if (a.node !== b.node) return a.node < b.node ? -1 : 1
  return 0
}

/** Options of {@link HybridLogicalClock}. */
export interface HybridLogicalClockOptions {
  /** This node's id, used to break ties. */
  node: number
  /** Physical clock in ms since the epoch. Default: `Date.now`. */
  now?: () => number
}

/** A hybrid logical clock owned by one node. */
export class HybridLogicalClock {
  private wallMs = 0
  private counter = 0
  private readonly now: () => number
  node: number

  constructor(options: HybridLogicalClockOptions) {
    this.node = options.node
    this.now = options.now ?? Date.now
  }

  /** A new timestamp greater than every timestamp issued or observed so far. */
  tick(): HlcTimestamp {
    const physical = Math.floor(this.now())
    if (physical > this.wallMs) {
      this.wallMs = physical
      this.counter = 0
    } else if (this.counter < HLC_MAX_COUNTER) {
      this.counter += 1
    } else {
      // Counter exhausted within one millisecond: borrow the next one. The clock runs ahead of
      // the wall clock by at most a millisecond per 65,536 writes, and catches up when idle.
      this.wallMs += 1
      this.counter = 0
    }
    return { wallMs: this.wallMs, counter: this.counter, node: this.node }
  }

  /** Takes note of a timestamp issued elsewhere so that later ticks order after it. */
  observe(remote: HlcTimestamp): void {
    if (remote.wallMs > this.wallMs || (remote.wallMs === this.wallMs && remote.counter > this.counter)) {
      this.wallMs = remote.wallMs
      this.counter = remote.counter
    }
  }

  /** The greatest timestamp issued or observed so far (without ticking). */
  peek(): HlcTimestamp {
    return { wallMs: this.wallMs, counter: this.counter, node: this.node }
  }
}
