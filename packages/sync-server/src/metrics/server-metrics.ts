import { MetricsRegistry } from './registry.js'
import type { Counter, Histogram } from './registry.js'

/** The server's metrics, in one place so every module increments the same counters. */
export interface ServerMetrics {
  readonly registry: MetricsRegistry
  readonly connectionsAccepted: Counter
  readonly messagesIn: Counter
  readonly bytesIn: Counter
  readonly updatesIn: Counter
  readonly messagesOut: Counter
  readonly bytesOut: Counter
  readonly broadcasts: Counter
  readonly durableAcks: Counter
  readonly storesLoaded: Counter
  readonly storesUnloaded: Counter
  readonly storesHibernated: Counter
  readonly storesWoken: Counter
  /** Calls of `malloc_trim` (see `FreedMemoryTrimmer`). */
  readonly memoryTrims: Counter
  /** Errors by `KvsyncErrorCode` (rejected connections, refused writes, closes, storage failures). */
  readonly errors: Counter
  /** Seconds per storage write (one group commit or one compaction). */
  readonly persistSeconds: Histogram
}

/** Live values the gauges read when scraped. */
export interface GaugeSources {
  connections(): number
  loadedStores(): number
  hibernatedStores(): number
  pendingWrites(): number
}

/** Creates the server's registry with every metric documented in docs/server.md. */
export function createServerMetrics(sources: GaugeSources): ServerMetrics {
  const registry = new MetricsRegistry()
  registry.gauge('kvsync_connections', 'Open WebSocket connections.', sources.connections)
  registry.gauge('kvsync_loaded_stores', 'Stores loaded (or loading) in memory.', sources.loadedStores)
  registry.gauge('kvsync_hibernated_stores', 'Loaded stores holding only their encoded state (hibernated).', sources.hibernatedStores)
  registry.gauge('kvsync_pending_writes', 'Storage writes queued or running.', sources.pendingWrites)
  registry.gauge('process_resident_memory_bytes', 'Resident set size of the server process.', () => process.memoryUsage.rss())
  registry.gauge('nodejs_heap_used_bytes', 'V8 heap in use.', () => process.memoryUsage().heapUsed)
  return {
    registry,
    connectionsAccepted: registry.counter('kvsync_connections_accepted_total', 'WebSocket connections attached to a store.'),
    messagesIn: registry.counter('kvsync_messages_in_total', 'Messages (frames) received from clients.'),
    bytesIn: registry.counter('kvsync_bytes_in_total', 'Bytes of messages received from clients.'),
    updatesIn: registry.counter('kvsync_updates_in_total', 'Document updates (sync step 2 and update messages) applied from clients.'),
    messagesOut: registry.counter('kvsync_messages_out_total', 'Messages sent to clients.'),
    bytesOut: registry.counter('kvsync_bytes_out_total', 'Bytes of messages sent to clients.'),
    broadcasts: registry.counter('kvsync_broadcasts_total', 'Merged update frames broadcast to the readers of a store.'),
    durableAcks: registry.counter('kvsync_durable_acks_total', 'Durable acknowledgements sent.'),
    storesLoaded: registry.counter('kvsync_stores_loaded_total', 'Stores loaded from storage.'),
    storesUnloaded: registry.counter('kvsync_stores_unloaded_total', 'Stores unloaded after being idle.'),
    storesHibernated: registry.counter('kvsync_stores_hibernated_total', 'Loaded stores hibernated after being idle.'),
    storesWoken: registry.counter('kvsync_stores_woken_total', 'Hibernated stores woken (decoded) again.'),
    memoryTrims: registry.counter('kvsync_memory_trims_total', 'Calls of malloc_trim that give freed memory back to the system after stores unloaded or hibernated.'),
    errors: registry.counter('kvsync_errors_total', 'Errors by code.'),
    persistSeconds: registry.histogram('kvsync_persist_duration_seconds', 'Duration of one storage write (group commit or compaction).', [
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
    ]),
  }
}
