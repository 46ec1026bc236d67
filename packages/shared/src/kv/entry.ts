import * as decoding from 'lib0/decoding'
import { compareHlc, type HlcTimestamp } from '../hlc.js'
import { varUintLength, writeVarUint } from '../varint.js'

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
  const bytes = new Uint8Array(entryLength(entry, writerClient))
  writeEntry(bytes, 0, entry, writerClient)
  return bytes
}

/** Length of `encodeEntry(entry, writerClient)`. */
export function entryLength(entry: KvEntry, writerClient: number): number {
  const keyBytes = utf8Length(entry.key)
  return 2 + varUintLength(keyBytes) + keyBytes + entryBodyLength(entry, writerClient)
}

/**
 * Writes `encodeEntry(entry, writerClient)` into `target` at `at`; returns the position after
 * it. Straight into the caller's buffer: this runs for every write, a lib0 encoder costs two
 * allocations and a copy per entry, and a batch of writes can share one buffer.
 */
export function writeEntry(target: Uint8Array, at: number, entry: KvEntry, writerClient: number): number {
  const { key } = entry
  const keyBytes = utf8Length(key)
  writeEntryHead(target, at, entry, writerClient)
  at = writeVarUint(target, at + 2, keyBytes)
  if (keyBytes === key.length) {
    for (let index = 0; index < keyBytes; index++) target[at + index] = key.charCodeAt(index)
  } else {
    utf8.encodeInto(key, target.subarray(at, at + keyBytes))
  }
  return writeEntryBody(target, at + keyBytes, entry, writerClient)
}

/** Version and flags. */
function writeEntryHead(target: Uint8Array, at: number, entry: KvEntry, writerClient: number): void {
  target[at] = ENTRY_FORMAT_VERSION
  target[at + 1] =
    (entry.tombstone ? FLAG_TOMBSTONE : 0) | (entry.expiresAt !== undefined ? FLAG_EXPIRY : 0) | (entry.hlc.node !== writerClient ? FLAG_NODE : 0)
}

/** Bytes of the fields after the key. */
function entryBodyLength(entry: KvEntry, writerClient: number): number {
  const { hlc, expiresAt } = entry
  return (
    varUintLength(hlc.wallMs) +
    varUintLength(hlc.counter) +
    (hlc.node !== writerClient ? varUintLength(hlc.node) : 0) +
    (expiresAt !== undefined ? varUintLength(expiresAt) : 0) +
    (entry.tombstone ? 0 : (entry.value?.length ?? 0))
  )
}

/** Writes the fields after the key at `at`; returns the position after them. */
function writeEntryBody(target: Uint8Array, at: number, entry: KvEntry, writerClient: number): number {
  const { hlc, expiresAt } = entry
  at = writeVarUint(target, at, hlc.wallMs)
  at = writeVarUint(target, at, hlc.counter)
  if (hlc.node !== writerClient) at = writeVarUint(target, at, hlc.node)
  if (expiresAt !== undefined) at = writeVarUint(target, at, expiresAt)
  const value = entry.tombstone ? undefined : entry.value
  if (value !== undefined) {
    target.set(value, at)
    at += value.length
  }
  return at
}

const utf8 = new TextEncoder()

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
