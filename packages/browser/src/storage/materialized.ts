import { compareHlc, decodeEntry, decodeValue, encodeEntry, type KvEntry, type KvValue } from '@kvsync/shared'

/**
 * Writer id used for rows: no Yjs client has it, so `encodeEntry` always stores the HLC node in
 * the row and `decodeEntry` always reads it back (a row is not tied to a Yjs item).
 */
const NO_WRITER = -1

/** Encodes a key's winning entry as a row of the materialized view (entry format, node always stored). */
export function encodeRow(entry: KvEntry): Uint8Array {
  return encodeEntry(entry, NO_WRITER)
}

/** Decodes a row, or `undefined` when it is not a well-formed row. */
export function decodeRow(row: unknown): KvEntry | undefined {
  return decodeEntry(row, NO_WRITER)
}

/**
 * Whether `candidate` should replace `stored` in the materialized view: the register's order
 * without the Yjs item id (rows do not know it): greater HLC wins, and at an equal HLC a
 * tombstone beats a value (an expiry sweep keeps the HLC). Keeps rows convergent when tabs
 * commit in any order.
 */
export function rowWins(candidate: KvEntry, stored: KvEntry | undefined): boolean {
  if (stored === undefined) return true
  const byHlc = compareHlc(candidate.hlc, stored.hlc)
  if (byHlc !== 0) return byHlc > 0
  return candidate.tombstone && !stored.tombstone
}

function visible(entry: KvEntry | undefined, now: number): entry is KvEntry & { value: Uint8Array } {
  return entry !== undefined && !entry.tombstone && entry.value !== undefined && (entry.expiresAt === undefined || entry.expiresAt > now)
}

/**
 * Read-only answers from the materialized view while the document is still decoding. Rows are
 * decoded on demand, so opening costs one Map of 100k small byte arrays, not 100k decodes.
 */
export class MaterializedView {
  constructor(
    private readonly rows: ReadonlyMap<string, Uint8Array>,
    private readonly now: () => number,
  ) {}

  private entry(key: string): KvEntry | undefined {
    const row = this.rows.get(key)
    return row === undefined ? undefined : decodeRow(row)
  }

  get(key: string): KvValue | undefined {
    const entry = this.entry(key)
    return visible(entry, this.now()) ? decodeValue(entry.value) : undefined
  }

  has(key: string): boolean {
    return visible(this.entry(key), this.now())
  }

  keys(prefix = ''): string[] {
    const now = this.now()
    const keys: string[] = []
    for (const key of this.rows.keys()) if (key.startsWith(prefix) && visible(this.entry(key), now)) keys.push(key)
    return keys.sort()
  }

  entries(prefix = ''): Array<[string, KvValue]> {
    return this.keys(prefix).map((key) => [key, this.get(key)!])
  }

  get size(): number {
    return this.keys().length
  }
}
