import type { StoredUpdate } from '@kvsync/shared'
import { LogSize } from './log-size.js'
import type { CompactPlan, LocalPersistence } from './types.js'

/**
 * Keeps updates in memory only: nothing survives the process. The default in Node and for
 * tests; in a browser, for data that must not outlive the page.
 */
export class MemoryPersistence implements LocalPersistence {
  private updates: StoredUpdate[] = []
  readonly size = new LogSize()

  async load(): Promise<StoredUpdate[]> {
    return [...this.updates]
  }

  async append(updates: readonly Uint8Array[]): Promise<readonly number[]> {
    this.updates.push(...updates)
    this.size.appended(updates)
    return []
  }

  async compact(plan: CompactPlan): Promise<undefined> {
    const snapshot = plan.snapshot()
    this.updates = [{ v2: snapshot }]
    this.size.compacted(snapshot)
    return undefined
  }

  async close(): Promise<void> {}

  async destroy(): Promise<void> {
    this.updates = []
    this.size.loaded([])
  }
}
