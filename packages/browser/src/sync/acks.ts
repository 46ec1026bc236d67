import type { KvsyncError } from '@kvsync/shared'

interface Waiter {
  readonly target: ReadonlyMap<number, number>
  resolve(): void
  reject(error: KvsyncError): void
}

/**
 * Tracks the server's durable acknowledgements (message 102: "every update of client C below
 * clock K is durable on the server") against the writes made locally. Local writes are known by
 * Yjs (client, clock): a store records its client's clock after each local write, and a write is
 * saved on the server once the acked clock of its client passed it. Clocks count Yjs items, and
 * every key written appends one item, so a clock difference counts unsaved key writes.
 */
export class DurableAcks {
  private readonly acked = new Map<number, number>()
  private readonly local = new Map<number, number>()
  private waiters: Waiter[] = []
  private readonly listeners = new Set<(unsaved: number) => void>()
  private lastUnsaved = 0

  /** Records that local writes of Yjs client `client` reached clock `clock` (exclusive). */
  recordLocal(client: number, clock: number): void {
    if ((this.local.get(client) ?? 0) >= clock) return
    this.local.set(client, clock)
    this.changed()
  }

  /** Merges an acknowledgement (client → clock); clocks only grow. */
  merge(clocks: ReadonlyMap<number, number>): void {
    let grew = false
    for (const [client, clock] of clocks) {
      if ((this.acked.get(client) ?? 0) >= clock) continue
      this.acked.set(client, clock)
      grew = true
    }
    if (!grew) return
    this.waiters = this.waiters.filter((waiter) => {
      if (!this.covers(waiter.target)) return true
      waiter.resolve()
      return false
    })
    this.changed()
  }

  /** Everything acknowledged so far (for relaying to other tabs). */
  snapshot(): Map<number, number> {
    return new Map(this.acked)
  }

  /** How many local key writes the server has not acknowledged as durable yet. */
  get unsaved(): number {
    let count = 0
    for (const [client, clock] of this.local) count += Math.max(0, clock - (this.acked.get(client) ?? 0))
    return count
  }

  /** Resolves once every local write recorded so far is acknowledged. */
  wait(): Promise<void> {
    const target = new Map(this.local)
    if (this.covers(target)) return Promise.resolve()
    return new Promise((resolve, reject) => this.waiters.push({ target, resolve, reject }))
  }

  /** Calls `listener` with the unsaved count whenever it changes. */
  onChange(listener: (unsaved: number) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Rejects every waiter (the store closed). */
  rejectAll(error: KvsyncError): void {
    for (const waiter of this.waiters.splice(0)) waiter.reject(error)
  }

  private covers(target: ReadonlyMap<number, number>): boolean {
    for (const [client, clock] of target) if ((this.acked.get(client) ?? 0) < clock) return false
    return true
  }

  private changed(): void {
    const unsaved = this.unsaved
    if (unsaved === this.lastUnsaved) return
    this.lastUnsaved = unsaved
    for (const listener of [...this.listeners]) listener(unsaved)
  }
}
