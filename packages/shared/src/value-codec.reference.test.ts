import fc from 'fast-check'
import * as encoding from 'lib0/encoding'
import { describe, expect, it } from 'vitest'
import { KvsyncError } from './errors.js'
import { MAX_VALUE_DEPTH, encodeValue, isWellFormedString } from './value-codec.js'

// encodeValue writes its bytes itself (for speed, issue 7). These tests hold it to the encoder
// it replaced, kept below as the reference: the same bytes for every value, and the same error
// (code and message, with the path of the bad part) for every value it refuses.

// Property runs here are cheap; KVSYNC_FC_RUNS raises them locally, KVSYNC_FC_SEED replays.
const runs = Number(process.env.KVSYNC_FC_RUNS ?? '') || 500
const seed = process.env.KVSYNC_FC_SEED ? Number(process.env.KVSYNC_FC_SEED) : undefined
const params = { numRuns: runs, ...(seed !== undefined ? { seed } : {}) }

/** The lib0-based encoder encodeValue had before issue 7, unchanged. */
function referenceEncode(value: unknown, maxBytes = 1024 * 1024): Uint8Array {
  const invalid = (path: string, why: string) => new KvsyncError('INVALID_VALUE', `value${path} ${why}`)
  const isPlainObject = (object: object) => {
    const proto = Object.getPrototypeOf(object)
    return proto === Object.prototype || proto === null
  }
  const writeValue = (encoder: encoding.Encoder, value: unknown, path: string, ancestors: object[]): void => {
    switch (typeof value) {
      case 'boolean':
        encoding.writeUint8(encoder, value ? 2 : 1)
        return
      case 'number':
        if (!Number.isFinite(value)) throw invalid(path, `is ${value}: only finite numbers can be stored`)
        if (Number.isSafeInteger(value) && !Object.is(value, -0)) {
          encoding.writeUint8(encoder, 3)
          encoding.writeVarInt(encoder, value)
        } else {
          encoding.writeUint8(encoder, 4)
          encoding.writeFloat64(encoder, value)
        }
        return
      case 'string':
        if (!isWellFormedString(value)) throw invalid(path, 'is a string with a lone UTF-16 surrogate')
        encoding.writeUint8(encoder, 5)
        encoding.writeVarString(encoder, value)
        return
      case 'undefined':
        throw invalid(path, 'is undefined: use delete() to remove a key, or null')
      case 'function':
        throw invalid(path, 'is a function')
      case 'symbol':
        throw invalid(path, 'is a symbol')
      case 'bigint':
        throw invalid(path, 'is a bigint: store it as a string')
      case 'object':
        break
    }
    if (value === null) {
      encoding.writeUint8(encoder, 0)
      return
    }
    const object = value as object
    if (object instanceof Uint8Array) {
      if (object.constructor !== Uint8Array) throw invalid(path, `is a ${object.constructor.name}: only plain Uint8Array is supported`)
      encoding.writeUint8(encoder, 6)
      encoding.writeVarUint8Array(encoder, object)
      return
    }
    if (object instanceof Date) {
      const time = object.getTime()
      if (Number.isNaN(time)) throw invalid(path, 'is an invalid Date')
      encoding.writeUint8(encoder, 7)
      encoding.writeFloat64(encoder, time)
      return
    }
    if (ancestors.includes(object)) throw invalid(path, 'contains a cycle')
    if (ancestors.length >= MAX_VALUE_DEPTH) throw invalid(path, `is nested deeper than ${MAX_VALUE_DEPTH} levels`)
    ancestors.push(object)
    if (Array.isArray(object)) {
      encoding.writeUint8(encoder, 8)
      encoding.writeVarUint(encoder, object.length)
      for (let index = 0; index < object.length; index++) {
        if (!(index in object)) throw invalid(`${path}[${index}]`, 'is a hole in a sparse array')
        writeValue(encoder, object[index], `${path}[${index}]`, ancestors)
      }
    } else {
      if (!isPlainObject(object)) {
        const kind = (object as { constructor?: { name?: string } }).constructor?.name ?? 'object'
        throw invalid(path, `is a ${kind}: only plain objects, arrays, Uint8Array and Date are supported`)
      }
      if (Object.getOwnPropertySymbols(object).length > 0) throw invalid(path, 'has symbol keys')
      const keys = Object.keys(object)
      encoding.writeUint8(encoder, 9)
      encoding.writeVarUint(encoder, keys.length)
      for (const key of keys) {
        const childPath = `${path}.${key}`
        if (!isWellFormedString(key)) throw invalid(childPath, 'has a key with a lone UTF-16 surrogate')
        encoding.writeVarString(encoder, key)
        writeValue(encoder, (object as Record<string, unknown>)[key], childPath, ancestors)
      }
    }
    ancestors.pop()
  }
  const encoder = encoding.createEncoder()
  writeValue(encoder, value, '', [])
  const length = encoding.length(encoder)
  if (length > maxBytes) throw new KvsyncError('VALUE_TOO_LARGE', `value encodes to ${length} bytes, more than the limit of ${maxBytes}`)
  return encoding.toUint8Array(encoder)
}

type Outcome = { bytes: number[] } | { error: string }

function outcome(encode: () => Uint8Array): Outcome {
  try {
    const bytes = encode()
    // An exactly-sized buffer of its own: nothing else is kept alive by a stored value.
    expect(bytes.byteOffset).toBe(0)
    expect(bytes.buffer.byteLength).toBe(bytes.length)
    return { bytes: Array.from(bytes) }
  } catch (error) {
    if (!(error instanceof KvsyncError)) throw error
    return { error: `${error.code}: ${error.message}` }
  }
}

function expectSameAsReference(value: unknown, maxBytes?: number): void {
  expect(outcome(() => encodeValue(value, maxBytes))).toEqual(outcome(() => referenceEncode(value, maxBytes)))
}

const text = fc.oneof(
  fc.string({ unit: 'grapheme-ascii' }),
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: 'binary', maxLength: 300 }), // astral code points as surrogate pairs
  fc.string({ unit: 'grapheme-ascii', minLength: 100, maxLength: 400 }), // multi-byte varUint lengths
  fc.string({ unit: fc.constantFrom('a', 'é', '€', '😀'), minLength: 30, maxLength: 200 }),
  fc.constantFrom('', 'a', '__proto__', 'a\u0000b', '\uFEFF', 'é'.repeat(64), 'x'.repeat(127), 'x'.repeat(128), '€'.repeat(43)),
)
const badLeaf = fc.constantFrom<unknown>(
  undefined,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  -Number.POSITIVE_INFINITY,
  10n,
  Symbol('s'),
  () => 1,
  'lone \uD800 surrogate',
  '\uDC00',
  new Date(Number.NaN),
  new Map(),
  new Uint16Array(1),
  /x/,
  { [Symbol('k')]: 1 },
  { ['bad \uD83D key']: 1 },
  // eslint-disable-next-line no-sparse-arrays
  [1, , 3],
)
const leaf = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.maxSafeInteger(),
  fc.constantFrom(0, -0, 63, 64, -64, -65, 127, 128, 8191, 8192, 2 ** 31, 2 ** 32, 2 ** 53 - 1, -(2 ** 53 - 1), 2 ** 53, 0.5, Number.MIN_VALUE, Number.MAX_VALUE),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  text,
  fc.uint8Array({ maxLength: 300 }),
  fc.date({ noInvalidDate: true }),
)
const { tree: validValue } = fc.letrec<{ tree: unknown }>((tie) => ({
  tree: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('tree'), { maxLength: 6 }), fc.dictionary(text, tie('tree'), { maxKeys: 6 })),
}))
const { tree: anyValue } = fc.letrec<{ tree: unknown }>((tie) => ({
  tree: fc.oneof(
    { depthSize: 'small' },
    leaf,
    badLeaf,
    fc.array(tie('tree'), { maxLength: 6 }),
    fc.dictionary(fc.oneof(text, fc.constant('\uD800')), tie('tree'), { maxKeys: 6 }),
  ),
}))

describe('encodeValue against the reference encoder', () => {
  it('writes the same bytes for every storable value', () => {
    fc.assert(fc.property(validValue, (value) => expectSameAsReference(value)), params)
  })

  it('gives the same result or error (code, message and path) for any value', () => {
    fc.assert(fc.property(anyValue, (value) => expectSameAsReference(value)), params)
  })

  it('gives the same VALUE_TOO_LARGE at any limit', () => {
    fc.assert(
      fc.property(anyValue, fc.integer({ min: -2, max: 2 }), (value, delta) => {
        let size = 0
        try {
          size = referenceEncode(value, Number.MAX_SAFE_INTEGER).length
        } catch {
          size = 10
        }
        expectSameAsReference(value, Math.max(0, size + delta))
      }),
      params,
    )
  })

  it('matches on long strings, big byte arrays and long arrays, and on small values after them', () => {
    // Past 64 KiB (the writer is not kept), and lengths that need 3-byte varUints.
    for (const value of ['é'.repeat(20_000), 'x'.repeat(70_000), new Uint8Array(70_000).fill(7), Array.from({ length: 5_000 }, (_, i) => i * 1000), { a: '😀'.repeat(10_000) }]) {
      expectSameAsReference(value, Number.MAX_SAFE_INTEGER)
      expectSameAsReference(value)
      expectSameAsReference({ small: [1, 'two', null] })
    }
    expectSameAsReference(new Uint8Array(2 * 1024 * 1024))
  })

  it('matches the reference on the paths of nested failures and at the depth limit', () => {
    let deep: unknown = 1
    for (let i = 0; i < MAX_VALUE_DEPTH; i++) deep = i % 2 === 0 ? [deep] : { [`k${i}`]: deep }
    expectSameAsReference(deep)
    expectSameAsReference([deep])
    const cyclic: Record<string, unknown> = { a: [1, { b: 2 }] }
    ;((cyclic.a as unknown[])[1] as Record<string, unknown>).back = cyclic
    expectSameAsReference(cyclic)
    expectSameAsReference({ a: [1, { 'b.c': [undefined] }] })
    expectSameAsReference({ ok: 1, next: [0, 1, { x: Symbol('late') }] })
  })

  it('reads each property once and allows encodeValue inside a getter', () => {
    let reads = 0
    const inner = { get v() {
      reads++
      return encodeValue({ nested: [reads, 'x'.repeat(100)] })
    } }
    const bytes = encodeValue({ before: 'a', inner, after: 'b' })
    expect(reads).toBe(1)
    reads = 0
    expect(Array.from(bytes)).toEqual(Array.from(referenceEncode({ before: 'a', inner, after: 'b' })))
    // After a failure, the next value is encoded from a clean state.
    expect(() => encodeValue({ a: [{ b: undefined }] })).toThrow('value.a[0].b is undefined')
    expectSameAsReference({ c: [1] })
  })
})
