import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { KvsyncError } from './errors.js'

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

function writeValue(encoder: encoding.Encoder, value: unknown, path: string, ancestors: object[]): void {
  switch (typeof value) {
    case 'boolean':
      encoding.writeUint8(encoder, value ? Tag.True : Tag.False)
      return
    case 'number':
      if (!Number.isFinite(value)) throw invalid(path, `is ${value}: only finite numbers can be stored`)
      if (Number.isSafeInteger(value) && !Object.is(value, -0)) {
        encoding.writeUint8(encoder, Tag.Integer)
        encoding.writeVarInt(encoder, value)
      } else {
        encoding.writeUint8(encoder, Tag.Float)
        encoding.writeFloat64(encoder, value)
      }
      return
    case 'string':
      if (!isWellFormedString(value)) throw invalid(path, 'is a string with a lone UTF-16 surrogate')
      encoding.writeUint8(encoder, Tag.String)
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
    encoding.writeUint8(encoder, Tag.Null)
    return
  }
  const object = value as object
  if (object instanceof Uint8Array) {
    if (object.constructor !== Uint8Array) throw invalid(path, `is a ${object.constructor.name}: only plain Uint8Array is supported`)
    encoding.writeUint8(encoder, Tag.Bytes)
    encoding.writeVarUint8Array(encoder, object)
    return
  }
  if (object instanceof Date) {
    const time = object.getTime()
    if (Number.isNaN(time)) throw invalid(path, 'is an invalid Date')
    encoding.writeUint8(encoder, Tag.Date)
    encoding.writeFloat64(encoder, time)
    return
  }
  if (ancestors.includes(object)) throw invalid(path, 'contains a cycle')
  if (ancestors.length >= MAX_VALUE_DEPTH) throw invalid(path, `is nested deeper than ${MAX_VALUE_DEPTH} levels`)
  ancestors.push(object)
  if (Array.isArray(object)) {
    encoding.writeUint8(encoder, Tag.Array)
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
    encoding.writeUint8(encoder, Tag.Object)
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

/**
 * Encodes a value into kvsync's compact binary form. Throws a `KvsyncError` with code
 * `INVALID_VALUE` for anything that would not round-trip exactly (undefined, functions,
 * symbols, bigints, NaN/±Infinity, cycles, class instances, sparse arrays, lone surrogates),
 * and `VALUE_TOO_LARGE` past `maxBytes`.
 */
export function encodeValue(value: unknown, maxBytes: number = DEFAULT_MAX_VALUE_BYTES): Uint8Array {
  const encoder = encoding.createEncoder()
  writeValue(encoder, value, '', [])
  const length = encoding.length(encoder)
  if (length > maxBytes) {
    throw new KvsyncError('VALUE_TOO_LARGE', `value encodes to ${length} bytes, more than the limit of ${maxBytes}`)
  }
  return encoding.toUint8Array(encoder)
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
