import * as Y from 'yjs'

/** The parts of Yjs' list internals that appending in O(1) relies on (yjs 13.6). */
interface ListInternals {
  _start: Y.Item | null
}

function isInList(item: Y.Item, list: ListInternals): boolean {
  return item.left === null ? list._start === item : item.left.right === item
}

/**
 * Appends `content` at the end of `array` (inside the caller's transaction `transaction`) and
 * returns the new item. `content` is kept as it is (not copied): the caller must not change it.
 *
 * Why not plain `array.push`: Yjs walks the whole list from its start to find the end unless a
 * search marker points near it, which makes each push O(n), and it copies the bytes and builds
 * closures per call. Appending at the end (rather than inserting at the front, which is O(1) in
 * Yjs) matters: consecutive appends by one client form an origin chain, so once deleted they
 * merge into one small GC range — that is what keeps the document's size bounded under
 * rewrites. So we remember the last item and create the item exactly as Yjs'
 * `typeListInsertGenericsAfter` does after it (origin: its last id; no right neighbour), then
 * integrate it. Items before it keep their indexes, so Yjs' search markers stay valid.
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
  if (last === null) last = list._start
  if (last !== null) while (last.right !== null) last = last.right
  const doc = transaction.doc
  const client = doc.clientID
  const item = new Y.Item(
    Y.createID(client, Y.getState(doc.store, client)),
    last,
    last === null ? null : last.lastId,
    null,
    null,
    array as unknown as Y.AbstractType<unknown>,
    null,
    new Y.ContentBinary(content),
  )
  item.integrate(transaction, 0)
  tail.set(item)
  return item
}
