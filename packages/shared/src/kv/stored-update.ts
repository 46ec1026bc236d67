import * as Y from 'yjs'

/**
 * A Yjs update as a store keeps it: the bytes of a Yjs **V1** update (appended commits: V1 is
 * what the sync connection sends, and encoding a small transaction as V1 costs a fraction of
 * V2), or `{ v2 }`, the bytes of a Yjs **V2** update (snapshots: for whole documents V2 is
 * ~12% smaller and compresses better on disk).
 */
export type StoredUpdate = Uint8Array | V2Update

/** A Yjs V2 update, marked as such (see {@link StoredUpdate}). */
export interface V2Update {
  readonly v2: Uint8Array
}

/** Whether `update` is a V2 update (a snapshot), rather than V1 bytes. */
export function isV2Update(update: StoredUpdate): update is V2Update {
  return !(update instanceof Uint8Array)
}

/** The encoded bytes of a stored update, whichever its format. */
export function storedUpdateBytes(update: StoredUpdate): Uint8Array {
  return update instanceof Uint8Array ? update : update.v2
}

/** Whether `value` (read back from storage) is a {@link StoredUpdate}. */
export function isStoredUpdate(value: unknown): value is StoredUpdate {
  return value instanceof Uint8Array || (typeof value === 'object' && value !== null && (value as { v2?: unknown }).v2 instanceof Uint8Array)
}

/** Applies a stored update to `doc` with Yjs' decoder for its format. */
export function applyStoredUpdate(doc: Y.Doc, update: StoredUpdate, origin?: unknown): void {
  if (update instanceof Uint8Array) Y.applyUpdate(doc, update, origin)
  else Y.applyUpdateV2(doc, update.v2, origin)
}
