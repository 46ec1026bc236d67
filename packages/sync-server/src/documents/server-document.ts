import * as Y from 'yjs'
import { KvsyncError, isKvsyncError } from '@kvsync/shared'
import { awarenessMessage, syncStep1Message, syncStep2Message } from '../protocol/messages.js'
import { addsNothing } from '../protocol/write-check.js'
import type { Logger } from '../logger.js'
import type { ServerMetrics } from '../metrics/server-metrics.js'
import { decodeAwake, releaseAwake, storageOrigin } from './awake-document.js'
import type { Awake } from './awake-document.js'
import { AwarenessRelay } from './awareness-relay.js'
import type { AwarenessOwner } from './awareness-relay.js'
import { checkAgainstEncoded, diffEncodedState, encodeState, knownStateOfDoc, knownStateOfEncoded, nextSweepAt } from './encoded-state.js'
import type { EncodedState } from './encoded-state.js'
import { TurnUpdates } from './fan-out.js'
import { integratedExactly } from './update-tap.js'
import type { BroadcastPeer } from './fan-out.js'
import type { WriteQueue } from './write-queue.js'

/**
 * Someone attached to a document who receives its broadcasts: a WebSocket connection today,
 * possibly an SSE watcher or a scale-out bridge later. Peers are also the origin of the updates
 * and awareness changes they send, which is how the document knows whose they are (and whom
 * not to send them back to, see `TurnUpdates`).
 */
export interface DocumentPeer extends AwarenessOwner, BroadcastPeer {}

/** Options of {@link ServerDocument.load}. */
export interface ServerDocumentOptions {
  readonly name: string
  /** The stored updates, oldest first. */
  readonly storedUpdates: ReadonlyArray<Uint8Array>
  readonly queue: WriteQueue
  readonly compactAfterUpdates: number
  /** Drop tombstones older than this when sweeping (see docs/semantics.md). */
  readonly tombstoneRetentionMs: number
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
   * left waiting for missing dependencies are not included: they are not stored yet. A new map,
   * the caller's to keep or change.
   */
  readonly clocks: Map<number, number>
}

/** The hibernated form: the encoded state, and when a sweep would next change it. */
interface Hibernated {
  readonly state: EncodedState
  /** Wall-clock ms (see `nextSweepAt`). */
  readonly sweepAt: number
}

/**
 * One loaded store: its document, its awareness, and the peers attached to it. Every update that
 * changes the document (whoever applied it, except storage replay) is persisted exactly once
 * through the write queue and broadcast to every peer, including the one that sent it unless
 * that is a kvsync client (see `TurnUpdates`).
 *
 * The document is either **awake** (a Y.Doc and a `KvRegister`) or **hibernated** (only its
 * {@link EncodedState}; see {@link ServerDocument.hibernate}). Hibernation is invisible to
 * peers: a hibernated document answers sync steps, acks and no-op updates from the encoded
 * state, and wakes — synchronously, so nothing is reordered — for the first update that changes
 * it or a sweep that is due.
 */
export class ServerDocument {
  readonly name: string
  readonly awareness = new AwarenessRelay()
  readonly peers = new Set<DocumentPeer>()
  readonly #queue: WriteQueue
  readonly #logger: Logger
  readonly #compactAfterUpdates: number
  readonly #tombstoneRetentionMs: number
  readonly #maxPendingBytes: number
  readonly #metrics: ServerMetrics | undefined
  /** Exactly one of #awake and #hibernated is set (both stay as they were after destroy). */
  #awake: Awake | undefined
  #hibernated: Hibernated | undefined
  /** Updates applied since the last broadcast; merged into one frame (see #onUpdate). */
  #outgoing: TurnUpdates | undefined
  #updatesSinceCompaction: number
  /** Encoded size when last loaded or hibernated, plus the updates applied since: the cost of waking. */
  #sizeBytes: number
  /** `performance.now()` of the last change to the document (or of its load or wake). */
  #changedAt: number
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
    this.#tombstoneRetentionMs = options.tombstoneRetentionMs
    this.#maxPendingBytes = options.maxPendingBytes
    this.#metrics = options.metrics
    this.#updatesSinceCompaction = options.storedUpdates.length
    this.#sizeBytes = options.storedUpdates.reduce((sum, update) => sum + update.byteLength, 0)
    this.#changedAt = performance.now()
    this.#awake = this.#decode(options.storedUpdates)
    if (this.#updatesSinceCompaction >= this.#compactAfterUpdates) this.#compactInBackground()
  }

  /** Whether only the encoded state is in memory. */
  get hibernated(): boolean {
    return this.#hibernated !== undefined
  }

  /** `performance.now()` of the last change, load or wake: how long the document has been idle. */
  get changedAt(): number {
    return this.#changedAt
  }

  /** Approximate size of the encoded document in bytes, which is what waking it costs. */
  get sizeBytes(): number {
    return this.#sizeBytes
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
   * the updates applied. A hibernated document stays hibernated if none of them changes it.
   * `incremental`: they are a sender's own transactions (update messages), not a sync step 2,
   * which repeats the sender's whole delete set: then one of them that integrates exactly is
   * stored and broadcast as it came (see `UpdateTap`).
   */
  applyUpdates(updates: ReadonlyArray<Uint8Array>, origin: DocumentPeer, incremental = false): { applied: AppliedUpdate; error: KvsyncError | undefined } {
    if (this.#hibernated !== undefined) {
      // While the updates change nothing (a stock client's step 2 on reconnect, a resent
      // update), the same result without decoding; the first one that would change the
      // document wakes it, and all are applied there (those before it are no-ops there too).
      const unchanged = checkAgainstEncoded(this.#hibernated.state, updates, this.name)
      if (unchanged !== undefined) return { applied: { durable: this.whenDurable(), clocks: unchanged.clocks }, error: unchanged.error }
    }
    const { doc, tap } = this.#wake()
    // The first update's own end clocks (parseUpdateMeta's new map), merged with the others'.
    let ends: Map<number, number> | undefined
    const pendingBefore = doc.store.pendingStructs !== null || doc.store.pendingDs !== null
    let error: KvsyncError | undefined
    try {
      // Y.applyUpdate inside a transaction joins it instead of starting its own; `local: false`
      // as Y.applyUpdate's own transaction would be (remote changes).
      Y.transact(
        doc,
        (transaction) => {
          for (const update of updates) {
            const meta = this.#applyOne(doc, update, origin)
            if (ends === undefined) ends = meta.to
            else for (const [client, end] of meta.to) if (end > (ends.get(client) ?? 0)) ends.set(client, end)
            if (incremental && updates.length === 1 && integratedExactly(transaction, meta, pendingBefore)) tap.forward(transaction, update)
          }
        },
        origin,
        false,
      )
    } catch (caught) {
      error = isKvsyncError(caught) ? caught : new KvsyncError('PROTOCOL_ERROR', `malformed update for ${JSON.stringify(this.name)}`, { cause: caught })
    } finally {
      tap.restore()
    }
    const clocks = ends ?? new Map<number, number>()
    for (const [client, end] of clocks) {
      const clock = Math.min(end, Y.getState(doc.store, client))
      if (clock > 0) clocks.set(client, clock)
      else clocks.delete(client)
    }
    return { applied: { durable: this.whenDurable(), clocks }, error }
  }

  #applyOne(doc: Y.Doc, update: Uint8Array, origin: DocumentPeer): { from: Map<number, number>; to: Map<number, number> } {
    let meta: { from: Map<number, number>; to: Map<number, number> }
    try {
      meta = Y.parseUpdateMeta(update)
      Y.applyUpdate(doc, update, origin)
    } catch (cause) {
      throw new KvsyncError('PROTOCOL_ERROR', `malformed update for ${JSON.stringify(this.name)}`, { cause })
    }
    const store = doc.store
    const pendingBytes = (store.pendingStructs?.update.byteLength ?? 0) + (store.pendingDs?.byteLength ?? 0)
    if (pendingBytes > this.#maxPendingBytes) {
      store.pendingStructs = null
      store.pendingDs = null
      throw new KvsyncError('PROTOCOL_ERROR', `${pendingBytes} bytes of updates of ${JSON.stringify(this.name)} wait for missing dependencies`)
    }
    return meta
  }

  /**
   * Whether `update` would change nothing (see `addsNothing`); read-only connections may send
   * only such updates. Throws `PROTOCOL_ERROR` when it is not a Yjs update.
   */
  addsNothing(update: Uint8Array): boolean {
    const known = this.#awake !== undefined ? knownStateOfDoc(this.#awake.doc) : knownStateOfEncoded((this.#hibernated as Hibernated).state)
    return addsNothing(known, update)
  }

  /** Sync step 1 (the document's state vector), the first message a peer gets. */
  syncStep1Message(): Uint8Array {
    return syncStep1Message(this.#awake !== undefined ? Y.encodeStateVector(this.#awake.doc) : (this.#hibernated as Hibernated).state.stateVector)
  }

  /**
   * Sync step 2 for a peer whose state vector is `stateVector`: everything it lacks. Throws
   * (lib0 decoding errors) when `stateVector` is malformed.
   */
  syncStep2Message(stateVector: Uint8Array): Uint8Array {
    const update = this.#awake !== undefined ? Y.encodeStateAsUpdate(this.#awake.doc, stateVector) : diffEncodedState((this.#hibernated as Hibernated).state, stateVector)
    return syncStep2Message(update)
  }

  /** The document's state vector (client id → clock) right now. */
  stateVector(): Map<number, number> {
    return Y.decodeStateVector(this.#awake !== undefined ? Y.encodeStateVector(this.#awake.doc) : (this.#hibernated as Hibernated).state.stateVector)
  }

  /** Resolves once every update applied so far is durable (rejects if one was dropped). */
  whenDurable(): Promise<void> {
    return this.#queue.settled(this.name)
  }

  /**
   * Hibernates the document: keeps only its encoded state (about a tenth of the memory) until
   * something needs the Y.Doc again. Returns `false`, changing nothing, when already hibernated
   * or destroyed, or while structs wait for missing dependencies (the encoded state cannot hold
   * them). A broadcast not yet sent is not in the way: it holds its own encoded updates.
   */
  hibernate(): boolean {
    const awake = this.#awake
    if (awake === undefined || this.#destroyed) return false
    if (awake.doc.store.pendingStructs !== null || awake.doc.store.pendingDs !== null) return false
    const state = encodeState(awake.doc)
    this.#hibernated = { state, sweepAt: nextSweepAt(awake.register, this.#tombstoneRetentionMs) }
    this.#awake = undefined
    this.#sizeBytes = state.update.byteLength
    releaseAwake(awake)
    this.#metrics?.storesHibernated.inc()
    this.#logger.debug('hibernated', { doc: this.name, bytes: state.update.byteLength })
    return true
  }

  /** Applies an awareness update received from `origin`; throws `PROTOCOL_ERROR` on garbage. */
  applyAwarenessUpdate(update: Uint8Array, origin: DocumentPeer): void {
    let changed: number[]
    try {
      changed = this.awareness.applyFrom(origin, update, Date.now())
    } catch (cause) {
      throw new KvsyncError('PROTOCOL_ERROR', `malformed awareness update for ${JSON.stringify(this.name)}`, { cause })
    }
    // Echoed to the sender too: browsers cannot see protocol pings, and stock clients drop a
    // socket that received nothing for 30 s.
    this.#broadcastAwareness(changed)
  }

  /** All present awareness states in one message (for a new peer, or a query), if there are any. */
  awarenessStatesMessage(): Uint8Array | undefined {
    const clients = this.awareness.clients()
    return clients.length > 0 ? awarenessMessage(this.awareness.encode(clients)) : undefined
  }

  /** Removes awareness states not renewed in time and tells the peers; see `AwarenessRelay.expire`. */
  expireAwareness(now: number): void {
    if (!this.#destroyed) this.#broadcastAwareness(this.awareness.expire(now))
  }

  /** Detaches `peer` and removes the awareness states it announced, telling the other peers. */
  removePeer(peer: DocumentPeer): void {
    if (!this.peers.delete(peer) || this.#destroyed) return
    this.#broadcastAwareness(this.awareness.removePeer(peer, Date.now()))
  }

  /**
   * Replaces the stored updates with one snapshot, after every queued append. Resolves to
   * `false` when there was nothing to merge. Failures are retried by the queue.
   */
  compact(): Promise<boolean> {
    this.#updatesSinceCompaction = 0
    // Encoded when the compaction runs, from whichever form the document has by then.
    return this.#queue.compact(this.name, () => {
      const snapshot = this.#awake !== undefined ? Y.encodeStateAsUpdate(this.#awake.doc) : (this.#hibernated as Hibernated).state.update
      this.#sizeBytes = snapshot.byteLength
      return snapshot
    })
  }

  /**
   * Replaces expired entries by tombstones and drops tombstones older than the retention (see
   * docs/semantics.md). The resulting update is stored and broadcast like any other. A
   * hibernated document is woken only once a sweep is due.
   */
  sweep(): { expired: number; purged: number } {
    if (this.#destroyed || (this.#hibernated !== undefined && Date.now() < this.#hibernated.sweepAt)) return { expired: 0, purged: 0 }
    const { register } = this.#wake()
    return { expired: register.sweepExpired(), purged: register.purgeTombstones(this.#tombstoneRetentionMs) }
  }

  /** Releases the Y.Doc. Idempotent. A compaction queued before still finds the state. */
  destroy(): void {
    if (this.#destroyed) return
    this.#destroyed = true
    this.#outgoing = undefined
    if (this.#awake !== undefined) releaseAwake(this.#awake)
    this.peers.clear()
  }

  /** The awake form from `updates` (stored ones, or the encoded state when waking). */
  #decode(updates: ReadonlyArray<Uint8Array>, waking = false): Awake {
    return decodeAwake({ name: this.name, updates, logger: this.#logger, waking, onUpdate: (update, origin) => this.#onUpdate(update, origin) })
  }

  /** The awake form, decoding the encoded state first if hibernated. */
  #wake(): Awake {
    if (this.#awake !== undefined) return this.#awake
    if (this.#destroyed) throw new KvsyncError('STORE_CLOSED', `${JSON.stringify(this.name)} was unloaded`)
    const { state } = this.#hibernated as Hibernated
    const started = performance.now()
    const awake = this.#decode([state.update], true)
    this.#awake = awake
    this.#hibernated = undefined
    this.#changedAt = performance.now()
    this.#metrics?.storesWoken.inc()
    this.#logger.debug('woke', { doc: this.name, bytes: state.update.byteLength, ms: Math.round(this.#changedAt - started) })
    return awake
  }

  #onUpdate(update: Uint8Array, origin: unknown): void {
    if (origin === storageOrigin) return
    this.#changedAt = performance.now()
    this.#sizeBytes += update.byteLength
    // Fan-out: readers' CPU dominates, so every update applied in this turn of the event loop
    // (frames read in one poll phase, plus the register's repairs) goes out as one merged
    // update, encoded once, the same bytes for every peer. Stock clients still get one message
    // per frame.
    if (this.#outgoing !== undefined) {
      this.#outgoing.add(update, origin)
    } else {
      this.#outgoing = new TurnUpdates(update, origin)
      setImmediate(() => this.#broadcast())
    }
    // Durability is awaited through whenDurable(); a failure is logged by the queue, and the
    // update stays in memory and in later snapshots.
    void this.#queue.append(this.name, update)
    this.#updatesSinceCompaction++
    if (this.#updatesSinceCompaction >= this.#compactAfterUpdates) this.#compactInBackground()
  }

  #broadcast(): void {
    const outgoing = this.#outgoing
    this.#outgoing = undefined
    if (outgoing === undefined || this.#destroyed) return
    if (outgoing.sendTo(this.peers)) this.#metrics?.broadcasts.inc()
  }

  #broadcastAwareness(clients: number[]): void {
    if (clients.length === 0) return
    const message = awarenessMessage(this.awareness.encode(clients))
    for (const peer of this.peers) peer.send(message)
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
