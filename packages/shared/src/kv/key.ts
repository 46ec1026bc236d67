import { KvsyncError } from '../errors.js'
import { isWellFormedString } from '../value-codec.js'

/** Longest key accepted, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024

const utf8 = new TextEncoder()

/** UTF-8 length of a string without allocating for the common short ASCII case. */
function utf8Length(text: string): number {
  if (text.length * 3 <= MAX_KEY_BYTES) return text.length // cannot exceed the limit anyway
  return utf8.encode(text).length
}

/**
 * Throws a `KvsyncError` with code `INVALID_KEY` unless `key` is a non-empty, well-formed
 * string of at most {@link MAX_KEY_BYTES} UTF-8 bytes.
 */
export function assertKey(key: unknown): asserts key is string {
  if (typeof key !== 'string') throw new KvsyncError('INVALID_KEY', `a key must be a string, got ${key === null ? 'null' : typeof key}`)
  if (key.length === 0) throw new KvsyncError('INVALID_KEY', 'a key must not be empty')
  if (!isWellFormedString(key)) throw new KvsyncError('INVALID_KEY', 'a key must not contain a lone UTF-16 surrogate')
  if (utf8Length(key) > MAX_KEY_BYTES) throw new KvsyncError('INVALID_KEY', `a key must be at most ${MAX_KEY_BYTES} UTF-8 bytes`)
}
