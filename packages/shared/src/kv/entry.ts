import * as decoding from 'lib0/decoding'
import { compareHlc, type HlcTimestamp } from '../hlc.js'

/**
 * One write to one key, as stored in the document: an element of the root `Y.Array` named
 * {@link KV_ARRAY_NAME}. Tombstones (deletes) are entries without a value.
 *
 * Wire table (lib0 primitives):
 *
 * | field     | encoding   | notes                                           |
 * | --------- | ---------- | ----------------------------------------------- |
 * | version   | uint8      | {@link ENTRY_FORMAT_VERSION}                    |
 * | flags     | uint8      | bit 0: tombstone, bit 1: has expiry,            |
 * |           |            | bit 2: node stored (else the Yjs item's client) |
 * | key       | varString  |                                                 |
 * | wallMs    | varUint    | HLC wall clock                                  |
 * | counter   | varUint    | HLC counter                                     |
 * | node      | varUint    | only with flag bit 2; HLC node id               |
 * | expiresAt | varUint    | only with flag bit 1; ms since the epoch        |
 * | value     | rest       | encodeValue() bytes; absent for tombstones      |
 */
export interface KvEntry {
  readonly key: string
  readonly hlc: HlcTimestamp
  readonly tombstone: boolean
  readonly expiresAt: number | undefined
  /** Encoded value (see encodeValue); `undefined` for tombstones. */
  readonly value: Uint8Array | undefined
}

/** Name of the root `Y.Array` holding the entries of a store. */
export const KV_ARRAY_NAME = 'kv'
/** Version of the entry encoding; readers ignore (and report) entries of other versions. */
export const ENTRY_FORMAT_VERSION = 1

const FLAG_TOMBSTONE = 1
const FLAG_EXPIRY = 2
const FLAG_NODE = 4

/**
 * Encodes an entry for storage in the document. `writerClient` is the Yjs client id of the
 * document that will hold it: when the HLC node equals it (every ordinary write) the node is
 * left out, saving about 5 bytes per entry; readers take it from the item's id.
 */
export function encodeEntry(entry: KvEntry, writerClient: number): Uint8Array {
  // Written straight into one buffer of the exact size: this runs for every write (and every
  // materialized row), and a lib0 encoder costs two allocations and a copy per entry.
  const { key, hlc } = entry
  const storeNode = hlc.node !== writerClient
  const hasExpiry = entry.expiresAt !== undefined
  const value = entry.tombstone ? undefined : entry.value
  const keyBytes = utf8Length(key)
  const length =
    2 +
    varUintLength(keyBytes) +
    keyBytes +
    varUintLength(hlc.wallMs) +
    varUintLength(hlc.counter) +
    (storeNode ? varUintLength(hlc.node) : 0) +
    (hasExpiry ? varUintLength(entry.expiresAt!) : 0) +
    (value?.length ?? 0)
  const bytes = new Uint8Array(length)
  bytes[0] = ENTRY_FORMAT_VERSION
  bytes[1] = (entry.tombstone ? FLAG_TOMBSTONE : 0) | (hasExpiry ? FLAG_EXPIRY : 0) | (storeNode ? FLAG_NODE : 0)
  let at = writeVarUint(bytes, 2, keyBytes)
  if (keyBytes === key.length) {
    for (let index = 0; index < keyBytes; index++) bytes[at + index] = key.charCodeAt(index)
  } else {
    utf8.encodeInto(key, bytes.subarray(at, at + keyBytes))
  }
  at += keyBytes
  at = writeVarUint(bytes, at, hlc.wallMs)
  at = writeVarUint(bytes, at, hlc.counter)
  if (storeNode) at = writeVarUint(bytes, at, hlc.node)
  if (hasExpiry) at = writeVarUint(bytes, at, entry.expiresAt!)
  if (value !== undefined) bytes.set(value, at)
  return bytes
}

const utf8 = new TextEncoder()

/**
 * Bytes of an entry before its HLC: format version, flags and the key's varString, computed
 * from the key (for code that splits entries per key without decoding them).
 */
export function entryHeadLength(key: string): number {
  const keyBytes = utf8Length(key)
  return 2 + varUintLength(keyBytes) + keyBytes
}

/** Bytes of `text` in UTF-8 as `TextEncoder` writes it (a lone surrogate becomes U+FFFD, 3 bytes). */
function utf8Length(text: string): number {
  let length = text.length
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index)
    if (code < 0x80) continue
    if (code < 0x800) {
      length += 1
    } else if (code >= 0xd800 && code <= 0xdbff && index + 1 < text.length && (text.charCodeAt(index + 1) & 0xfc00) === 0xdc00) {
      // A surrogate pair: two UTF-16 units, four bytes.
      length += 2
      index++
    } else {
      length += 2
    }
  }
  return length
}

/** Length of lib0's varUint encoding of a non-negative safe integer. */
function varUintLength(value: number): number {
  let length = 1
  while (value > 0x7f) {
    value = Math.floor(value / 128)
    length++
  }
  return length
}

/** Writes `value` as lib0's varUint at `at`; returns the position after it. */
function writeVarUint(bytes: Uint8Array, at: number, value: number): number {
  while (value > 0x7f) {
    bytes[at++] = 0x80 | (value & 0x7f)
    value = Math.floor(value / 128)
  }
  bytes[at++] = value
  return at
}

/**
 * Decodes a stored entry held by an item of Yjs client `writerClient`, or returns `undefined`
 * when the element is not a well-formed entry (anyone can write anything into a Yjs document;
 * such elements are ignored, not trusted).
 */
export function decodeEntry(element: unknown, writerClient: number): KvEntry | undefined {
  if (!(element instanceof Uint8Array) || element.length < 5) return undefined
  try {
    const decoder = decoding.createDecoder(element)
    if (decoding.readUint8(decoder) !== ENTRY_FORMAT_VERSION) return undefined
    const flags = decoding.readUint8(decoder)
    if ((flags & ~(FLAG_TOMBSTONE | FLAG_EXPIRY | FLAG_NODE)) !== 0) return undefined
    const key = decoding.readVarString(decoder)
    if (key.length === 0) return undefined
    const wallMs = decoding.readVarUint(decoder)
    const counter = decoding.readVarUint(decoder)
    const node = (flags & FLAG_NODE) !== 0 ? decoding.readVarUint(decoder) : writerClient
    const expiresAt = (flags & FLAG_EXPIRY) !== 0 ? decoding.readVarUint(decoder) : undefined
    const tombstone = (flags & FLAG_TOMBSTONE) !== 0
    const rest = element.subarray(decoder.pos)
    if (tombstone ? rest.length !== 0 : rest.length === 0) return undefined
    return { key, hlc: { wallMs, counter, node }, tombstone, expiresAt, value: tombstone ? undefined : rest }
  } catch {
    return undefined
  }
}

/**
 * Total order on entries of one key: greater HLC wins; at an equal HLC a tombstone beats a
 * value (a swept expired entry becomes a tombstone with the same HLC and must win over the
 * copy it replaces); remaining ties (identical duplicates) are broken by the Yjs item id, which
 * every replica knows alike.
 */
export function compareEntries(
  a: KvEntry,
  aId: { client: number; clock: number },
  b: KvEntry,
  bId: { client: number; clock: number },
): number {
  const byHlc = compareHlc(a.hlc, b.hlc)
  if (byHlc !== 0) return byHlc
  if (a.tombstone !== b.tombstone) return a.tombstone ? 1 : -1
  if (aId.client !== bId.client) return aId.client < bId.client ? -1 : 1
  return aId.clock - bId.clock
}
