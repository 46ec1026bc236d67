import type { CompactPlan, LocalPersistence } from './types.js'

/**
 * Keeps updates in memory only: nothing survives the process. The default in Node and for
 * tests; in a browser, for data that must not outlive the page.
 */
export class MemoryPersistence implements LocalPersistence {
  private updates: Uint8Array[] = []

  get storedCount(): number {
    return this.updates.length
  }

  async load(): Promise<Uint8Array[]> {
    return [...this.updates]
  }

  async append(updates: readonly Uint8Array[]): Promise<readonly number[]> {
    this.updates.push(...updates)
    return []
  }

  async compact(plan: CompactPlan): Promise<undefined> {
    this.updates = [plan.snapshot()]
    return undefined
  }

  async close(): Promise<void> {}

  async destroy(): Promise<void> {
    this.updates = []
  }
}
