import * as Y from 'yjs'

/**
 * Calls `visit` with every item of `array`'s list (not map-style items another client may have
 * put under the same root name) that `transaction` created, deleted ones included. Call it from
 * an `afterTransaction` handler.
 *
 * Found from the transaction's before/after state vectors, in O(new items): `YEvent.changes`
 * would be simpler but walks the whole array and is quadratic in the number of inserted items
 * (measured: 7 s for one transaction of 30,000 sets).
 */
export function forEachAddedItem<T>(transaction: Y.Transaction, array: Y.Array<T>, visit: (item: Y.Item) => void): void {
  const store = transaction.doc.store
  transaction.afterState.forEach((afterClock, client) => {
    const beforeClock = transaction.beforeState.get(client) ?? 0
    if (afterClock <= beforeClock) return
    const structs = store.clients.get(client)
    if (structs === undefined) return
    for (let index = Y.findIndexSS(structs, beforeClock); index < structs.length; index++) {
      const struct = structs[index]
      if (struct instanceof Y.Item && struct.parent === array && struct.parentSub === null) visit(struct)
    }
  })
}
