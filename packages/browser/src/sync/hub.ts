import { KvsyncError } from '@kvsync/shared'
import * as Y from 'yjs'
import { Origins, type Replica } from '../replica.js'
import type { LocalPersistence } from '../storage/types.js'
import { TabCoordinator, type TabMessage } from '../tabs/coordinator.js'
import type { DurableAcks } from './acks.js'
import { SyncConnection, type SyncConnectionOptions, type SyncStatus } from './connection.js'

/** What a hub needs to open the server connection (when it leads). */
export type ServerOptions = Omit<SyncConnectionOptions, 'doc' | 'onStatus' | 'onError' | 'onDurableAck' | 'storeName'>

/** Options of {@link SyncHub}. */
export interface SyncHubOptions {
  storeName: string
  replica: Replica
  persistence: LocalPersistence
  acks: DurableAcks
  /** Server connection settings; `undefined` for a local-only store. */
  server: ServerOptions | undefined
  /** Coordinate with other tabs (shared IndexedDB, BroadcastChannel and Web Locks present). */
  tabs: boolean
  onStatus: (status: SyncStatus) => void
  onError: (error: KvsyncError) => void
  /** Another tab destroyed the store's local data. */
  onDestroyed: () => void
}

/** True when `doc` has reached every client's clock in state vector `wanted`. */
function covers(doc: Y.Doc, wanted: Map<number, number>): boolean {
  for (const [client, clock] of wanted) if (Y.getState(doc.store, client) < clock) return false
  return true
}

/**
 * Connects a store's document to the world: to the server when this instance leads (always,
 * without tab coordination), and to the other tabs of its origin. Followers get the server's
 * updates, status and durable acks from the leader and send their writes through it.
 *
 * Persistence rule: every tab commits its own writes before broadcasting them; the leader also
 * commits what it receives from the server. So an update reaches other tabs only once it is in
 * IndexedDB, and tabs never store each other's updates twice.
 */
export class SyncHub {
  private readonly tabs: TabCoordinator | undefined
  private connection: SyncConnection | undefined
  private status: SyncStatus = 'offline'
  private leaderStatus: SyncStatus | undefined
  private leaderVector: Map<number, number> | undefined
  private queued: TabMessage[] | undefined = []
  private closed = false
  /** A read-back of unknown records is under way (see readUnannounced), and whether to read once more. */
  private reading = false
  private readAgain = false

  constructor(private readonly options: SyncHubOptions) {
    // Listen before loading from storage: anything committed after our load arrives here.
    this.tabs = options.tabs
      ? new TabCoordinator({ storeName: options.storeName, onMessage: (message) => this.onMessage(message), onLeader: () => this.lead() })
      : undefined
    if (options.server !== undefined && this.tabs !== undefined) this.setStatus('connecting')
  }

  /** Current status: the connection's when leading, else derived from the leader's. */
  get currentStatus(): SyncStatus {
    return this.status
  }

  /** Whether this instance holds the server connection. */
  get isLeader(): boolean {
    return this.connection !== undefined
  }

  /** Starts syncing; call once the document is loaded. */
  start(): void {
    if (this.closed) return
    const queued = this.queued ?? []
    this.queued = undefined
    for (const message of queued) this.onMessage(message)
    if (this.tabs === undefined) {
      this.lead()
      return
    }
    // Only tabs with a server compete: a local-only tab holding the lock would leave the
    // others without a connection.
    if (this.options.server === undefined) return
    this.tabs.elect()
    this.tabs.post({ type: 'whoLeads' })
  }

  /** After a commit: let other tabs apply (and not store again) what this tab stored. */
  committed(updates: readonly Uint8Array[], records: readonly number[], durable: boolean): void {
    if (this.tabs?.hasMetAnotherTab !== true || updates.length === 0) return
    const update = updates.length === 1 ? updates[0]! : Y.mergeUpdates([...updates])
    this.tabs.post({ type: 'updateV1', update, records, durable })
  }

  /** After a compaction: other tabs whose document covers the snapshot need not read it back. */
  compacted(record: number | undefined): void {
    if (this.tabs?.hasMetAnotherTab !== true || record === undefined) return
    this.tabs.post({ type: 'compacted', record, stateVector: Y.encodeStateVector(this.options.replica.doc) })
  }

  /** Tells other tabs the store's local data is being deleted. */
  destroying(): void {
    this.tabs?.post({ type: 'destroyed' })
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    this.connection?.stop()
    this.connection = undefined
    this.tabs?.close()
    this.setStatus('offline')
  }

  private lead(): void {
    if (this.closed || this.options.server === undefined || this.connection !== undefined) return
    this.connection = new SyncConnection({
      ...this.options.server,
      doc: this.options.replica.doc,
      storeName: this.options.storeName,
      onStatus: (status) => {
        this.setStatus(status)
        this.announceStatus()
      },
      onError: (error) => this.options.onError(error),
      onDurableAck: (clocks) => {
        this.options.acks.merge(clocks)
        this.tabs?.post({ type: 'acks', clocks })
      },
    })
    this.connection.start()
    // The connection reports only changes from its own initial 'offline'; a store opened while
    // the browser is offline would otherwise keep showing the hub's initial 'connecting'.
    this.setStatus(this.connection.currentStatus)
    this.announceStatus()
  }

  private announceStatus(): void {
    if (this.tabs?.hasMetAnotherTab !== true || this.connection === undefined) return
    const stateVector = this.status === 'synced' ? Y.encodeStateVector(this.options.replica.doc) : undefined
    this.tabs.post({ type: 'status', status: this.status, stateVector })
  }

  private onMessage(message: TabMessage): void {
    if (this.closed) return
    if (this.queued !== undefined && message.type !== 'destroyed') {
      this.queued.push(message)
      return
    }
    const { replica, persistence } = this.options
    switch (message.type) {
      case 'updateV1':
      case 'update':
        // Known only once applied: compaction clears known records without reading them back.
        if (this.applyFromTab(message.update, message.durable, message.type === 'update') && message.durable) persistence.markKnown?.(message.records)
        this.followerStatus()
        break
      case 'compacted':
        // A snapshot holding something this tab lacks (say, writes the sender failed to commit
        // before, kept only in its memory): read it back.
        if (covers(replica.doc, Y.decodeStateVector(message.stateVector))) persistence.markKnown?.([message.record])
        else this.readUnannounced()
        break
      case 'status':
        if (this.connection !== undefined) break
        this.leaderStatus = message.status
        this.leaderVector = message.stateVector === undefined ? undefined : Y.decodeStateVector(message.stateVector)
        this.followerStatus()
        break
      case 'acks':
        this.options.acks.merge(message.clocks)
        break
      case 'whoLeads':
        if (this.connection === undefined) break
        this.announceStatus()
        this.tabs?.post({ type: 'acks', clocks: this.options.acks.snapshot() })
        break
      case 'destroyed':
        this.options.onDestroyed()
        break
      case 'hello':
      case 'here':
        this.readUnannounced()
        break
    }
  }

  /**
   * Applies what other tabs committed before they knew of this one (and so did not broadcast):
   * the stored records this instance does not know (see TabCoordinator). One read at a time: a
   * tab that says hello hears `here` from every other tab, and reads started together would
   * apply the same records each; a request during a read runs one more read after it.
   */
  private readUnannounced(): void {
    if (this.reading) {
      this.readAgain = true
      return
    }
    this.reading = true
    void this.readUnknownRecords().finally(() => {
      this.reading = false
      if (this.readAgain && !this.closed) {
        this.readAgain = false
        this.readUnannounced()
      }
    })
  }

  private async readUnknownRecords(): Promise<void> {
    const { persistence, replica } = this.options
    if (persistence.readUnknown === undefined) return
    try {
      const { records, updates } = await persistence.readUnknown()
      if (this.closed) return
      for (const update of updates) replica.apply(update, Origins.absorbed)
      // Only now: a known record is one compaction may clear without reading it back.
      persistence.markKnown?.(records)
    } catch (error) {
      if (this.closed) return
      this.options.onError(error instanceof KvsyncError ? error : new KvsyncError('CORRUPT_DATA', "could not apply another tab's stored update", { cause: error }))
    }
    this.followerStatus()
  }

  /**
   * Applies another tab's update; `v2`: sent by an older kvsync, which stored and sent Yjs V2.
   * Returns whether it applied.
   */
  private applyFromTab(update: Uint8Array, durable: boolean, v2: boolean): boolean {
    try {
      this.options.replica.apply(v2 ? Y.convertUpdateFormatV2ToV1(update) : update, durable ? Origins.tab : Origins.tabUnsaved)
      return true
    } catch (error) {
      this.options.onError(new KvsyncError('CORRUPT_DATA', 'could not apply an update from another tab', { cause: error }))
      return false
    }
  }

  /** A follower is synced once the leader is and this tab has everything the leader had then. */
  private followerStatus(): void {
    if (this.connection !== undefined || this.options.server === undefined || this.leaderStatus === undefined) return
    if (this.leaderStatus !== 'synced') {
      this.setStatus(this.leaderStatus)
      return
    }
    const done = this.leaderVector === undefined || covers(this.options.replica.doc, this.leaderVector)
    this.setStatus(done ? 'synced' : 'syncing')
  }

  private setStatus(status: SyncStatus): void {
    if (this.status === status) return
    this.status = status
    this.options.onStatus(status)
  }
}
