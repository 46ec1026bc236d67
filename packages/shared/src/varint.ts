/**
 * lib0's varUint format (7 bits per byte, low bits first, high bit set on every byte but the
 * last), for encoders that write into one buffer of an exact size instead of a lib0 encoder:
 * the entry codec (kv/entry.ts) and the value codec. Bytes are identical to lib0's.
 */

/** Length of lib0's varUint encoding of a non-negative safe integer. */
export function varUintLength(value: number): number {
  let length = 1
  while (value > 0x7f) {
    value = Math.floor(value / 128)
    length++
  }
  return length
}

/** Writes `value` as lib0's varUint at `at`; returns the position after it. */
export function writeVarUint(bytes: Uint8Array, at: number, value: number): number {
  while (value > 0x7f) {
    bytes[at++] = 0x80 | (value & 0x7f)
    value = Math.floor(value / 128)
  }
  bytes[at++] = value
  return at
}
