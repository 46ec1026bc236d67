import * as Y from 'yjs'

/** The parts of Yjs' list internals that appending in O(1) relies on (yjs 13.6). */
interface ListInternals {
  _start: Y.Item | null
  _searchMarker: Array<{ p: Y.Item; index: number; timestamp: number }> | null
}

function isInList(item: Y.Item, list: ListInternals): boolean {
  return item.left === null ? list._start === item : item.left.right === item
}

/**
 * Appends `content` at the end of `array` (inside the caller's transaction) and returns the new
 * item.
 *
 * Why not plain `array.push`: Yjs walks the whole list from its start to find the end unless a
 * search marker points near it, which makes each push O(n). Appending at the end (rather than
 * inserting at the front, which is O(1) in Yjs) matters: consecutive appends by one client form
 * an origin chain, so once deleted they merge into one small GC range — that is what keeps the
 * document's size bounded under rewrites. So we remember the last item and hand Yjs a
 * temporary search marker pointing at it; the marker is removed right after, so Yjs' own
 * index-based lookups never see it.
 */
export function appendToArray(
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
  const markers = list._searchMarker
  if (last !== null && markers !== null) {
    markers.length = 0
    markers.push({ p: last, index: 1, timestamp: 0 })
  }
  try {
    array.push([content])
  } finally {
    if (markers !== null) markers.length = 0
  }
  const doc = array.doc!
  const structs = doc.store.clients.get(doc.clientID)!
  const item = structs[structs.length - 1] as Y.Item
  tail.set(item)
  return item
}
