import * as Y from 'yjs'

/** The parts of Yjs' list internals that appending in O(1) relies on (yjs 13.6). */
interface ListInternals {
  _start: Y.Item | null
  _searchMarker: unknown[] | null
}

function isInList(item: Y.Item, list: ListInternals): boolean {
  return item.left === null ? list._start === item : item.left.right === item
}

/**
 * Adds `content` to `array` (inside the caller's transaction `transaction`) right after the
 * last item this replica added (`tail`), or at the end of the array for its first, and returns
 * the new item. `content` is kept as it is (not copied): the caller must not change it.
 *
 * Why not plain `array.push`: Yjs walks the whole list from its start to find the end unless a
 * search marker points near it, which makes each push O(n), and it copies the bytes and builds
 * closures per call. So we create the item exactly as Yjs' `typeListInsertGenericsAfter` does
 * after a reference item (origin: its last id; right neighbour and right origin: the item after
 * it) and integrate it.
 *
 * Why after our own last item rather than at the end: a replica's consecutive items then form
 * one origin chain that stays together in the list, so once deleted they merge into one small
 * GC range — that is what keeps the document's size bounded under rewrites — and items of
 * writers writing at the same time do not compete for one position. Appended at the end, every
 * item written while others' were in flight has the same or a chained left origin as theirs,
 * and each replica receiving it scans all of them to place it (Yjs' conflict loop, with two Set
 * insertions per item scanned): with 50 writers on one store that loop was the largest single
 * cost of applying a received write. After our own item, the scan stops at the first item that
 * is not ours. Order in the array means nothing to the register (the HLC decides), so where the
 * item lands is free to choose.
 */
export function appendToArray(
  transaction: Y.Transaction,
  array: Y.Array<Uint8Array>,
  content: Uint8Array,
  tail: { get: () => Y.Item | null; set: (item: Y.Item) => void },
): Y.Item {
  const list = array as unknown as ListInternals
  let last = tail.get()
  // Items can be merged into their left neighbour (deleted runs); step left until in the list.
  while (last !== null && !isInList(last, list)) last = last.left
  if (last === null) {
    last = list._start
    if (last !== null) while (last.right !== null) last = last.right
  }
  const right = last === null ? null : last.right
  if (right !== null && list._searchMarker !== null) {
    // Indexes after the new item shift by one; Yjs' markers would be stale (none are made
    // unless someone reads the array by index, which the register never does).
    list._searchMarker.length = 0
  }
  const doc = transaction.doc
  const client = doc.clientID
  const item = new Y.Item(
    Y.createID(client, Y.getState(doc.store, client)),
    last,
    last === null ? null : last.lastId,
    right,
    right === null ? null : right.id,
    array as unknown as Y.AbstractType<unknown>,
    null,
    new Y.ContentBinary(content),
  )
  item.integrate(transaction, 0)
  tail.set(item)
  return item
}
