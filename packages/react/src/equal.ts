import type { KvValue } from '@kvsync/browser'

/**
 * Structural equality of two kvsync values (JSON, `Date`, `Uint8Array`). The hooks use it to
 * keep returning the same object when a change event carries a value equal to the one already
 * rendered (a remote write of the same value, a re-read after subscribing), so `React.memo` and
 * effect dependencies see no change.
 */
export function valuesEqual(a: KvValue | undefined, b: KvValue | undefined): boolean {
  if (Object.is(a, b)) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (a instanceof Date || b instanceof Date) {
    return a instanceof Date && b instanceof Date && a.getTime() === b.getTime()
  }
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (!(a instanceof Uint8Array && b instanceof Uint8Array) || a.byteLength !== b.byteLength) return false
    for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false
    return true
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!(Array.isArray(a) && Array.isArray(b)) || a.length !== b.length) return false
    return a.every((item, i) => valuesEqual(item, b[i]))
  }
  const aKeys = Object.keys(a)
  const bObject = b as Record<string, KvValue>
  if (aKeys.length !== Object.keys(bObject).length) return false
  const aObject = a as Record<string, KvValue>
  return aKeys.every((key) => Object.prototype.hasOwnProperty.call(bObject, key) && valuesEqual(aObject[key], bObject[key]))
}
