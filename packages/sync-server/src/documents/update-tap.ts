import * as Y from 'yjs'

/** Who hears a document's changes: Yjs' `update` event listener signature. */
export type UpdateListener = (update: Uint8Array, origin: unknown) => void

/**
 * Hears every change of a document as one V1 update per transaction, like Yjs' `update` event,
 * except that a transaction applying one received update that it integrated exactly can pass
 * on the received bytes ({@link UpdateTap.forward}) instead of having Yjs encode the
 * transaction again.
 *
 * Why: Yjs encodes every transaction of a document with an `update` listener (structs and
 * delete set, 5–10 µs and ~2 KB of garbage for a one-key write in profiles of S2), and for an
 * update that added exactly its own structs (none known already, none left waiting for missing
 * dependencies) that encoding says what the received bytes say. The bytes are then stored and
 * broadcast as they came: applying them gives every replica the same state as Yjs' encoding
 * would. (They may repeat deletions the document already had, which applying ignores.)
 *
 * How: Yjs encodes only while an `update` listener is attached, right after it emits
 * `afterTransactionCleanup`. So `forward` detaches the listener for that one transaction, the
 * cleanup hands over the received bytes at the point Yjs would have emitted them (so the
 * order with the register's repair transaction that follows is kept), and the listener is back
 * before the next transaction's cleanup begins, or when the caller's transaction returns.
 */
export class UpdateTap {
  readonly #doc: Y.Doc
  readonly #listener: UpdateListener
  /** The transaction whose changes are `update`, while its cleanup is pending. */
  #forwarded: { readonly transaction: Y.Transaction; readonly update: Uint8Array } | undefined
  #detached = false
  readonly #afterCleanup = (transaction: Y.Transaction): void => {
    const forwarded = this.#forwarded
    if (forwarded === undefined || forwarded.transaction !== transaction) return
    this.#forwarded = undefined
    this.#listener(forwarded.update, transaction.origin)
  }
  /** Fires as each transaction's cleanup begins, the forwarded one's too: not yet for that one. */
  readonly #beforeObservers = (transaction: Y.Transaction): void => {
    if (this.#forwarded?.transaction !== transaction) this.restore()
  }

  constructor(doc: Y.Doc, listener: UpdateListener) {
    this.#doc = doc
    this.#listener = listener
    doc.on('update', listener)
    doc.on('afterTransactionCleanup', this.#afterCleanup)
    doc.on('beforeObserverCalls', this.#beforeObservers)
  }

  /**
   * Inside `transaction` (not yet cleaned up): its changes are exactly `update`, so listeners
   * get these bytes and Yjs does not encode the transaction. The caller calls
   * {@link UpdateTap.restore} once its transaction returned (or threw).
   */
  forward(transaction: Y.Transaction, update: Uint8Array): void {
    this.#forwarded = { transaction, update }
    if (!this.#detached) {
      this.#detached = true
      this.#doc.off('update', this.#listener)
    }
  }

  /** Re-attaches the `update` listener after {@link UpdateTap.forward}; a no-op otherwise. */
  restore(): void {
    // A transaction that never reached its cleanup (it threw before) forwards nothing.
    if (!this.#detached) return
    this.#detached = false
    this.#doc.on('update', this.#listener)
  }

  /** Stops listening. */
  release(): void {
    this.restore()
    this.#forwarded = undefined
    this.#doc.off('update', this.#listener)
    this.#doc.off('afterTransactionCleanup', this.#afterCleanup)
    this.#doc.off('beforeObserverCalls', this.#beforeObservers)
  }
}

/**
 * Whether the transaction that applied `meta`'s update, whose document state was `before`
 * (`transaction.beforeState`), integrated exactly the update's structs: each client's structs
 * began at the document's clock for it and now end at it, and nothing waits for missing
 * dependencies (`pendingBefore`: nothing waited before either). Then the update's bytes are the
 * transaction's changes (see {@link UpdateTap}); `transaction` tells whether it changed
 * anything at all (else Yjs emits nothing, and neither may we).
 */
export function integratedExactly(
  transaction: Y.Transaction,
  meta: { readonly from: ReadonlyMap<number, number>; readonly to: ReadonlyMap<number, number> },
  pendingBefore: boolean,
): boolean {
  const store = transaction.doc.store
  if (pendingBefore || store.pendingStructs !== null || store.pendingDs !== null) return false
  for (const [client, to] of meta.to) {
    if ((transaction.beforeState.get(client) ?? 0) !== meta.from.get(client) || Y.getState(store, client) !== to) return false
  }
  return meta.to.size > 0 || transaction.deleteSet.clients.size > 0
}
