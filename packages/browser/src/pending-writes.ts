import { DEFAULT_MAX_VALUE_BYTES, assertKey, decodeValue, encodeValue, resolveExpiresAt, type KvRegister, type KvSetOptions, type KvValue } from '@kvsync/shared'

/** One write made before the document was loaded. */
interface PendingOp {
  readonly key: string
  /** A private copy (encoded and decoded), so later mutation by the caller cannot change it. */
  readonly value: KvValue | undefined
  readonly tombstone: boolean
  readonly expiresAt: number | undefined
}

/**
 * Writes made after `openStore` resolved from the materialized view but before the stored
 * document arrived (a few tens of ms for a big store). They are validated at once (same errors
 * as a normal write), visible to reads at once (an overlay over the view), and applied through
 * the register — one Yjs transaction per `set`/`delete`/`transact`, in order — as soon as the
 * document is loaded; their HLC is taken then, after the clock has seen every stored entry, so
 * they win over what the reader saw. Their promises resolve with that commit.
 */
export class PendingWrites {
  private readonly groups: PendingOp[][] = []
  private open: PendingOp[] | undefined
  private readonly latest = new Map<string, PendingOp>()
  private readonly settle: Array<{ resolve: (done: Promise<void>) => void; reject: (error: unknown) => void }> = []
  private readonly done: Promise<void>

  constructor(
    private readonly now: () => number,
    private readonly maxValueBytes = DEFAULT_MAX_VALUE_BYTES,
  ) {
    this.done = new Promise<void>((resolve, reject) => {
      this.settle.push({ resolve: (commit) => resolve(commit), reject })
    })
    // Writers that do not await must not cause unhandled rejections; errors reach onError too.
    this.done.catch(() => {})
  }

  get size(): number {
    return this.latest.size
  }

  set(key: string, value: KvValue, options?: KvSetOptions): Promise<void> {
    assertKey(key)
    const copy = decodeValue(encodeValue(value, this.maxValueBytes))
    this.push({ key, value: copy, tombstone: false, expiresAt: resolveExpiresAt(options, this.now()) })
    return this.done
  }

  delete(key: string): Promise<void> {
    assertKey(key)
    this.push({ key, value: undefined, tombstone: true, expiresAt: undefined })
    return this.done
  }

  /** Runs `fn` so that the writes it makes are applied as one transaction. */
  transact(fn: () => void): Promise<void> {
    if (this.open !== undefined) {
      fn()
      return this.done
    }
    const group: PendingOp[] = []
    this.open = group
    try {
      fn()
    } finally {
      this.open = undefined
      if (group.length > 0) this.groups.push(group)
    }
    return this.done
  }

  /** What reads see for `key`: `undefined` when no pending write touches it. */
  read(key: string): { present: boolean; value: KvValue | undefined } | undefined {
    const op = this.latest.get(key)
    if (op === undefined) return undefined
    const present = !op.tombstone && (op.expiresAt === undefined || op.expiresAt > this.now())
    return { present, value: present ? op.value : undefined }
  }

  /** `keys` (sorted, starting with `prefix`) as the pending writes change them, sorted. */
  overlayKeys(keys: readonly string[], prefix: string): string[] {
    const merged = new Set(keys)
    for (const key of this.latest.keys()) {
      if (!key.startsWith(prefix)) continue
      if (this.read(key)!.present) merged.add(key)
      else merged.delete(key)
    }
    return [...merged].sort()
  }

  /** Applies every pending write through `register`; `commit` gives the promise of their commit. */
  apply(register: KvRegister, commit: () => Promise<void>): void {
    for (const group of this.groups.splice(0)) {
      register.transact(() => {
        for (const op of group) {
          if (op.tombstone) register.delete(op.key)
          else register.set(op.key, op.value, op.expiresAt === undefined ? undefined : { expiresAt: op.expiresAt })
        }
      })
    }
    this.latest.clear()
    const committed = commit()
    for (const waiter of this.settle.splice(0)) waiter.resolve(committed)
  }

  /** The document could not be loaded: the writes cannot be applied. */
  fail(error: unknown): void {
    for (const waiter of this.settle.splice(0)) waiter.reject(error)
  }

  private push(op: PendingOp): void {
    if (this.open !== undefined) this.open.push(op)
    else this.groups.push([op])
    this.latest.set(op.key, op)
  }
}
