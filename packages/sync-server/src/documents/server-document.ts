import * as awarenessProtocol from 'y-protocols/awareness'
import * as Y from 'yjs'
import { KvRegister, KvsyncError, isKvsyncError } from '@kvsync/shared'
import { awarenessMessage, updateMessage } from '../protocol/messages.js'
import type { Logger } from '../logger.js'
import type { ServerMetrics } from '../metrics/server-metrics.js'
import type { WriteQueue } from './write-queue.js'

/**
 * Someone attached to a document who receives its broadcasts: a WebSocket connection today,
 * possibly an SSE watcher or a scale-out bridge later. Peers are also the transaction origin of
 * the updates and awareness changes they send, which is how the document knows whose they are.
 */
export interface DocumentPeer {
  /** Sends one complete protocol message; must not throw. */
  send(message: Uint8Array): void
  /** Awareness client ids this peer announced; removed from the document when it leaves. */
  readonly awarenessClients: Set<number>
}

/**
 * Transaction origin of updates replayed from storage while loading: they are already stored,
 * so they are neither persisted again nor broadcast.
 */
export const storageOrigin: unique symbol = Symbol('kvsync.storage')

/** Options of {@link ServerDocument.load}. */
export interface ServerDocumentOptions {
  readonly name: string
  /** The stored updates, oldest first. */
  readonly storedUpdates: ReadonlyArray<Uint8Array>
  readonly queue: WriteQueue
  readonly compactAfterUpdates: number
  readonly logger: Logger
  /**
   * Bytes of updates the document may hold waiting for missing dependencies (Yjs "pending
   * structs"). Honest clients send updates in causal order, so pending data only grows with
   * hostile input; past this bound it is dropped and the sender is refused.
   */
  readonly maxPendingBytes: number
  readonly metrics?: ServerMetrics
}

/** What {@link ServerDocument.applyUpdate} did. */
export interface AppliedUpdate {
  /** Resolves once everything the document holds after the update is durable. */
  readonly durable: Promise<void>
  /**
   * End clocks (client id → clock) of the structs the update carried, clipped to what the
   * document integrated: "every update of client C below clock K is in the document". Structs
   * left waiting for missing dependencies are not included: they are not stored yet.
   */
  readonly clocks: ReadonlyMap<number, number>
}

/**
 * One loaded store: its Y.Doc, its awareness, and the peers attached to it. Every update that
 * changes the document (whoever applied it, except storage replay) is persisted exactly once
 * through the write queue and broadcast to every peer, including the one that sent it.
 */
export class ServerDocument {
  readonly name: string
  readonly doc: Y.Doc
  readonly awareness: awarenessProtocol.Awareness
  readonly peers = new Set<DocumentPeer>()
  /**
   * The key-value view of the document: the server resolves conflicts like every client (so
   * superseded entries are deleted here once, for everyone) and sweeps expired entries and old
   * tombstones.
   */
  readonly register: KvRegister
  readonly #queue: WriteQueue
  readonly #logger: Logger
  readonly #compactAfterUpdates: number
  readonly #maxPendingBytes: number
  readonly #metrics: ServerMetrics | undefined
  /** Updates applied since the last broadcast; merged into one frame (see #onUpdate). */
  #outgoing: Uint8Array[] = []
  #updatesSinceCompaction: number
  #destroyed = false

  /**
   * Builds a document from its stored updates. Throws a `KvsyncError` `CORRUPT_DATA` when a
   * stored update cannot be applied.
   */
  static load(options: ServerDocumentOptions): ServerDocument {
    return new ServerDocument(options)
  }

  private constructor(options: ServerDocumentOptions) {
    this.name = options.name
    this.#queue = options.queue
    this.#logger = options.logger
    this.#compactAfterUpdates = options.compactAfterUpdates
    this.#maxPendingBytes = options.maxPendingBytes
    this.#metrics = options.metrics
    this.doc = new Y.Doc()
    try {
      Y.transact(
        this.doc,
        () => {
          for (const update of options.storedUpdates) Y.applyUpdate(this.doc, update, storageOrigin)
        },
        storageOrigin,
      )
    } catch (cause) {
      this.doc.destroy()
      throw new KvsyncError('CORRUPT_DATA', `stored updates of ${JSON.stringify(this.name)} cannot be applied`, { cause })
    }
    this.#updatesSinceCompaction = options.storedUpdates.length
    this.awareness = new awarenessProtocol.Awareness(this.doc)
    // The server is not a participant: it must not announce a presence of its own.
    this.awareness.setLocalState(null)
    this.doc.on('update', this.#onUpdate)
    this.awareness.on('update', this.#onAwarenessUpdate)
    // Created after the update listener: repairs it makes while indexing are stored and sent.
    this.register = new KvRegister(this.doc, {
      onInvalidEntry: (report) =>
        this.#logger.warn('ignored a malformed entry', { doc: this.name, code: 'CORRUPT_DATA', client: report.client, clock: report.clock, reason: report.reason }),
    })
    if (this.#updatesSinceCompaction >= this.#compactAfterUpdates) this.#compactInBackground()
  }

  /**
   * Applies an update received from `origin`; see {@link AppliedUpdate}. `durable` resolves even
   * if the update was already known. Throws a `KvsyncError` `PROTOCOL_ERROR` when the bytes are
   * not a valid Yjs update, or when the document would hold more than `maxPendingBytes` of data
   * waiting for missing dependencies (that data is dropped; what was integrated stays).
   */
  applyUpdate(update: Uint8Array, origin: DocumentPeer): AppliedUpdate {
    const { applied, error } = this.applyUpdates([update], origin)
    if (error !== undefined) throw error
    return applied
  }

  /**
   * Applies updates received together from `origin`, in order, in one Yjs transaction: one
   * `update` event, so one stored row, one broadcast entry and one register pass for all of
   * them instead of one each. Each update is still decoded and checked on its own, as by
   * {@link ServerDocument.applyUpdate}: at the first one that fails, the ones before it stay
   * applied, the rest are not applied, and `error` is its `PROTOCOL_ERROR`. `applied` covers
   * the updates applied.
   */
  applyUpdates(updates: ReadonlyArray<Uint8Array>, origin: DocumentPeer): { applied: AppliedUpdate; error: KvsyncError | undefined } {
    const ends = new Map<number, number>()
    let error: KvsyncError | undefined
    try {
      // Y.applyUpdate inside a transaction joins it instead of starting its own; `local: false`
      // as Y.applyUpdate's own transaction would be (remote changes).
      Y.transact(
        this.doc,
        () => {
          for (const update of updates) {
            const meta = this.#applyOne(update, origin)
            for (const [client, end] of meta.to) if (end > (ends.get(client) ?? 0)) ends.set(client, end)
          }
        },
        origin,
        false,
      )
    } catch (caught) {
      error = isKvsyncError(caught) ? caught : new KvsyncError('PROTOCOL_ERROR', `malformed update for ${JSON.stringify(this.name)}`, { cause: caught })
    }
    const clocks = new Map<number, number>()
    for (const [client, end] of ends) {
      const clock = Math.min(end, Y.getState(this.doc.store, client))
      if (clock > 0) clocks.set(client, clock)
    }
    return { applied: { durable: this.whenDurable(), clocks }, error }
  }

  #applyOne(update: Uint8Array, origin: DocumentPeer): { to: Map<number, number> } {
    let meta: { to: Map<number, number> }
    try {
      meta = Y.parseUpdateMeta(update)
      Y.applyUpdate(this.doc, update, origin)
    } catch (cause) {
      throw new KvsyncError('PROTOCOL_ERROR', `malformed update for ${JSON.stringify(this.name)}`, { cause })
    }
    const store = this.doc.store
    const pendingBytes = (store.pendingStructs?.update.byteLength ?? 0) + (store.pendingDs?.byteLength ?? 0)
    if (pendingBytes > this.#maxPendingBytes) {
      store.pendingStructs = null
      store.pendingDs = null
      throw new KvsyncError('PROTOCOL_ERROR', `${pendingBytes} bytes of updates of ${JSON.stringify(this.name)} wait for missing dependencies`)
    }
    return meta
  }

  /** The document's state vector (client id → clock) right now. */
  stateVector(): Map<number, number> {
    return Y.decodeStateVector(Y.encodeStateVector(this.doc))
  }

  /** Resolves once every update applied so far is durable (rejects if one was dropped). */
  whenDurable(): Promise<void> {
    return this.#queue.settled(this.name)
  }

  /** Applies an awareness update received from `origin`; throws `PROTOCOL_ERROR` on garbage. */
  applyAwarenessUpdate(update: Uint8Array, origin: DocumentPeer): void {
    try {
      awarenessProtocol.applyAwarenessUpdate(this.awareness, update, origin)
    } catch (cause) {
      throw new KvsyncError('PROTOCOL_ERROR', `malformed awareness update for ${JSON.stringify(this.name)}`, { cause })
    }
  }

  /** Detaches `peer` and removes the awareness states it announced, telling the other peers. */
  removePeer(peer: DocumentPeer): void {
    if (!this.peers.delete(peer) || this.#destroyed) return
    const clients = [...peer.awarenessClients].filter((client) => this.awareness.states.has(client))
    peer.awarenessClients.clear()
    if (clients.length > 0) awarenessProtocol.removeAwarenessStates(this.awareness, clients, null)
  }

  /**
   * Replaces the stored updates with one snapshot, after every queued append. Resolves to
   * `false` when there was nothing to merge. Failures are retried by the queue.
   */
  compact(): Promise<boolean> {
    this.#updatesSinceCompaction = 0
    return this.#queue.compact(this.name, () => Y.encodeStateAsUpdate(this.doc))
  }

  /**
   * Replaces expired entries by tombstones and drops tombstones older than `tombstoneRetentionMs`
   * (see docs/semantics.md). The resulting update is stored and broadcast like any other.
   */
  sweep(tombstoneRetentionMs: number): { expired: number; purged: number } {
    if (this.#destroyed) return { expired: 0, purged: 0 }
    return { expired: this.register.sweepExpired(), purged: this.register.purgeTombstones(tombstoneRetentionMs) }
  }

  /** Releases the Y.Doc and the awareness timer. Idempotent. */
  destroy(): void {
    if (this.#destroyed) return
    this.#destroyed = true
    this.#outgoing = []
    this.register.destroy()
    this.doc.off('update', this.#onUpdate)
    this.awareness.off('update', this.#onAwarenessUpdate)
    this.awareness.destroy()
    this.doc.destroy()
    this.peers.clear()
  }

  readonly #onUpdate = (update: Uint8Array, origin: unknown): void => {
    if (origin === storageOrigin) return
    // Fan-out: readers' CPU dominates, so every update applied in this turn of the event loop
    // (frames read in one poll phase, plus the register's repairs) goes out as one merged
    // update, encoded once, the same bytes for every peer. Stock clients still get one message
    // per frame.
    this.#outgoing.push(update)
    if (this.#outgoing.length === 1) setImmediate(this.#broadcast)
    this.#queue.append(this.name, update).catch(() => {
      // The queue logged the failure; the update stays in memory and in later snapshots.
    })
    this.#updatesSinceCompaction++
    if (this.#updatesSinceCompaction >= this.#compactAfterUpdates) this.#compactInBackground()
  }

  readonly #broadcast = (): void => {
    const updates = this.#outgoing
    this.#outgoing = []
    if (updates.length === 0 || this.#destroyed) return
    const message = updateMessage(updates.length === 1 ? (updates[0] as Uint8Array) : Y.mergeUpdates(updates))
    this.#metrics?.broadcasts.inc()
    // A copy: a peer that fails to keep up is detached while we iterate.
    for (const peer of [...this.peers]) peer.send(message)
  }

  readonly #onAwarenessUpdate = (
    changes: { added: number[]; updated: number[]; removed: number[] },
    origin: unknown,
  ): void => {
    if (this.#isPeer(origin)) {
      for (const client of changes.added) origin.awarenessClients.add(client)
      for (const client of changes.updated) origin.awarenessClients.add(client)
      for (const client of changes.removed) origin.awarenessClients.delete(client)
    }
    // Echoed to the sender too: browsers cannot see protocol pings, and stock clients drop a
    // socket that received nothing for 30 s.
    const message = awarenessMessage(this.awareness, [...changes.added, ...changes.updated, ...changes.removed])
    for (const peer of [...this.peers]) peer.send(message)
  }

  #isPeer(origin: unknown): origin is DocumentPeer {
    return this.peers.has(origin as DocumentPeer)
  }

  #compactInBackground(): void {
    this.compact().then(
      (compacted) => {
        if (compacted) this.#logger.debug('compacted', { doc: this.name })
      },
      () => {
        // Only a closing queue rejects; it logged what it dropped.
      },
    )
  }
}
