import * as Y from 'yjs'
import { KvsyncError } from '../errors.js'
import { HybridLogicalClock, type HlcTimestamp } from '../hlc.js'
import { DEFAULT_MAX_VALUE_BYTES, decodeValue, encodeValue, type KvValue } from '../value-codec.js'
import { KV_ARRAY_NAME, compareEntries, decodeEntry, encodeEntry, entryLength, writeEntry, type KvEntry } from './entry.js'
import { assertKey } from './key.js'
import { ExpiryTracker } from './expiry.js'
import { appendToArray } from './append.js'
import { forEachAddedItem } from './added-items.js'

/** Where a change came from: this replica, another replica, or the passing of its TTL. */
export type KvChangeOrigin = 'local' | 'remote' | 'expired'

/** One visible change of one key. `value` is `undefined` when the key is now absent. */
export interface KvChange {
  readonly key: string
  readonly value: KvValue | undefined
  readonly oldValue: KvValue | undefined
  readonly origin: KvChangeOrigin
}

/** Options of a single write. Give at most one of `ttl` and `expiresAt`. */
export interface KvSetOptions {
  /** Time to live in milliseconds from now (positive, finite). */
  ttl?: number
  /** Absolute expiry time (ms since the epoch, or a Date). */
  expiresAt?: number | Date
}

/** Why an element of the document was ignored. */
export interface InvalidEntryReport {
  readonly client: number
  readonly clock: number
  readonly reason: string
}

/** Options of {@link KvRegister}. */
export interface KvRegisterOptions {
  /** Physical clock for HLC timestamps and expiry. Default `Date.now`. */
  now?: () => number
  /** Largest encoded value accepted by `set`. Default 1 MiB. */
  maxValueBytes?: number
  /** Called once for each element of the document that is not a valid entry. */
  onInvalidEntry?: (report: InvalidEntryReport) => void
  /** Timer functions for expiry notifications (tests inject fakes). Default: global timers. */
  timers?: { setTimeout: typeof setTimeout; clearTimeout: typeof clearTimeout }
  /**
   * Asked once per transaction: whether anyone downstream of the `onChange` listeners wants its
   * change events (a store without subscribers does not). When it says no, the transaction's
   * changes are neither collected nor built. Default: always (while a listener is registered).
   */
  wantsChanges?: () => boolean
}

interface Slot {
  readonly item: Y.Item
  readonly entry: KvEntry
}

/** Transaction origins used by the register, so persistence and sync can tell them apart. */
export const KvOrigins = {
  /** A write made through this register's API. */
  local: Symbol('kvsync.local'),
  /** Deletion of entries superseded by a greater one (conflict resolution). */
  repair: Symbol('kvsync.repair'),
  /** Replacing expired entries by tombstones, or dropping tombstones past retention. */
  sweep: Symbol('kvsync.sweep'),
} as const

/** Marks a transaction whose changes are not announced (see {@link KvRegister.transact}). */
const SILENT = Symbol('kvsync.silent')

/**
 * A change whose values are decoded when first read: most changes reach no subscriber that
 * reads them (a store nobody subscribed to, or subscribers of other keys), and decoding a
 * value costs more than the rest of a remote update's bookkeeping. The properties are the
 * change's own (enumerable), and each value is decoded once. An object literal with getters,
 * not `Object.defineProperty` on a plain object: V8 builds the literal from one shape, where
 * two defines per change cost about a third more (S2's clients build one per received write).
 */
function lazyChange(key: string, origin: KvChangeOrigin, value: Uint8Array | undefined, oldValue: Uint8Array | undefined): KvChange {
  let decodedValue: KvValue | undefined
  let decodedOldValue: KvValue | undefined
  return {
    key,
    origin,
    get value(): KvValue | undefined {
      if (value !== undefined) {
        decodedValue = decodeValue(value)
        value = undefined
      }
      return decodedValue
    },
    get oldValue(): KvValue | undefined {
      if (oldValue !== undefined) {
        decodedOldValue = decodeValue(oldValue)
        oldValue = undefined
      }
      return decodedOldValue
    },
  }
}

/** Adds the `expired` change of `key` whose entry was `entry`, if it held a value. */
function pushExpired(changes: KvChange[], key: string, entry: KvEntry | undefined): void {
  if (entry !== undefined && !entry.tombstone && entry.value !== undefined) changes.push(lazyChange(key, 'expired', undefined, entry.value))
}

function visible(entry: KvEntry | undefined, now: number): entry is KvEntry {
  return entry !== undefined && !entry.tombstone && (entry.expiresAt === undefined || entry.expiresAt > now)
}

/**
 * The absolute expiry time a write's options ask for, or `undefined` for none. Throws a
 * `KvsyncError` `INVALID_OPTION` for both `ttl` and `expiresAt`, or values that are not positive,
 * finite times.
 */
export function resolveExpiresAt(options: KvSetOptions | undefined, now: number): number | undefined {
  if (options === undefined) return undefined
  const { ttl, expiresAt } = options
  if (ttl !== undefined && expiresAt !== undefined) throw new KvsyncError('INVALID_OPTION', 'give either ttl or expiresAt, not both')
  if (ttl !== undefined) {
    if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl <= 0) throw new KvsyncError('INVALID_OPTION', `ttl must be a positive number of milliseconds, got ${String(ttl)}`)
    return Math.ceil(now + ttl)
  }
  if (expiresAt !== undefined) {
    const time = expiresAt instanceof Date ? expiresAt.getTime() : expiresAt
    if (typeof time !== 'number' || !Number.isFinite(time) || time <= 0) throw new KvsyncError('INVALID_OPTION', `expiresAt must be a time in ms since the epoch or a valid Date, got ${String(expiresAt)}`)
    return Math.ceil(time)
  }
  return undefined
}

/**
 * A last-writer-wins key-value register on a Yjs document, by hybrid logical clock.
 *
 * Every write appends one entry (key, HLC, value or tombstone, expiry) to the root `Y.Array`
 * {@link KV_ARRAY_NAME}. For each key the entry with the greatest HLC wins (see
 * {@link compareEntries}); every replica deletes the entries it sees superseded, so the
 * document keeps one live entry per key and deleted runs collapse into small GC ranges
 * (bounded growth). An in-memory index key → winning entry answers reads in O(1).
 */
export class KvRegister {
  readonly doc: Y.Doc
  private readonly array: Y.Array<Uint8Array>
  private readonly slots = new Map<string, Slot>()
  /** Item → key of every winning item (the reverse of `slots`), to see when a winner is deleted. */
  private readonly winnerKeys = new Map<Y.Item, string>()
  /** Winners written in the transaction under way, before the index catches up. */
  private readonly pendingLocal = new Map<string, Y.Item>()
  /** Entries this register wrote in the transaction under way, so indexing them needs no decoding. */
  private readonly writtenItems: Y.Item[] = []
  private readonly writtenEntries: KvEntry[] = []
  /** How far `admit` has matched the added items against `writtenItems` (both in append order). */
  private writtenCursor = 0
  private readonly clock: HybridLogicalClock
  private readonly now: () => number
  private readonly maxValueBytes: number
  private readonly onInvalidEntry: ((report: InvalidEntryReport) => void) | undefined
  private readonly wantsChanges: () => boolean
  private readonly listeners = new Set<(changes: KvChange[]) => void>()
  private readonly expiry: ExpiryTracker
  private destroyed = false

  constructor(doc: Y.Doc, options: KvRegisterOptions = {}) {
    this.doc = doc
    this.array = doc.getArray<Uint8Array>(KV_ARRAY_NAME)
    this.now = options.now ?? Date.now
    this.maxValueBytes = options.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES
    this.onInvalidEntry = options.onInvalidEntry
    this.wantsChanges = options.wantsChanges ?? (() => true)
    this.clock = new HybridLogicalClock({ node: doc.clientID, now: this.now })
    this.expiry = new ExpiryTracker({
      now: this.now,
      timers: options.timers,
      onDue: (keys) => this.announceExpired(keys),
    })
    doc.on('afterTransaction', this.onAfterTransaction)
    const existing: Y.Item[] = []
    for (let item = this.array._start; item !== null; item = item.right) existing.push(item)
    const losers = this.admit(existing, undefined)
    this.deleteLosers(losers)
  }

  /** The value of `key`, or `undefined` when absent, deleted or expired. */
  get(key: string): KvValue | undefined {
    const entry = this.slots.get(key)?.entry
    return visible(entry, this.now()) ? decodeValue(entry.value!) : undefined
  }

  /** Whether `key` currently has a value. */
  has(key: string): boolean {
    return visible(this.slots.get(key)?.entry, this.now())
  }

  /** The winning entry of `key` (also tombstones and expired ones), for persistence layers. */
  entry(key: string): KvEntry | undefined {
    return this.slots.get(key)?.entry
  }

  /** Every key's winning entry (tombstones and expired ones too), in no particular order. */
  *winners(): IterableIterator<[string, KvEntry]> {
    for (const [key, slot] of this.slots) yield [key, slot.entry]
  }

  /** Number of keys that currently have a value. */
  get size(): number {
    const now = this.now()
    let count = 0
    for (const slot of this.slots.values()) if (visible(slot.entry, now)) count++
    return count
  }

  /** Keys that currently have a value, sorted, optionally only those starting with `prefix`. */
  keys(prefix = ''): string[] {
    const now = this.now()
    const keys: string[] = []
    for (const [key, slot] of this.slots) if (key.startsWith(prefix) && visible(slot.entry, now)) keys.push(key)
    return keys.sort()
  }

  /** `[key, value]` pairs of keys that currently have a value, sorted by key. */
  entries(prefix = ''): Array<[string, KvValue]> {
    return this.keys(prefix).map((key) => [key, decodeValue(this.slots.get(key)!.entry.value!)])
  }

  /** Sets `key` to `value`. Validates both and throws a `KvsyncError` before changing anything. */
  set(key: string, value: unknown, options?: KvSetOptions): void {
    this.assertOpen()
    assertKey(key)
    const bytes = encodeValue(value, this.maxValueBytes)
    const expiresAt = resolveExpiresAt(options, this.now())
    this.write(key, bytes, expiresAt)
  }

  /** Deletes `key` (writes a tombstone, so a concurrent older write cannot bring it back). */
  delete(key: string): void {
    this.assertOpen()
    assertKey(key)
    this.write(key, undefined, undefined)
  }

  /**
   * Writes a value that the caller has already validated and encoded with `encodeValue` (within
   * `maxValueBytes`), or a tombstone when `value` is `undefined`, with an absolute expiry from
   * `resolveExpiresAt`. For callers that validate a write when it is made and apply it later
   * (the browser store gathers the writes of one task into one transaction).
   */
  writeEncoded(key: string, value: Uint8Array | undefined, expiresAt: number | undefined): void {
    this.assertOpen()
    this.write(key, value, expiresAt)
  }

  /**
   * `writeEncoded` for each write, in order, in one transaction (the caller's, or a new one).
   * The entries share one buffer: allocating one small typed array per entry (off the JS heap
   * once above 64 bytes in V8) was most of a bulk write's entry encoding. Like entries Yjs
   * decodes from an update (views into it), a shared buffer lives as long as one of its entries.
   */
  writeEncodedMany(writes: ReadonlyArray<{ readonly key: string; readonly value: Uint8Array | undefined; readonly expiresAt: number | undefined }>): void {
    this.assertOpen()
    if (writes.length === 0) return
    const run = (transaction: Y.Transaction): void => {
      this.clock.node = this.doc.clientID
      const client = this.doc.clientID
      const entries = writes.map(({ key, value, expiresAt }): KvEntry => {
        const tombstone = value === undefined
        return { key, hlc: this.clock.tick(), tombstone, expiresAt: tombstone ? undefined : expiresAt, value }
      })
      let total = 0
      for (const entry of entries) total += entryLength(entry, client)
      const buffer = new Uint8Array(total)
      let at = 0
      for (const entry of entries) {
        const end = writeEntry(buffer, at, entry, client)
        this.append(transaction, entry, buffer.subarray(at, end))
        at = end
      }
    }
    const current = this.doc._transaction
    if (current !== null) run(current)
    else this.doc.transact(run, KvOrigins.local)
  }

  /**
   * Runs `fn` in one Yjs transaction: its writes become one update. With `silent`, the
   * transaction's changes are not passed to `onChange` listeners (a caller that announced the
   * writes itself when they were made); it must be the outermost transaction.
   */
  transact<T>(fn: () => T, options?: { silent?: boolean }): T {
    this.assertOpen()
    if (options?.silent !== true) return this.doc.transact(fn, KvOrigins.local)
    return this.doc.transact((transaction) => {
      transaction.meta.set(SILENT, true)
      return fn()
    }, KvOrigins.local)
  }

  /** Calls `listener` with the visible changes of each transaction. Returns an unsubscribe. */
  onChange(listener: (changes: KvChange[]) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /**
   * Replaces entries expired at `now` by tombstones with the same HLC, so stored state does not
   * grow with expired data and a concurrent older write still cannot win. Returns how many.
   */
  sweepExpired(): number {
    const now = this.now()
    const expired: Slot[] = []
    for (const slot of this.slots.values()) {
      const { entry } = slot
      if (!entry.tombstone && entry.expiresAt !== undefined && entry.expiresAt <= now) expired.push(slot)
    }
    if (expired.length === 0) return 0
    this.doc.transact((transaction) => {
      for (const { item, entry } of expired) {
        if (item.deleted) continue
        appendToArray(
          transaction,
          this.array,
          encodeEntry({ key: entry.key, hlc: entry.hlc, tombstone: true, value: undefined, expiresAt: undefined }, this.doc.clientID),
          this.tail,
        )
        item.delete(transaction)
      }
    }, KvOrigins.sweep)
    return expired.length
  }

  /**
   * Drops tombstones whose HLC wall time is older than `retentionMs` before now. After that, a
   * replica that was partitioned longer than `retentionMs` and still holds an older concurrent
   * write for that key can bring the write back: retention must exceed the longest partition.
   * Returns how many tombstones were dropped.
   */
  purgeTombstones(retentionMs: number): number {
    const cutoff = this.now() - retentionMs
    const old: Y.Item[] = []
    for (const slot of this.slots.values()) if (slot.entry.tombstone && slot.entry.hlc.wallMs < cutoff) old.push(slot.item)
    if (old.length === 0) return 0
    this.doc.transact((transaction) => {
      for (const item of old) if (!item.deleted) item.delete(transaction)
    }, KvOrigins.sweep)
    return old.length
  }

  /** The greatest HLC issued or observed by this replica. */
  clockState(): HlcTimestamp {
    return this.clock.peek()
  }

  /** Stops listening to the document and cancels expiry timers. The document is left as is. */
  destroy(): void {
    if (this.destroyed) return
    this.destroyed = true
    this.doc.off('afterTransaction', this.onAfterTransaction)
    this.expiry.clear()
    this.listeners.clear()
  }

  private assertOpen(): void {
    if (this.destroyed) throw new KvsyncError('STORE_CLOSED', 'the store is closed')
  }

  /** The last item appended, as appendToArray keeps it (one object, not one per append). */
  private readonly tail = {
    item: null as Y.Item | null,
    get: (): Y.Item | null => this.tail.item,
    set: (item: Y.Item): void => {
      this.tail.item = item
    },
  }

  private write(key: string, value: Uint8Array | undefined, expiresAt: number | undefined): void {
    // Inside a transaction already (a batch), join it directly: this runs once per key written.
    const current = this.doc._transaction
    if (current !== null) this.writeIn(current, key, value, expiresAt)
    else this.doc.transact((transaction) => this.writeIn(transaction, key, value, expiresAt), KvOrigins.local)
  }

  /** Appends the entry of a write (a tombstone when `value` is `undefined`) within `transaction`. */
  private writeIn(transaction: Y.Transaction, key: string, value: Uint8Array | undefined, expiresAt: number | undefined): void {
    // Yjs may pick a new client id if it detects a clash; keep the HLC node in step with it.
    this.clock.node = this.doc.clientID
    const hlc = this.clock.tick()
    const tombstone = value === undefined
    const entry: KvEntry = { key, hlc, tombstone, expiresAt: tombstone ? undefined : expiresAt, value }
    this.append(transaction, entry, encodeEntry(entry, this.doc.clientID))
  }

  /** Appends the encoded `entry` and deletes the key's entry it supersedes, in `transaction`. */
  private append(transaction: Y.Transaction, entry: KvEntry, bytes: Uint8Array): void {
    const { key } = entry
    const previous = this.pendingLocal.get(key) ?? this.slots.get(key)?.item
    const item = appendToArray(transaction, this.array, bytes, this.tail)
    this.writtenItems.push(item)
    this.writtenEntries.push(entry)
    // Delete the superseded entry in the same transaction: one update, no repair round.
    if (previous !== undefined && !previous.deleted) previous.delete(transaction)
    this.pendingLocal.set(key, item)
  }

  private readonly onAfterTransaction = (transaction: Y.Transaction): void => {
    this.pendingLocal.clear()
    if (this.destroyed) {
      this.forgetWritten()
      return
    }
    // What each touched key held before, for the change events; a silent transaction has none.
    // Receiving a write is a store's most frequent work (every write of every other replica):
    // with nobody listening, no map of the touched keys and no change objects are made.
    const announce = transaction.meta.get(SILENT) !== true && this.listeners.size > 0 && this.wantsChanges()
    const before = announce ? new Map<string, Slot | undefined>() : undefined
    // Keys whose entry expired but was replaced or removed before its expiry was announced
    // (see ExpiryTracker.takeOverdue): announced with this transaction's changes.
    const overdue = before === undefined ? undefined : new Set<string>()
    this.evictDeletedWinners(transaction, before, overdue)
    const added = this.addedItems(transaction)
    const losers = this.admit(added, before, overdue)
    this.forgetWritten()
    this.deleteLosers(losers)
    if (before !== undefined && overdue !== undefined && before.size > 0) this.emit(before, transaction.origin === KvOrigins.local ? 'local' : 'remote', overdue)
  }

  /** Removes index slots whose item this transaction deleted (a remote replica saw a winner). */
  private evictDeletedWinners(transaction: Y.Transaction, before: Map<string, Slot | undefined> | undefined, overdue: Set<string> | undefined): void {
    if (transaction.deleteSet.clients.size === 0) return
    Y.iterateDeletedStructs(transaction, transaction.deleteSet, (struct) => {
      if (!(struct instanceof Y.Item)) return
      const key = this.winnerKeys.get(struct)
      if (key === undefined) return
      const slot = this.slots.get(key)
      if (slot?.item !== struct) return
      if (before !== undefined && !before.has(key)) before.set(key, slot)
      this.slots.delete(key)
      this.winnerKeys.delete(struct)
      if (this.expiry.takeOverdue(key)) overdue?.add(key)
    })
  }

  /** Items of the kv array that this transaction created and that are still live. */
  private addedItems(transaction: Y.Transaction): Y.Item[] {
    const added: Y.Item[] = []
    forEachAddedItem(transaction, this.array, (item) => {
      if (!item.deleted) added.push(item)
    })
    return added
  }

  /**
   * Indexes candidate items: each either becomes its key's winner or is a loser. Returns the
   * live items that lost, for deletion. Records each touched key's previous slot in `before`.
   */
  private admit(items: Y.Item[], before: Map<string, Slot | undefined> | undefined, overdue?: Set<string>): Y.Item[] {
    const losers: Y.Item[] = []
    for (const item of items) {
      if (item.deleted) continue
      const entry = this.parse(item)
      if (entry === undefined) continue
      this.clock.observe(entry.hlc)
      const current = this.slots.get(entry.key)
      if (current !== undefined && compareEntries(entry, item.id, current.entry, current.item.id) <= 0) {
        losers.push(item)
        continue
      }
      if (current !== undefined) {
        losers.push(current.item)
        this.winnerKeys.delete(current.item)
        if (this.expiry.takeOverdue(entry.key)) overdue?.add(entry.key)
      }
      if (before !== undefined && !before.has(entry.key)) before.set(entry.key, current)
      this.slots.set(entry.key, { item, entry })
      this.winnerKeys.set(item, entry.key)
      this.expiry.track(entry.key, entry.tombstone ? undefined : entry.expiresAt)
    }
    return losers
  }

  private parse(item: Y.Item): KvEntry | undefined {
    const own = this.ownEntry(item)
    if (own !== undefined) return own
    const content = item.content
    const entry = content instanceof Y.ContentBinary ? decodeEntry(content.content, item.id.client) : undefined
    if (entry === undefined) {
      this.onInvalidEntry?.({
        client: item.id.client,
        clock: item.id.clock,
        reason: content instanceof Y.ContentBinary ? 'malformed entry bytes' : `unexpected content ${content.constructor.name}`,
      })
    }
    return entry
  }

  /**
   * The entry this register wrote for `item` in the transaction under way, if it did. Added
   * items reach `admit` in the order they were appended (one client's new structs, in clock
   * order), so a cursor over the written items finds each in O(1); items skipped over were
   * superseded within the transaction (deleted, never admitted).
   */
  private ownEntry(item: Y.Item): KvEntry | undefined {
    const items = this.writtenItems
    for (let index = this.writtenCursor; index < items.length; index++) {
      if (items[index] === item) {
        this.writtenCursor = index + 1
        return this.writtenEntries[index]
      }
    }
    return undefined
  }

  private forgetWritten(): void {
    this.writtenItems.length = 0
    this.writtenEntries.length = 0
    this.writtenCursor = 0
  }

  private deleteLosers(losers: Y.Item[]): void {
    const live = losers.filter((item) => !item.deleted)
    if (live.length === 0) return
    this.doc.transact((transaction) => {
      for (const item of live) if (!item.deleted) item.delete(transaction)
    }, KvOrigins.repair)
  }

  /** Change events of one transaction; `overdue` keys first get the expiry they were owed. */
  private emit(before: Map<string, Slot | undefined>, origin: KvChangeOrigin, overdue: ReadonlySet<string>): void {
    if (this.listeners.size === 0) return
    const now = this.now()
    const changes: KvChange[] = []
    for (const [key, oldSlot] of before) {
      const oldEntry = oldSlot?.entry
      const newEntry = this.slots.get(key)?.entry
      if (overdue.has(key)) pushExpired(changes, key, oldEntry)
      const wasVisible = visible(oldEntry, now)
      const isVisible = visible(newEntry, now)
      if (!wasVisible && !isVisible) continue
      changes.push(lazyChange(key, origin, isVisible ? newEntry.value : undefined, wasVisible ? oldEntry.value : undefined))
    }
    this.deliver(changes)
  }

  private announceExpired(keys: string[]): void {
    const changes: KvChange[] = []
    for (const key of keys) pushExpired(changes, key, this.slots.get(key)?.entry)
    this.deliver(changes)
  }

  private deliver(changes: KvChange[]): void {
    if (changes.length === 0) return
    for (const listener of [...this.listeners]) {
      try {
        listener(changes)
      } catch (error) {
        // A failing subscriber must not break the document's bookkeeping or other subscribers.
        queueMicrotask(() => {
          throw error
        })
      }
    }
  }
}
