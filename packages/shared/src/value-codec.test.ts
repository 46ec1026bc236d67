import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { isKvsyncError, type KvsyncErrorCode } from './errors.js'
import { MAX_VALUE_DEPTH, decodeValue, encodeValue, type KvValue } from './value-codec.js'

// Property runs here are cheap; KVSYNC_FC_RUNS raises them locally, KVSYNC_FC_SEED replays.
const runs = Number(process.env.KVSYNC_FC_RUNS ?? '') || 500
const seed = process.env.KVSYNC_FC_SEED ? Number(process.env.KVSYNC_FC_SEED) : undefined
const params = { numRuns: runs, ...(seed !== undefined ? { seed } : {}) }

function roundTrip(value: unknown): KvValue {
  return decodeValue(encodeValue(value))
}

function codeOf(fn: () => unknown): KvsyncErrorCode | 'no error' | 'not a KvsyncError' {
  try {
    fn()
  } catch (error) {
    return isKvsyncError(error) ? error.code : 'not a KvsyncError'
  }
  return 'no error'
}

/** Structural equality that tells -0 from 0 and checks Date / Uint8Array types. */
function exactlyEqual(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' || typeof b === 'number') return Object.is(a, b)
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return a === b
  if (a instanceof Date || b instanceof Date) return a instanceof Date && b instanceof Date && Object.is(a.getTime(), b.getTime())
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    return a instanceof Uint8Array && b instanceof Uint8Array && a.constructor === Uint8Array && b.constructor === Uint8Array && a.length === b.length && a.every((x, i) => x === b[i])
  }
  if (Array.isArray(a) || Array.isArray(b)) return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => exactlyEqual(x, b[i]))
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false
  const keysA = Object.keys(a)
  const keysB = Object.keys(b)
  return keysA.length === keysB.length && keysA.every((key, i) => key === keysB[i] && exactlyEqual((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]))
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER
const integerArb = fc.oneof(fc.integer(), fc.constantFrom(0, 1, -1, MAX_SAFE, -MAX_SAFE, 2 ** 31, -(2 ** 31), 2 ** 32, 2 ** 53 - 2), fc.maxSafeInteger())
const floatArb = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(-0, 0.1, -1.5, Number.MIN_VALUE, -Number.MIN_VALUE, Number.MAX_VALUE, -Number.MAX_VALUE, Number.EPSILON, 2 ** 53, -(2 ** 53), 1e308, 5e-324, 2 ** -1074),
)
const stringArb = fc.oneof(
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: 'binary' }), // astral code points (surrogate pairs), never lone surrogates
  fc.constantFrom('', '😀', '𝄞 clef', 'a\u0000b', '\uFEFF', 'ünïcødé', '__proto__'),
)
const bytesArb = fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.constant(new Uint8Array(0)))
const dateArb = fc.oneof(
  fc.date({ noInvalidDate: true }),
  fc.constantFrom(new Date(0), new Date(-1), new Date(-8.64e15), new Date(8.64e15), new Date(-123456789.5)),
)
const leafArb: fc.Arbitrary<KvValue> = fc.oneof(fc.constant(null), fc.boolean(), integerArb, floatArb, stringArb, bytesArb, dateArb)
const { value: valueArb } = fc.letrec<{ value: KvValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leafArb,
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(stringArb, tie('value'), { maxKeys: 5, noNullPrototype: true }),
  ),
}))

describe('encodeValue / decodeValue', () => {
  it('round-trips every storable value exactly', () => {
    fc.assert(
      fc.property(valueArb, (value) => {
        const decoded = roundTrip(value)
        expect(exactlyEqual(decoded, value)).toBe(true)
        expect(decoded).toStrictEqual(value)
      }),
      params,
    )
  })

  it('round-trips integers up to ±(2^53 - 1) and floats of every magnitude', () => {
    for (const n of [0, 1, -1, MAX_SAFE, -MAX_SAFE, 2 ** 53, -(2 ** 53), 0.5, -0, Number.MIN_VALUE, Number.MAX_VALUE, -Number.MAX_VALUE, 1e-300]) {
      expect(Object.is(roundTrip(n), n), String(n)).toBe(true)
    }
    fc.assert(fc.property(fc.oneof(integerArb, floatArb), (n) => Object.is(roundTrip(n), n)), params)
  })

  it('preserves -0, also nested', () => {
    expect(Object.is(roundTrip(-0), -0)).toBe(true)
    const nested = roundTrip({ a: [-0, 0] }) as { a: number[] }
    expect(Object.is(nested.a[0], -0)).toBe(true)
    expect(Object.is(nested.a[1], 0)).toBe(true)
  })

  it('keeps Date and Uint8Array types, including negative epochs and empty arrays', () => {
    const decoded = roundTrip({ when: new Date(-86_400_000), bytes: new Uint8Array(0), more: Uint8Array.of(0, 255) }) as Record<string, unknown>
    expect(decoded.when).toBeInstanceOf(Date)
    expect((decoded.when as Date).getTime()).toBe(-86_400_000)
    expect(decoded.bytes).toBeInstanceOf(Uint8Array)
    expect((decoded.bytes as Uint8Array).length).toBe(0)
    expect(Array.from(decoded.more as Uint8Array)).toEqual([0, 255])
  })

  it('does not alias the encoded buffer in decoded bytes', () => {
    const encoded = encodeValue(Uint8Array.of(1, 2, 3))
    const decoded = decodeValue(encoded) as Uint8Array
    decoded[0] = 99
    expect(decodeValue(encoded)).toEqual(Uint8Array.of(1, 2, 3))
  })

  it('round-trips a "__proto__" key as an own property without touching the prototype', () => {
    const input = JSON.parse('{"__proto__": {"polluted": true}, "x": 1}') as Record<string, unknown>
    expect(Object.prototype.hasOwnProperty.call(input, '__proto__')).toBe(true)
    const decoded = roundTrip(input) as Record<string, unknown>
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype)
    expect(Object.prototype.hasOwnProperty.call(decoded, '__proto__')).toBe(true)
    expect(Object.keys(decoded)).toEqual(['__proto__', 'x'])
    expect(Object.getOwnPropertyDescriptor(decoded, '__proto__')?.value).toEqual({ polluted: true })
    expect((decoded as { polluted?: unknown }).polluted).toBeUndefined()
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined()
    // Also nested and with a non-object value.
    const nested = roundTrip({ a: JSON.parse('{"__proto__": 5}') }) as { a: Record<string, unknown> }
    expect(Object.getPrototypeOf(nested.a)).toBe(Object.prototype)
    expect(Object.getOwnPropertyDescriptor(nested.a, '__proto__')?.value).toBe(5)
  })

  it('accepts objects with a null prototype', () => {
    const bare = Object.create(null) as Record<string, unknown>
    bare.k = 'v'
    expect(roundTrip(bare)).toEqual({ k: 'v' })
  })

  it('accepts nesting up to the depth limit', () => {
    let value: KvValue = 1
    for (let i = 0; i < MAX_VALUE_DEPTH; i++) value = [value]
    expect(exactlyEqual(roundTrip(value), value)).toBe(true)
  })
})

describe('encodeValue rejections', () => {
  class Point {
    x = 1
  }
  const cyclic: Record<string, unknown> = { a: 1 }
  cyclic.self = cyclic
  const cyclicArray: unknown[] = [1]
  cyclicArray.push([cyclicArray])
  // eslint-disable-next-line no-sparse-arrays
  const sparse = [1, , 3]
  let tooDeep: unknown = 1
  for (let i = 0; i <= MAX_VALUE_DEPTH; i++) tooDeep = [tooDeep]

  const invalid: Array<[string, unknown]> = [
    ['undefined at the top level', undefined],
    ['undefined nested in an object', { a: { b: undefined } }],
    ['undefined in an array', [1, undefined]],
    ['a function', () => 1],
    ['a nested function', { f() {} }],
    ['a symbol', Symbol('s')],
    ['a nested symbol', [Symbol.iterator]],
    ['a bigint', 10n],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['-Infinity', Number.NEGATIVE_INFINITY],
    ['NaN nested', { n: [Number.NaN] }],
    ['a cyclic object', cyclic],
    ['a cyclic array', cyclicArray],
    ['a Map', new Map([['a', 1]])],
    ['a Set', new Set([1])],
    ['a class instance', new Point()],
    ['a RegExp', /x/],
    ['a boxed string', new String('x')],
    ['a Uint8Array subclass (Buffer)', Buffer.from('x')],
    ['another typed array', new Uint16Array(2)],
    ['an ArrayBuffer', new ArrayBuffer(2)],
    ['a sparse array', sparse],
    ['a lone high surrogate', 'a\uD800b'],
    ['a lone low surrogate', '\uDC00'],
    ['a lone surrogate in a key', { ['\uD83D']: 1 }],
    ['an invalid Date', new Date(Number.NaN)],
    ['an object with symbol keys', { [Symbol('k')]: 1 }],
    ['nesting past the depth limit', tooDeep],
  ]

  it.each(invalid)('rejects %s with INVALID_VALUE', (_name, value) => {
    expect(codeOf(() => encodeValue(value))).toBe('INVALID_VALUE')
  })

  it('rejects a value larger than maxBytes with VALUE_TOO_LARGE', () => {
    const value = 'x'.repeat(100)
    const size = encodeValue(value).length
    expect(encodeValue(value, size).length).toBe(size)
    expect(codeOf(() => encodeValue(value, size - 1))).toBe('VALUE_TOO_LARGE')
    expect(codeOf(() => encodeValue(new Uint8Array(2 * 1024 * 1024)))).toBe('VALUE_TOO_LARGE')
  })

  it('names the path of the offending part in the message', () => {
    try {
      encodeValue({ a: [1, { b: undefined }] })
      expect.unreachable()
    } catch (error) {
      expect(isKvsyncError(error, 'INVALID_VALUE')).toBe(true)
      expect((error as Error).message).toContain('.a[1].b')
    }
  })
})

describe('decodeValue of corrupt bytes', () => {
  it('rejects every strict prefix of a valid encoding with CORRUPT_DATA', () => {
    fc.assert(
      fc.property(valueArb, (value) => {
        const bytes = encodeValue(value)
        for (let length = 0; length < bytes.length; length++) {
          const code = codeOf(() => decodeValue(bytes.subarray(0, length)))
          if (code !== 'CORRUPT_DATA') throw new Error(`prefix of length ${length} of ${bytes.length}: ${code}`)
        }
      }),
      { ...params, numRuns: Math.max(50, Math.floor(runs / 5)) },
    )
  })

  it('rejects trailing data, unknown tags and impossible lengths with CORRUPT_DATA', () => {
    expect(codeOf(() => decodeValue(Uint8Array.of(0, 0)))).toBe('CORRUPT_DATA')
    expect(codeOf(() => decodeValue(Uint8Array.of(42)))).toBe('CORRUPT_DATA')
    expect(codeOf(() => decodeValue(Uint8Array.of(8, 0xff, 0xff, 0xff, 0xff, 0x0f)))).toBe('CORRUPT_DATA')
    expect(codeOf(() => decodeValue(Uint8Array.of(9, 0xff, 0xff, 0xff, 0xff, 0x0f)))).toBe('CORRUPT_DATA')
    expect(codeOf(() => decodeValue(Uint8Array.of(5, 0x05, 0x61)))).toBe('CORRUPT_DATA')
    expect(codeOf(() => decodeValue(new Uint8Array(0)))).toBe('CORRUPT_DATA')
    // Arrays nested deeper than any encoder would write.
    const deep = new Uint8Array(10_000).map((_, i) => (i % 2 === 0 ? 8 : 1)) // [[[[...]]]]
    expect(codeOf(() => decodeValue(deep))).toBe('CORRUPT_DATA')
  })

  it('either decodes random bytes or throws CORRUPT_DATA, never anything else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const code = codeOf(() => decodeValue(bytes))
        return code === 'no error' || code === 'CORRUPT_DATA'
      }),
      { ...params, numRuns: runs * 4 },
    )
  })

  it('either decodes mutated valid encodings or throws CORRUPT_DATA, and what decodes re-encodes', () => {
    fc.assert(
      fc.property(valueArb, fc.nat(), fc.integer({ min: 0, max: 255 }), (value, at, byte) => {
        const bytes = encodeValue(value).slice()
        bytes[at % bytes.length] = byte
        let decoded: KvValue
        try {
          decoded = decodeValue(bytes)
        } catch (error) {
          return isKvsyncError(error, 'CORRUPT_DATA')
        }
        // Anything that decodes is a storable value again (or a string the codec itself would
        // refuse: lib0 decodes invalid UTF-8 leniently, so re-encoding may reject it).
        const code = codeOf(() => encodeValue(decoded, Number.MAX_SAFE_INTEGER))
        return code === 'no error' || code === 'INVALID_VALUE'
      }),
      params,
    )
  })
})
