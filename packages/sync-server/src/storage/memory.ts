import { KvsyncError } from '@kvsync/shared'
import type { DocStorage, DocStorageEntry } from '@kvsync/shared'

/**
 * A {@link DocStorage} that keeps updates in process memory. The default when a server is given
 * neither `storage` nor `dataDir`, and the test double for code that needs a storage. Nothing
 * survives the process.
 */
export class MemoryDocStorage implements DocStorage {
  readonly #docs = new Map<string, Uint8Array[]>()
  #closed = false

  async loadUpdates(doc: string): Promise<Uint8Array[]> {
    this.#assertOpen()
    return (this.#docs.get(doc) ?? []).map((update) => new Uint8Array(update))
  }

  async appendUpdate(doc: string, update: Uint8Array): Promise<void> {
    this.#assertOpen()
    this.#append(doc, update)
  }

  async appendUpdates(batch: ReadonlyArray<DocStorageEntry>): Promise<void> {
    this.#assertOpen()
    for (const { doc, update } of batch) this.#append(doc, update)
  }

  async compact(doc: string, merged: Uint8Array, replacedCount: number): Promise<void> {
    this.#assertOpen()
    const kept = (this.#docs.get(doc) ?? []).slice(Math.max(0, replacedCount))
    this.#docs.set(doc, [new Uint8Array(merged), ...kept])
  }

  async listDocs(): Promise<string[]> {
    this.#assertOpen()
    return [...this.#docs.keys()]
  }

  async deleteDoc(doc: string): Promise<void> {
    this.#assertOpen()
    this.#docs.delete(doc)
  }

  async close(): Promise<void> {
    this.#closed = true
  }

  #append(doc: string, update: Uint8Array): void {
    let updates = this.#docs.get(doc)
    if (updates === undefined) {
      updates = []
      this.#docs.set(doc, updates)
    }
    // Copy into a plain Uint8Array: callers may reuse their buffer, and Buffer#slice would only
    // make a view.
    updates.push(new Uint8Array(update))
  }

  #assertOpen(): void {
    if (this.#closed) throw new KvsyncError('STORE_CLOSED', 'this MemoryDocStorage is closed')
  }
}
