import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
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
  const storeNode = entry.hlc.node !== writerClient
  const encoder = encoding.createEncoder()
  encoding.writeUint8(encoder, ENTRY_FORMAT_VERSION)
  encoding.writeUint8(
    encoder,
    (entry.tombstone ? FLAG_TOMBSTONE : 0) | (entry.expiresAt !== undefined ? FLAG_EXPIRY : 0) | (storeNode ? FLAG_NODE : 0),
  )
  encoding.writeVarString(encoder, entry.key)
  encoding.writeVarUint(encoder, entry.hlc.wallMs)
  encoding.writeVarUint(encoder, entry.hlc.counter)
  if (storeNode) encoding.writeVarUint(encoder, entry.hlc.node)
  if (entry.expiresAt !== undefined) encoding.writeVarUint(encoder, entry.expiresAt)
  if (!entry.tombstone && entry.value !== undefined) encoding.writeUint8Array(encoder, entry.value)
  return encoding.toUint8Array(encoder)
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
