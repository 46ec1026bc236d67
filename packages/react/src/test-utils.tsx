// Helpers for this package's tests (not exported from the package).
import { openStore, type Store } from '@kvsync/browser'
import { afterEach } from 'vitest'

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** Runs `cleanup` after the current test, in reverse order of registration. */
export function onCleanup(cleanup: () => Promise<void> | void): void {
  cleanups.push(cleanup)
}

/** A local-only store in memory, closed after the test. */
export async function memoryStore(name = 'test/react'): Promise<Store> {
  const store = await openStore(name, { persistence: 'memory' })
  onCleanup(() => store.close())
  return store
}

/** Counts renders per label, for "re-renders only when its key changes" assertions. */
export class RenderCounter {
  private readonly counts = new Map<string, number>()
  hit(label: string): void {
    this.counts.set(label, (this.counts.get(label) ?? 0) + 1)
  }
  get(label: string): number {
    return this.counts.get(label) ?? 0
  }
}
