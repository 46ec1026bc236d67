import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import * as encoding from 'lib0/encoding'
import { compareHlc, type HlcTimestamp } from '../hlc.js'
import { encodeValue } from '../value-codec.js'
import { ENTRY_FORMAT_VERSION, compareEntries, decodeEntry, encodeEntry, entryLength, writeEntry, type KvEntry } from './entry.js'

const runs = Number(process.env.KVSYNC_FC_RUNS ?? '') || 500
const seed = process.env.KVSYNC_FC_SEED ? Number(process.env.KVSYNC_FC_SEED) : undefined
const params = { numRuns: runs, ...(seed !== undefined ? { seed } : {}) }

const WRITER = 0x1234_5678

const hlcArb: fc.Arbitrary<HlcTimestamp> = fc.record({
  wallMs: fc.oneof(fc.constantFrom(0, 1, 1_700_000_000_000, Number.MAX_SAFE_INTEGER), fc.integer({ min: 0, max: 2 ** 45 })),
  counter: fc.oneof(fc.constantFrom(0, 0xffff), fc.nat({ max: 0xffff })),
  node: fc.oneof(fc.constant(WRITER), fc.constantFrom(0, 1, 0xffffffff), fc.nat({ max: 0xffffffff })),
})
const keyArb = fc.oneof(fc.string({ minLength: 1, maxLength: 20, unit: 'binary' }), fc.constantFrom('k', '😀', 'a/b/c'))
const entryArb: fc.Arbitrary<KvEntry> = fc
  .record({
    key: keyArb,
    hlc: hlcArb,
    tombstone: fc.boolean(),
    expiresAt: fc.option(fc.integer({ min: 1, max: 2 ** 45 }), { nil: undefined }),
    value: fc.jsonValue({ maxDepth: 2 }),
  })
  .map(({ key, hlc, tombstone, expiresAt, value }) =>
    tombstone ? { key, hlc, tombstone, expiresAt: undefined, value: undefined } : { key, hlc, tombstone, expiresAt, value: encodeValue(value) },
  )
const idArb = fc.record({ client: fc.nat({ max: 0xffffffff }), clock: fc.nat({ max: 1_000_000 }) })

function entry(fields: Partial<KvEntry> = {}): KvEntry {
  return { key: 'k', hlc: { wallMs: 1_000, counter: 0, node: WRITER }, tombstone: false, expiresAt: undefined, value: encodeValue('v'), ...fields }
}

describe('encodeEntry / decodeEntry', () => {
  it('round-trips values, tombstones and expiries with the node left out or stored', () => {
    fc.assert(
      fc.property(entryArb, (original) => {
        const bytes = encodeEntry(original, WRITER)
        expect(decodeEntry(bytes, WRITER)).toEqual(original)
      }),
      params,
    )
  })

  it('writes the same bytes as the lib0 encoder it replaced', () => {
    // The reference: the entry wire table written with lib0 primitives (how encodeEntry was
    // first written); stored entries must not change with the faster writer.
    const reference = (original: KvEntry, writer: number): Uint8Array => {
      const storeNode = original.hlc.node !== writer
      const encoder = encoding.createEncoder()
      encoding.writeUint8(encoder, ENTRY_FORMAT_VERSION)
      encoding.writeUint8(encoder, (original.tombstone ? 1 : 0) | (original.expiresAt !== undefined ? 2 : 0) | (storeNode ? 4 : 0))
      encoding.writeVarString(encoder, original.key)
      encoding.writeVarUint(encoder, original.hlc.wallMs)
      encoding.writeVarUint(encoder, original.hlc.counter)
      if (storeNode) encoding.writeVarUint(encoder, original.hlc.node)
      if (original.expiresAt !== undefined) encoding.writeVarUint(encoder, original.expiresAt)
      if (!original.tombstone && original.value !== undefined) encoding.writeUint8Array(encoder, original.value)
      return encoding.toUint8Array(encoder)
    }
    const anyKey = fc.oneof(keyArb, fc.string({ minLength: 1, maxLength: 300, unit: 'grapheme' }), fc.string({ minLength: 1, maxLength: 8 }).map((text) => `${text}\uD800`))
    fc.assert(
      fc.property(entryArb, anyKey, fc.constantFrom(WRITER, -1), (original, key, writer) => {
        const withKey = { ...original, key }
        expect(encodeEntry(withKey, writer)).toEqual(reference(withKey, writer))
      }),
      params,
    )
  })

  it('writes an entry into a shared buffer as encodeEntry does, at any offset', () => {
    fc.assert(
      fc.property(entryArb, fc.constantFrom(WRITER, -1), fc.nat({ max: 7 }), (original, writer, offset) => {
        const expected = Array.from(encodeEntry(original, writer))
        expect(entryLength(original, writer)).toBe(expected.length)
        const target = new Uint8Array(offset + expected.length + 3).fill(0xee)
        expect(writeEntry(target, offset, original, writer)).toBe(offset + expected.length)
        expect(Array.from(target.subarray(offset, offset + expected.length))).toEqual(expected)
        expect(Array.from(target.subarray(0, offset)).every((byte) => byte === 0xee)).toBe(true)
        expect(Array.from(target.subarray(offset + expected.length)).every((byte) => byte === 0xee)).toBe(true)
      }),
      params,
    )
  })

  it('leaves the node out when it is the writer client and reads it back from the item', () => {
    const own = entry({ hlc: { wallMs: 5, counter: 1, node: WRITER } })
    const foreign = entry({ hlc: { wallMs: 5, counter: 1, node: 77 } })
    const ownBytes = encodeEntry(own, WRITER)
    const foreignBytes = encodeEntry(foreign, WRITER)
    expect(ownBytes.length).toBeLessThan(foreignBytes.length)
    // Without a stored node, whatever client holds the item is the node.
    expect(decodeEntry(ownBytes, 999)?.hlc.node).toBe(999)
    // A stored node wins over the item's client.
    expect(decodeEntry(foreignBytes, 999)?.hlc.node).toBe(77)
  })

  it('round-trips each combination of tombstone, expiry and stored node', () => {
    for (const tombstone of [false, true]) {
      for (const expiresAt of tombstone ? [undefined] : [undefined, 1, 1_900_000_000_000]) {
        for (const node of [WRITER, 0, 42]) {
          const original = entry({ tombstone, expiresAt, value: tombstone ? undefined : encodeValue({ a: [1, null] }), hlc: { wallMs: 3, counter: 2, node } })
          expect(decodeEntry(encodeEntry(original, WRITER), WRITER)).toEqual(original)
        }
      }
    }
  })

  it('returns undefined for elements that are not entry bytes', () => {
    for (const element of [undefined, null, 0, 'string', 'AQAB', {}, { key: 'k' }, [1, 2, 3], new Uint16Array(8), new ArrayBuffer(8), true]) {
      expect(decodeEntry(element, WRITER), String(element)).toBeUndefined()
    }
  })

  it('returns undefined for short, wrong-version, unknown-flag, empty-key and inconsistent entries', () => {
    const valid = encodeEntry(entry(), WRITER)
    expect(decodeEntry(valid, WRITER)).toBeDefined()
    expect(decodeEntry(new Uint8Array(0), WRITER)).toBeUndefined()
    expect(decodeEntry(valid.subarray(0, 4), WRITER)).toBeUndefined()
    for (const version of [0, ENTRY_FORMAT_VERSION + 1, 255]) {
      const other = valid.slice()
      other[0] = version
      expect(decodeEntry(other, WRITER), `version ${version}`).toBeUndefined()
    }
    const unknownFlag = valid.slice()
    unknownFlag[1] = 8
    expect(decodeEntry(unknownFlag, WRITER)).toBeUndefined()

    const raw = (flags: number, key: string, tail: (encoder: encoding.Encoder) => void) => {
      const encoder = encoding.createEncoder()
      encoding.writeUint8(encoder, ENTRY_FORMAT_VERSION)
      encoding.writeUint8(encoder, flags)
      encoding.writeVarString(encoder, key)
      encoding.writeVarUint(encoder, 10)
      encoding.writeVarUint(encoder, 0)
      tail(encoder)
      return encoding.toUint8Array(encoder)
    }
    // Empty key.
    expect(decodeEntry(raw(0, '', (e) => encoding.writeUint8Array(e, encodeValue(1))), WRITER)).toBeUndefined()
    // A value entry without value bytes.
    expect(decodeEntry(raw(0, 'key', () => {}), WRITER)).toBeUndefined()
    // A tombstone with value bytes.
    expect(decodeEntry(raw(1, 'key', (e) => encoding.writeUint8Array(e, encodeValue(1))), WRITER)).toBeUndefined()
    // Flags promise an expiry / node that is not there.
    expect(decodeEntry(raw(1 | 2, 'key', () => {}), WRITER)).toBeUndefined()
    expect(decodeEntry(raw(1 | 4, 'key', () => {}), WRITER)).toBeUndefined()
    // A consistent hand-made tombstone is accepted.
    expect(decodeEntry(raw(1, 'key', () => {}), WRITER)).toEqual({ key: 'key', hlc: { wallMs: 10, counter: 0, node: WRITER }, tombstone: true, expiresAt: undefined, value: undefined })
  })

  it('never throws on random bytes or mutated entries', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 48 }), (bytes) => {
        const decoded = decodeEntry(bytes, WRITER)
        if (decoded !== undefined) {
          expect(decoded.key.length).toBeGreaterThan(0)
          expect(decoded.tombstone).toBe(decoded.value === undefined)
        }
      }),
      { ...params, numRuns: runs * 4 },
    )
    fc.assert(
      fc.property(entryArb, fc.nat(), fc.integer({ min: 0, max: 255 }), (original, at, byte) => {
        const bytes = encodeEntry(original, WRITER).slice()
        bytes[at % bytes.length] = byte
        const decoded = decodeEntry(bytes, WRITER)
        if (decoded !== undefined) expect(decoded.tombstone).toBe(decoded.value === undefined)
      }),
      params,
    )
  })

  it('does not take the value bytes as a copy of unrelated memory', () => {
    const bytes = encodeEntry(entry({ value: encodeValue('hello') }), WRITER)
    const decoded = decodeEntry(bytes, WRITER)!
    expect(decoded.value).toEqual(encodeValue('hello'))
  })
})

describe('compareEntries', () => {
  const candidate = fc.tuple(entryArb, idArb)

  it('is antisymmetric and zero only for the same entry at the same item', () => {
    fc.assert(
      fc.property(candidate, candidate, ([a, aId], [b, bId]) => {
        const ab = Math.sign(compareEntries(a, aId, b, bId))
        const ba = Math.sign(compareEntries(b, bId, a, aId))
        expect(ab).toBe(-ba)
        if (ab === 0) {
          expect(aId).toEqual(bId)
          expect(compareHlc(a.hlc, b.hlc)).toBe(0)
        }
        expect(compareEntries(a, aId, a, aId)).toBe(0)
      }),
      params,
    )
  })

  it('is transitive', () => {
    fc.assert(
      fc.property(candidate, candidate, candidate, (x, y, z) => {
        const sorted = [x, y, z].sort(([p, pId], [q, qId]) => compareEntries(p, pId, q, qId))
        const [[a, aId], [b, bId], [c, cId]] = sorted as [typeof x, typeof x, typeof x]
        expect(compareEntries(a, aId, b, bId)).toBeLessThanOrEqual(0)
        expect(compareEntries(b, bId, c, cId)).toBeLessThanOrEqual(0)
        expect(compareEntries(a, aId, c, cId)).toBeLessThanOrEqual(0)
      }),
      params,
    )
  })

  it('orders by HLC first, whatever the item ids and kinds', () => {
    fc.assert(
      fc.property(candidate, candidate, ([a, aId], [b, bId]) => {
        const byHlc = compareHlc(a.hlc, b.hlc)
        if (byHlc !== 0) expect(Math.sign(compareEntries(a, aId, b, bId))).toBe(Math.sign(byHlc))
      }),
      params,
    )
  })

  it('lets a tombstone win a tie with a value of the same HLC, whatever the item ids', () => {
    fc.assert(
      fc.property(hlcArb, idArb, idArb, (hlc, valueId, tombstoneId) => {
        const value = entry({ hlc })
        const tombstone = entry({ hlc, tombstone: true, value: undefined })
        expect(compareEntries(tombstone, tombstoneId, value, valueId)).toBeGreaterThan(0)
        expect(compareEntries(value, valueId, tombstone, tombstoneId)).toBeLessThan(0)
      }),
      params,
    )
  })

  it('breaks remaining ties by item id, the same on every replica', () => {
    const a = entry({ tombstone: true, value: undefined })
    expect(compareEntries(a, { client: 1, clock: 9 }, a, { client: 2, clock: 0 })).toBeLessThan(0)
    expect(compareEntries(a, { client: 2, clock: 3 }, a, { client: 2, clock: 4 })).toBeLessThan(0)
    expect(compareEntries(a, { client: 2, clock: 4 }, a, { client: 2, clock: 3 })).toBeGreaterThan(0)
  })
})
