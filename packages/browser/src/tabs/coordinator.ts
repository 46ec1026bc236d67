import type { SyncStatus } from '../sync/connection.js'

/**
 * Messages between tabs (pages, workers) of one origin that opened the same store, over a
 * BroadcastChannel named after the store. Structured clone carries the bytes and maps.
 *
 * | type        | from          | meaning                                                         |
 * | ----------- | ------------- | --------------------------------------------------------------- |
 * | updateV1    | any tab       | a Yjs V1 update, sent AFTER the sender committed it to IndexedDB |
 * |             |               | (`records`: its record ids) or failed to (`durable: false`)     |
 * | update      | older kvsync  | the same with a Yjs V2 update (IndexedDB formats 1 and 2), from |
 * |             |               | a tab that still runs an older kvsync during an upgrade         |
 * | compacted   | any tab       | the sender replaced the log by snapshot `record`, taken at      |
 * |             |               | (at most) `stateVector`                                         |
 * | status      | leader        | the leader's connection status; its state vector when synced    |
 * | acks        | leader        | durable acknowledgements from the server (client → clock)       |
 * | whoLeads    | a new tab     | asks the leader to repeat status and acks                        |
 * | destroyed   | any tab       | the store's local data was deleted on purpose: close            |
 * | hello       | a new tab, or | "I am here": receivers reply `here`; both read back the log      |
 * |             | a tab that    | records they do not know (see                                   |
 * |             | found company | {@link TabCoordinator.hasMetAnotherTab})                        |
 * | here        | any tab       | the reply to `hello`; also sent by a tab closing before it met  |
 * |             |               | another (one may be opening whose hello is still on its way)    |
 */
export type TabMessage =
  | { type: 'updateV1'; update: Uint8Array; records: readonly number[]; durable: boolean }
  | { type: 'update'; update: Uint8Array; records: readonly number[]; durable: boolean }
  | { type: 'compacted'; record: number; stateVector: Uint8Array }
  | { type: 'status'; status: SyncStatus; stateVector: Uint8Array | undefined }
  | { type: 'acks'; clocks: Map<number, number> }
  | { type: 'whoLeads' }
  | { type: 'destroyed' }
  | { type: 'hello' }
  | { type: 'here' }

/** What a tab sends even while it knows of no other tab. */
const ALWAYS_SENT: ReadonlySet<TabMessage['type']> = new Set(['whoLeads', 'destroyed'])

interface LockManagerLike {
  request(name: string, options: { signal?: AbortSignal }, callback: () => Promise<void>): Promise<unknown>
}

function lockManager(): LockManagerLike | undefined {
  return (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator?.locks
}

/** Whether this environment can coordinate tabs (BroadcastChannel and Web Locks both exist). */
export function canCoordinateTabs(): boolean {
  return typeof globalThis.BroadcastChannel === 'function' && lockManager() !== undefined
}

/** Options of {@link TabCoordinator}. */
export interface TabCoordinatorOptions {
  storeName: string
  onMessage: (message: TabMessage) => void
  /** This tab now holds the store's leader lock (and must open the WebSocket). */
  onLeader: () => void
}

/**
 * Leader election and messaging between the tabs of one origin that opened the same store.
 *
 * The leader is whoever holds the Web Lock `kvsync:<store>`
 * (https://w3c.github.io/web-locks/#api-lock-manager-request): requests queue, so when the
 * leader's page closes or crashes the browser releases its lock and the next tab in line becomes
 * leader without any timeout. Only the leader connects to the server; the others exchange
 * updates with it (and each other) over a BroadcastChannel
 * (https://html.spec.whatwg.org/multipage/web-messaging.html#broadcasting-to-other-browsing-contexts),
 * which does not deliver a message to the context that sent it.
 *
 * A tab alone does not broadcast its commits (cloning each one into a BroadcastChannel costs
 * about a tenth of an awaited set, and most stores live in one tab). It says `hello` when it
 * starts and learns of other tabs from their `hello` or `here`; commits made before that are in
 * IndexedDB, and each side reads back the records it does not know once they have met (a
 * commit not broadcast was complete before its tab sent the message that makes the other read).
 */
export class TabCoordinator {
  private readonly channel: BroadcastChannel
  private readonly abort = new AbortController()
  private releaseLock: (() => void) | undefined
  private closed = false
  private leader = false
  /** Another tab of this store has made itself known (never reset: see hasMetAnotherTab). */
  private metAnotherTab = false
  /** Messages posted in the current task, sent in order at the start of a later one (see post). */
  private outbox: TabMessage[] = []
  /** Wakes the flush in a later task: a posted message, which hidden pages do not throttle (timers they do). */
  private readonly wake = new MessageChannel()

  constructor(private readonly options: TabCoordinatorOptions) {
    this.channel = new BroadcastChannel(`kvsync:${options.storeName}`)
    this.channel.onmessage = (event: MessageEvent<TabMessage>) => {
      if (!this.closed) this.receive(event.data)
    }
    this.wake.port1.onmessage = () => this.flush()
    this.sendNow('hello')
  }

  /**
   * Whether another tab of this store has ever made itself known. Until then commits,
   * compactions, status and acks are not broadcast. Safe to drop: a tab whose `hello` is still
   * on its way reads those commits back from IndexedDB once this tab answers it (or says `here`
   * when closing), and status and acks are repeated on its `whoLeads`, which follows its hello.
   */
  get hasMetAnotherTab(): boolean {
    return this.metAnotherTab
  }

  get isLeader(): boolean {
    return this.leader
  }

  /** Queues for the leader lock; `onLeader` runs once it is granted. */
  elect(): void {
    const locks = lockManager()
    if (locks === undefined) return
    locks
      .request(`kvsync:${this.options.storeName}`, { signal: this.abort.signal }, () => {
        if (this.closed) return Promise.resolve()
        this.leader = true
        this.options.onLeader()
        // Held until close(); the browser also releases it when this context goes away.
        return new Promise<void>((resolve) => (this.releaseLock = resolve))
      })
      .catch(() => {
        // AbortError: closed before the lock was granted. Nothing to release.
      })
  }

  /**
   * Sends `message` to the other tabs, in a later task than this one (in posting order): a
   * commit's broadcast is posted right after the commit resolves its writers' promises, and
   * cloning the update (about 0.06 ms in Chromium) would otherwise delay the next awaited write
   * reaching IndexedDB. Later, it runs while IndexedDB commits that write.
   */
  post(message: TabMessage): void {
    if (this.closed || (!this.metAnotherTab && !ALWAYS_SENT.has(message.type))) return
    this.outbox.push(message)
    if (this.outbox.length === 1) this.wake.port2.postMessage(undefined)
  }

  private receive(message: TabMessage): void {
    if (message.type === 'hello') {
      this.metAnotherTab = true
      this.sendNow('here')
    } else if (!this.metAnotherTab) {
      // Company found by its reply (or by an older kvsync's message): what this tab committed
      // unannounced until now is for the others to read back, so they must hear from it.
      this.metAnotherTab = true
      this.sendNow('hello')
    }
    this.options.onMessage(message)
  }

  /**
   * `hello` and `here` go out at once, not through the outbox, so they may overtake messages
   * queued before them; harmless, since they only make the receiver read the log back, and
   * what those messages carry is in IndexedDB already (or comes right after).
   */
  private sendNow(type: 'hello' | 'here'): void {
    this.channel.postMessage({ type } satisfies TabMessage)
  }

  private flush(): void {
    const messages = this.outbox
    this.outbox = []
    for (const message of messages) this.channel.postMessage(message)
  }

  /** Sends what is still queued, leaves the election (releasing the lock if held) and stops messaging. */
  close(): void {
    if (this.closed) return
    this.flush()
    // A tab opening now may have loaded the log before this tab's last commits and not reached
    // it with its hello yet: `here` makes it read them back.
    if (!this.metAnotherTab) this.sendNow('here')
    this.wake.port1.close()
    this.wake.port2.close()
    this.closed = true
    this.abort.abort()
    this.releaseLock?.()
    this.leader = false
    this.channel.close()
  }
}
