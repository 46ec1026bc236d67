import type { isKvsyncError, openStore } from '@kvsync/browser'

/** The store type returned by openStore. */
export type HarnessStore = Awaited<ReturnType<typeof openStore>>

/** What a test records from store.subscribe / onStatusChange inside the page. */
export interface RecordedEvent {
  kind: 'change' | 'status'
  key?: string
  value?: unknown
  origin?: string
  status?: string
}

declare global {
  interface Window {
    kvsync: { openStore: typeof openStore; isKvsyncError: typeof isKvsyncError }
    /** The store a test opened in this page (see harness-page.ts). */
    store: HarnessStore
    kvsyncEvents: RecordedEvent[]
  }
}
