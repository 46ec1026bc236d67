import { decodeValue, isWellFormedString, type KvValue } from '../value-codec.js'
import { ENTRY_FORMAT_VERSION } from './entry.js'
import type { StoredUpdate } from './stored-update.js'
import { scanLiveElements, type LiveElements } from './update-scan.js'

const FLAG_TOMBSTONE = 1
const FLAG_EXPIRY = 2
const FLAG_NODE = 4
const NO_EXPIRY = -1

/** The same decoder lib0's `readVarString` uses, so a key is valid here exactly when it is there. */
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
const utf8Encoder = new TextEncoder()

/**
 * The register's answers (`get`, `has`, `keys`, `entries`, `size`) computed straight from a
 * store's stored Yjs updates, without building the document: the winner of each key among the
 * live entries, by the register's order (`compareEntries`: HLC, then tombstone over value, then
 * Yjs item id). For opening big stores: the first read no longer waits for Yjs to decode the
 * document (about half a second at 100,000 keys), and nothing has to be stored twice.
 *
 * Keys are indexed by their UTF-8 bytes in an open-addressing hash table pointing into the
 * update buffers: no string, entry object or `Uint8Array` is made per key until a read asks
 * for one. `keys()` decodes every key once, on first use.
 */
export class ScannedEntries {
  private readonly table: Int32Array
  private readonly mask: number
  /**
   * Per element: where its key is (read when indexing), then — parsed on first need, since most
   * keys have one entry and need no comparison — where its value is and the fields the
   * register orders by. `parsed`: 0 not yet, 1 a valid entry, 2 one the register ignores.
   */
  private readonly parsed: Uint8Array
  private readonly keyStart: Int32Array
  private readonly keyEnd: Int32Array
  private readonly valueStart: Int32Array
  private readonly flags: Uint8Array
  private readonly wallMs: Float64Array
  private readonly counter: Float64Array
  private readonly node: Float64Array
  private readonly expiresAt: Float64Array
  /** Every winner's key, decoded and sorted on the first `keys()`. */
  private sorted: { keys: string[]; elements: number[] } | undefined

  private constructor(
    private readonly live: LiveElements,
    private readonly now: () => number,
  ) {
    const count = live.count
    this.keyStart = new Int32Array(count)
    this.keyEnd = new Int32Array(count)
    this.valueStart = new Int32Array(count)
    this.flags = new Uint8Array(count)
    this.wallMs = new Float64Array(count)
    this.counter = new Float64Array(count)
    this.node = new Float64Array(count)
    this.expiresAt = new Float64Array(count)
    let capacity = 16
    while (capacity < count * 2) capacity *= 2
    this.table = new Int32Array(capacity).fill(-1)
    this.mask = capacity - 1
    this.parsed = new Uint8Array(count)
    const { live: isLive } = live
    for (let element = 0; element < count; element++) {
      if (isLive[element] !== 1) continue
      const hash = this.indexKey(element)
      if (hash >= 0) this.admit(element, hash)
    }
  }

  /**
   * Scans `updates` (oldest first, as a store keeps them: see `StoredUpdate`). `undefined` when the scan
   * cannot be sure to match the document Yjs would build (see `scanLiveElements`): decode the
   * document instead.
   */
  static scan(updates: readonly StoredUpdate[], now: () => number = Date.now): ScannedEntries | undefined {
    const live = scanLiveElements(updates)
    return live === undefined ? undefined : new ScannedEntries(live, now)
  }

  /** Number of keys that have an entry (tombstones and expired ones too). */
  get entryCount(): number {
    let count = 0
    for (const element of this.table) if (element >= 0 && this.valid(element)) count++
    return count
  }

  get(key: string): KvValue | undefined {
    const element = this.find(key)
    if (element < 0 || !this.visible(element, this.now())) return undefined
    const bytes = this.live.sources[this.live.source[element]!]!
    return decodeValue(bytes.subarray(this.valueStart[element], this.live.end[element]))
  }

  has(key: string): boolean {
    const element = this.find(key)
    return element >= 0 && this.visible(element, this.now())
  }

  /** Keys with a value, sorted; only those starting with `prefix` when given. */
  keys(prefix = ''): string[] {
    const sorted = this.allKeys()
    const now = this.now()
    const keys: string[] = []
    let index = prefix === '' ? 0 : lowerBound(sorted.keys, prefix)
    for (; index < sorted.keys.length; index++) {
      const key = sorted.keys[index]!
      if (!key.startsWith(prefix)) break
      if (this.visible(sorted.elements[index]!, now)) keys.push(key)
    }
    return keys
  }

  entries(prefix = ''): Array<[string, KvValue]> {
    return this.keys(prefix).map((key) => [key, this.get(key)!])
  }

  get size(): number {
    const now = this.now()
    let count = 0
    for (const element of this.table) if (element >= 0 && this.visible(element, now)) count++
    return count
  }

  private visible(element: number, now: number): boolean {
    if (!this.valid(element)) return false
    const flags = this.flags[element]!
    if ((flags & FLAG_TOMBSTONE) !== 0) return false
    return (flags & FLAG_EXPIRY) === 0 || this.expiresAt[element]! > now
  }

  /** Every winner's key, decoded once and sorted (UTF-16 order, as `Array.prototype.sort`). */
  private allKeys(): { keys: string[]; elements: number[] } {
    if (this.sorted !== undefined) return this.sorted
    const pairs: Array<readonly [string, number]> = []
    for (const element of this.table) if (element >= 0 && this.valid(element)) pairs.push([this.keyOf(element), element])
    pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    this.sorted = { keys: pairs.map((pair) => pair[0]), elements: pairs.map((pair) => pair[1]) }
    return this.sorted
  }

  private keyOf(element: number): string {
    const bytes = this.live.sources[this.live.source[element]!]!
    return utf8.decode(bytes.subarray(this.keyStart[element], this.keyEnd[element]))
  }

  /** The winning element of `key`, or -1. */
  private find(key: string): number {
    // Stored keys are valid UTF-8, so they decode to well-formed strings only; TextEncoder would
    // turn a lone surrogate into U+FFFD and find a key the register's Map does not hold.
    if (!isWellFormedString(key)) return -1
    const bytes = keyBytes(key)
    let slot = keyHash(bytes, 0, bytes.length) & this.mask
    for (;;) {
      const element = this.table[slot]!
      if (element < 0) return -1
      if (this.keyEquals(element, bytes)) return element
      slot = (slot + 1) & this.mask
    }
  }

  private keyEquals(element: number, key: Uint8Array): boolean {
    const start = this.keyStart[element]!
    if (this.keyEnd[element]! - start !== key.length) return false
    const bytes = this.live.sources[this.live.source[element]!]!
    for (let index = 0; index < key.length; index++) if (bytes[start + index] !== key[index]) return false
    return true
  }

  /** Indexes `element` (its key hashed to `hash`) unless the key's current winner beats it. */
  private admit(element: number, hash: number): void {
    let slot = hash & this.mask
    for (;;) {
      const other = this.table[slot]!
      if (other < 0) {
        this.table[slot] = element
        return
      }
      if (this.sameKey(element, other)) {
        if (this.beats(element, other)) this.table[slot] = element
        return
      }
      slot = (slot + 1) & this.mask
    }
  }

  private sameKey(a: number, b: number): boolean {
    const length = this.keyEnd[a]! - this.keyStart[a]!
    if (this.keyEnd[b]! - this.keyStart[b]! !== length) return false
    const bytesA = this.live.sources[this.live.source[a]!]!
    const bytesB = this.live.sources[this.live.source[b]!]!
    const startA = this.keyStart[a]!
    const startB = this.keyStart[b]!
    for (let index = 0; index < length; index++) if (bytesA[startA + index] !== bytesB[startB + index]) return false
    return true
  }

  /** `compareEntries(a, b) > 0`, on the parsed fields; an entry the register ignores never wins. */
  private beats(a: number, b: number): boolean {
    if (!this.valid(a)) return false
    if (!this.valid(b)) return true
    if (this.wallMs[a] !== this.wallMs[b]) return this.wallMs[a]! > this.wallMs[b]!
    if (this.counter[a] !== this.counter[b]) return this.counter[a]! > this.counter[b]!
    if (this.node[a] !== this.node[b]) return this.node[a]! > this.node[b]!
    const tombstoneA = (this.flags[a]! & FLAG_TOMBSTONE) !== 0
    const tombstoneB = (this.flags[b]! & FLAG_TOMBSTONE) !== 0
    if (tombstoneA !== tombstoneB) return tombstoneA
    const { client, clock } = this.live
    if (client[a] !== client[b]) return client[a]! > client[b]!
    return clock[a]! > clock[b]!
  }

  /**
   * The first checks `decodeEntry` makes (format version, flags, a non-empty key of valid UTF-8
   * followed by more bytes); records where the key is and returns its hash, or -1 when the
   * element fails them (the register ignores it).
   */
  private indexKey(element: number): number {
    const { live } = this
    const bytes = live.sources[live.source[element]!]!
    const start = live.start[element]!
    const end = live.end[element]!
    if (end - start < 5 || bytes[start] !== ENTRY_FORMAT_VERSION) return -1
    if ((bytes[start + 1]! & ~(FLAG_TOMBSTONE | FLAG_EXPIRY | FLAG_NODE)) !== 0) return -1
    const cursor = this.cursor
    cursor.bytes = bytes
    cursor.pos = start + 2
    cursor.end = end
    const keyLength = readVarUint(cursor)
    if (keyLength <= 0) return -1
    const keyStart = cursor.pos
    const keyEnd = keyStart + keyLength
    if (keyEnd >= end) return -1
    this.keyStart[element] = keyStart
    this.keyEnd[element] = keyEnd
    return keyHash(bytes, keyStart, keyEnd)
  }

  /**
   * Whether the element is an entry the register accepts: the rest of `decodeEntry`'s reading
   * (HLC, node, expiry, the value or its absence for tombstones), parsed once into the columns.
   */
  private valid(element: number): boolean {
    const state = this.parsed[element]!
    if (state !== 0) return state === 1
    const ok = this.parseFields(element)
    this.parsed[element] = ok ? 1 : 2
    return ok
  }

  private parseFields(element: number): boolean {
    const { live } = this
    const bytes = live.sources[live.source[element]!]!
    const end = live.end[element]!
    const flags = bytes[live.start[element]! + 1]!
    const cursor = this.cursor
    cursor.bytes = bytes
    cursor.pos = this.keyEnd[element]!
    cursor.end = end
    const wallMs = readVarUint(cursor)
    const counter = readVarUint(cursor)
    if (wallMs < 0 || counter < 0) return false
    let node = live.client[element]!
    if ((flags & FLAG_NODE) !== 0) {
      node = readVarUint(cursor)
      if (node < 0) return false
    }
    let expiresAt = NO_EXPIRY
    if ((flags & FLAG_EXPIRY) !== 0) {
      expiresAt = readVarUint(cursor)
      if (expiresAt < 0) return false
    }
    const tombstone = (flags & FLAG_TOMBSTONE) !== 0
    const restLength = end - cursor.pos
    if (tombstone ? restLength !== 0 : restLength === 0) return false
    this.valueStart[element] = cursor.pos
    this.flags[element] = flags
    this.wallMs[element] = wallMs
    this.counter[element] = counter
    this.node[element] = node
    this.expiresAt[element] = expiresAt
    return true
  }

  /** One cursor for every parse (no object per element). */
  private readonly cursor: Cursor = { bytes: new Uint8Array(0), pos: 0, end: 0 }
}

interface Cursor {
  bytes: Uint8Array
  pos: number
  end: number
}

/**
 * lib0's `readVarUint` bounded at `end`: the same value, and -1 wherever it would throw (past
 * the end, or above `Number.MAX_SAFE_INTEGER` before the last byte).
 */
function readVarUint(cursor: Cursor): number {
  const { bytes, end } = cursor
  let pos = cursor.pos
  let value = 0
  let multiplier = 1
  while (pos < end) {
    const byte = bytes[pos++]!
    value += (byte & 0x7f) * multiplier
    multiplier *= 128
    if (byte < 0x80) {
      cursor.pos = pos
      return value
    }
    if (value > Number.MAX_SAFE_INTEGER) return -1
  }
  return -1
}

/**
 * FNV-1a of the key bytes [start, end) as a non-negative 31-bit number, or -1 when they do not
 * decode as lib0 decodes keys (fatal UTF-8): such an entry is malformed. ASCII needs no decoding.
 */
function keyHash(bytes: Uint8Array, start: number, end: number): number {
  let hash = 0x811c9dc5
  let ascii = true
  for (let index = start; index < end; index++) {
    const byte = bytes[index]!
    if (byte >= 0x80) ascii = false
    hash = Math.imul(hash ^ byte, 0x01000193)
  }
  if (!ascii) {
    try {
      utf8.decode(bytes.subarray(start, end))
    } catch {
      return -1
    }
  }
  return hash >>> 1
}

/** A key's UTF-8 bytes, as `encodeEntry` writes them. */
function keyBytes(key: string): Uint8Array {
  return utf8Encoder.encode(key)
}

/** Index of the first key ≥ `key` in sorted `keys`. */
function lowerBound(keys: readonly string[], key: string): number {
  let low = 0
  let high = keys.length
  while (low < high) {
    const middle = (low + high) >>> 1
    if (keys[middle]! < key) low = middle + 1
    else high = middle
  }
  return low
}
