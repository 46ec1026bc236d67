import * as decoding from 'lib0/decoding'
import { KvsyncError } from './errors.js'
import { varUintLength, writeVarUint } from './varint.js'

/**
 * A value kvsync can store: what JSON can hold, plus `Uint8Array` and `Date`, nested freely.
 */
export type KvValue =
  | null
  | boolean
  | number
  | string
  | Uint8Array
  | Date
  | readonly KvValue[]
  | { readonly [key: string]: KvValue }

/** Default for the largest encoded value accepted, in bytes (1 MiB). */
export const DEFAULT_MAX_VALUE_BYTES = 1024 * 1024
/** Deepest nesting of arrays and objects accepted in a value. */
export const MAX_VALUE_DEPTH = 128

/*
 * Wire table of the value encoding (lib0 primitives). One tag byte, then:
 *
 * | tag | type       | payload                                   |
 * | --- | ---------- | ----------------------------------------- |
 * | 0   | null       | —                                         |
 * | 1   | false      | —                                         |
 * | 2   | true       | —                                         |
 * | 3   | integer    | varInt (safe integers, not -0)            |
 * | 4   | float      | float64 (other finite numbers, -0)        |
 * | 5   | string     | varString (UTF-8)                         |
 * | 6   | Uint8Array | varUint8Array                             |
 * | 7   | Date       | float64 milliseconds since the epoch      |
 * | 8   | array      | varUint length, then each element         |
 * | 9   | object     | varUint count, then (varString key, value)|
 */
const enum Tag {
  Null = 0,
  False = 1,
  True = 2,
  Integer = 3,
  Float = 4,
  String = 5,
  Bytes = 6,
  Date = 7,
  Array = 8,
  Object = 9,
}

function invalid(path: string, why: string): KvsyncError {
  return new KvsyncError('INVALID_VALUE', `value${path} ${why}`)
}

const hasIsWellFormed = typeof (String.prototype as { isWellFormed?: unknown }).isWellFormed === 'function'
const loneSurrogate = /(?:[\uD800-\uDBFF](?![\uDC00-\uDFFF]))|(?:(?<![\uD800-\uDBFF])[\uDC00-\uDFFF])/

/**
 * Whether a string survives UTF-8 encoding unchanged. Strings with lone surrogates do not
 * (TextEncoder replaces them with U+FFFD), so they are rejected rather than silently altered.
 */
export function isWellFormedString(text: string): boolean {
  if (hasIsWellFormed) return (text as string & { isWellFormed(): boolean }).isWellFormed()
  return !loneSurrogate.test(text)
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/** Reused by {@link encodeValue} while it is kept under this size (bigger ones are dropped). */
const KEPT_WRITER_BYTES = 64 * 1024

/**
 * Writes one value's encoding into a growable buffer, from which `encodeValue` copies exactly
 * the bytes written. Why not a lib0 encoder: this runs for every `set`, and the encoder cost
 * more than the rest of the write (an encoder and its buffers per value, a path string built
 * for every object key and array element whether or not anything failed). The path of the
 * value being written is kept as a stack of keys and indices and turned into text only for an
 * error. The bytes are exactly lib0's (tested against a lib0 reference encoder).
 */
class ValueWriter {
  bytes = new Uint8Array(256)
  view = new DataView(this.bytes.buffer)
  pos = 0
  /** Objects and arrays being written, outermost first (cycle and depth checks). */
  readonly ancestors: object[] = []
  /** Keys (strings) and indices (numbers) leading to the value being written. */
  readonly path: Array<string | number> = []

  reset(): void {
    this.pos = 0
    this.ancestors.length = 0
    this.path.length = 0
  }

  invalid(why: string): KvsyncError {
    let path = ''
    for (const step of this.path) path += typeof step === 'number' ? `[${step}]` : `.${step}`
    return invalid(path, why)
  }

  ensure(more: number): void {
    const needed = this.pos + more
    if (needed <= this.bytes.length) return
    const bigger = new Uint8Array(Math.max(needed, this.bytes.length * 2))
    bigger.set(this.bytes.subarray(0, this.pos))
    this.bytes = bigger
    this.view = new DataView(bigger.buffer)
  }

  /** lib0 `writeVarUint` (capacity already ensured). */
  varUint(value: number): void {
    this.pos = writeVarUint(this.bytes, this.pos, value)
  }

  /** lib0 `writeVarInt` of a safe integer that is not -0 (capacity already ensured). */
  varInt(value: number): void {
    const bytes = this.bytes
    let at = this.pos
    const negative = value < 0
    if (negative) value = -value
    // First byte: continuation bit, sign bit, 6 bits of the number; then 7 bits per byte.
    bytes[at++] = (value > 0x3f ? 0x80 : 0) | (negative ? 0x40 : 0) | (value & 0x3f)
    value = Math.floor(value / 64)
    while (value > 0) {
      bytes[at++] = (value > 0x7f ? 0x80 : 0) | (value & 0x7f)
      value = Math.floor(value / 128)
    }
    this.pos = at
  }

  /** lib0 `writeVarString` of a well-formed string: varUint UTF-8 length, then the UTF-8 bytes. */
  varString(text: string): void {
    const length = text.length
    // At most 3 UTF-8 bytes per UTF-16 unit, and a varUint of at most 8 bytes before them.
    this.ensure(length * 3 + 8)
    const bytes = this.bytes
    const start = this.pos
    // ASCII (the usual key or short value): one byte per unit, and the length is known.
    const asciiAt = start + varUintLength(length)
    let index = 0
    for (; index < length; index++) {
      const code = text.charCodeAt(index)
      if (code >= 0x80) break
      bytes[asciiAt + index] = code
    }
    if (index === length) {
      this.varUint(length)
      this.pos = asciiAt + length
      return
    }
    // Otherwise encode behind room for the longest possible length, then close the gap.
    const room = varUintLength(length * 3)
    const { written } = utf8.encodeInto(text, bytes.subarray(start + room, start + room + length * 3))
    this.varUint(written)
    if (this.pos !== start + room) bytes.copyWithin(this.pos, start + room, start + room + written)
    this.pos += written
  }

  value(value: unknown): void {
    switch (typeof value) {
      case 'boolean':
        this.ensure(1)
        this.bytes[this.pos++] = value ? Tag.True : Tag.False
        return
      case 'number':
        if (!Number.isFinite(value)) throw this.invalid(`is ${value}: only finite numbers can be stored`)
        if (Number.isSafeInteger(value) && !Object.is(value, -0)) {
          this.ensure(1 + 8)
          this.bytes[this.pos++] = Tag.Integer
          this.varInt(value)
        } else {
          this.float(Tag.Float, value)
        }
        return
      case 'string':
        if (!isWellFormedString(value)) throw this.invalid('is a string with a lone UTF-16 surrogate')
        this.ensure(1)
        this.bytes[this.pos++] = Tag.String
        this.varString(value)
        return
      case 'undefined':
        throw this.invalid('is undefined: use delete() to remove a key, or null')
      case 'function':
        throw this.invalid('is a function')
      case 'symbol':
        throw this.invalid('is a symbol')
      case 'bigint':
        throw this.invalid('is a bigint: store it as a string')
      case 'object':
        break
    }
    if (value === null) {
      this.ensure(1)
      this.bytes[this.pos++] = Tag.Null
      return
    }
    const object = value as object
    if (object instanceof Uint8Array) {
      if (object.constructor !== Uint8Array) throw this.invalid(`is a ${object.constructor.name}: only plain Uint8Array is supported`)
      this.ensure(1 + 8 + object.length)
      this.bytes[this.pos++] = Tag.Bytes
      this.varUint(object.length)
      this.bytes.set(object, this.pos)
      this.pos += object.length
      return
    }
    if (object instanceof Date) {
      const time = object.getTime()
      if (Number.isNaN(time)) throw this.invalid('is an invalid Date')
      this.float(Tag.Date, time)
      return
    }
    const { ancestors, path } = this
    if (ancestors.includes(object)) throw this.invalid('contains a cycle')
    if (ancestors.length >= MAX_VALUE_DEPTH) throw this.invalid(`is nested deeper than ${MAX_VALUE_DEPTH} levels`)
    ancestors.push(object)
    if (Array.isArray(object)) {
      const length = object.length
      this.ensure(1 + 8)
      this.bytes[this.pos++] = Tag.Array
      this.varUint(length)
      for (let index = 0; index < length; index++) {
        path.push(index)
        if (!(index in object)) throw this.invalid('is a hole in a sparse array')
        this.value(object[index])
        path.pop()
      }
    } else {
      if (!isPlainObject(object)) {
        const kind = (object as { constructor?: { name?: string } }).constructor?.name ?? 'object'
        throw this.invalid(`is a ${kind}: only plain objects, arrays, Uint8Array and Date are supported`)
      }
      if (Object.getOwnPropertySymbols(object).length > 0) throw this.invalid('has symbol keys')
      const keys = Object.keys(object)
      this.ensure(1 + 8)
      this.bytes[this.pos++] = Tag.Object
      this.varUint(keys.length)
      for (const key of keys) {
        path.push(key)
        if (!isWellFormedString(key)) throw this.invalid('has a key with a lone UTF-16 surrogate')
        this.varString(key)
        this.value((object as Record<string, unknown>)[key])
        path.pop()
      }
    }
    ancestors.pop()
  }

  /** A tag and a big-endian float64 (lib0 `writeFloat64`). */
  private float(tag: Tag, value: number): void {
    this.ensure(1 + 8)
    this.bytes[this.pos++] = tag
    this.view.setFloat64(this.pos, value, false)
    this.pos += 8
  }
}

const utf8 = new TextEncoder()

/**
 * A writer not in use, kept between calls. `undefined` while one is in use: a getter of the
 * value being encoded could itself call `encodeValue`, which then gets a writer of its own.
 */
let idleWriter: ValueWriter | undefined = new ValueWriter()

/**
 * Encodes a value into kvsync's compact binary form. Throws a `KvsyncError` with code
 * `INVALID_VALUE` for anything that would not round-trip exactly (undefined, functions,
 * symbols, bigints, NaN/±Infinity, cycles, class instances, sparse arrays, lone surrogates),
 * and `VALUE_TOO_LARGE` past `maxBytes`.
 */
export function encodeValue(value: unknown, maxBytes: number = DEFAULT_MAX_VALUE_BYTES): Uint8Array {
  const writer = idleWriter ?? new ValueWriter()
  idleWriter = undefined
  try {
    writer.value(value)
    const length = writer.pos
    if (length > maxBytes) {
      throw new KvsyncError('VALUE_TOO_LARGE', `value encodes to ${length} bytes, more than the limit of ${maxBytes}`)
    }
    return writer.bytes.slice(0, length)
  } finally {
    writer.reset()
    if (writer.bytes.length <= KEPT_WRITER_BYTES) idleWriter = writer
  }
}

function readValue(decoder: decoding.Decoder, depth: number): KvValue {
  if (depth > MAX_VALUE_DEPTH) throw new KvsyncError('CORRUPT_DATA', 'value nested too deeply')
  const tag = decoding.readUint8(decoder)
  switch (tag) {
    case Tag.Null:
      return null
    case Tag.False:
      return false
    case Tag.True:
      return true
    case Tag.Integer:
      return decoding.readVarInt(decoder)
    case Tag.Float:
      return decoding.readFloat64(decoder)
    case Tag.String:
      return decoding.readVarString(decoder)
    case Tag.Bytes:
      // Copy: the result must not alias the (shared) encoded buffer.
      return decoding.readVarUint8Array(decoder).slice()
    case Tag.Date:
      return new Date(decoding.readFloat64(decoder))
    case Tag.Array: {
      const length = decoding.readVarUint(decoder)
      if (length > decoder.arr.length - decoder.pos) throw new KvsyncError('CORRUPT_DATA', 'array length exceeds the data')
      const array: KvValue[] = new Array(length)
      for (let index = 0; index < length; index++) array[index] = readValue(decoder, depth + 1)
      return array
    }
    case Tag.Object: {
      const count = decoding.readVarUint(decoder)
      if (count > decoder.arr.length - decoder.pos) throw new KvsyncError('CORRUPT_DATA', 'object size exceeds the data')
      const object: Record<string, KvValue> = {}
      for (let index = 0; index < count; index++) {
        const key = decoding.readVarString(decoder)
        const child = readValue(decoder, depth + 1)
        // A plain assignment to "__proto__" would replace the prototype instead of adding a key.
        if (key === '__proto__') Object.defineProperty(object, key, { value: child, enumerable: true, writable: true, configurable: true })
        else object[key] = child
      }
      return object
    }
    default:
      throw new KvsyncError('CORRUPT_DATA', `unknown value tag ${tag}`)
  }
}

/**
 * Decodes bytes made by {@link encodeValue}. Throws a `KvsyncError` with code `CORRUPT_DATA`
 * when the bytes are not a complete, valid encoding.
 */
export function decodeValue(bytes: Uint8Array): KvValue {
  const decoder = decoding.createDecoder(bytes)
  let value: KvValue
  try {
    value = readValue(decoder, 0)
  } catch (error) {
    if (error instanceof KvsyncError) throw error
    throw new KvsyncError('CORRUPT_DATA', 'value bytes are truncated or malformed', { cause: error })
  }
  if (decoder.pos !== bytes.length) throw new KvsyncError('CORRUPT_DATA', 'value bytes have trailing data')
  return value
}
