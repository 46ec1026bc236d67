import { decodeValue, type KvRegister, type KvValue } from '@kvsync/shared'

/** One validated write not yet applied to the document. */
export interface PendingOp {
  readonly key: string
  /** The value's `encodeValue` bytes (a private copy); `undefined` for a delete. */
  readonly value: Uint8Array | undefined
  readonly expiresAt: number | undefined
}

/** What reads see for a key with a pending write. */
export interface PendingRead {
  readonly present: boolean
  readonly value: KvValue | undefined
}

/**
 * Writes made through the store's API that the document has not received yet, as an overlay
 * that reads consult first: all `set`/`delete` calls of one task are applied to the document
 * together at the end of the task, in one Yjs transaction (one update, one commit, one
 * message), instead of one transaction each (see docs/architecture.md, "Writes of one task").
 *
 * Writes are validated and encoded when they are made (the same errors as ever, at the call),
 * and applied in order; their HLC is taken when applied, after the clock has seen every stored
 * entry, so they win over what the reader saw.
 */
export class PendingWrites {
  private ops: PendingOp[] = []
  /**
   * Each key's last pending write, built on the first read that needs it: a bulk write that
   * nobody reads until it is applied (an import) never pays for a map of its keys.
   */
  private index: Map<string, PendingOp> | undefined

  constructor(private readonly now: () => number) {}

  /** How many writes are waiting. */
  get size(): number {
    return this.ops.length
  }

  push(op: PendingOp): void {
    this.ops.push(op)
    this.index?.set(op.key, op)
  }

  /** What reads see for `key`: `undefined` when no pending write touches it. */
  read(key: string): PendingRead | undefined {
    const op = this.latest().get(key)
    if (op === undefined) return undefined
    const present = op.value !== undefined && (op.expiresAt === undefined || op.expiresAt > this.now())
    return { present, value: present ? decodeValue(op.value!) : undefined }
  }

  /** Whether `key` has a pending write that leaves it present (`undefined`: no pending write). */
  has(key: string): boolean | undefined {
    const op = this.latest().get(key)
    if (op === undefined) return undefined
    return op.value !== undefined && (op.expiresAt === undefined || op.expiresAt > this.now())
  }

  /** `keys` (sorted, starting with `prefix`) as the pending writes change them, sorted. */
  overlayKeys(keys: readonly string[], prefix: string): string[] {
    const merged = new Set(keys)
    for (const key of this.latest().keys()) {
      if (!key.startsWith(prefix)) continue
      if (this.has(key)!) merged.add(key)
      else merged.delete(key)
    }
    return [...merged].sort()
  }

  /**
   * Applies every pending write through `register` in one silent transaction (their events
   * were delivered when they were made) and forgets them.
   */
  apply(register: KvRegister): void {
    if (this.ops.length === 0) return
    const ops = this.ops
    this.ops = []
    this.index = undefined
    register.transact(() => register.writeEncodedMany(ops), { silent: true })
  }

  private latest(): Map<string, PendingOp> {
    if (this.index === undefined) {
      this.index = new Map()
      for (const op of this.ops) this.index.set(op.key, op)
    }
    return this.index
  }

  /** The document could not be loaded: the writes cannot be applied; forget them. */
  clear(): void {
    this.ops = []
    this.index = undefined
  }
}
