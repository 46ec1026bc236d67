/**
 * When an idle document hibernates (see `ServerDocument.hibernate`). Waking costs a decode of
 * the encoded state, about 0.1 µs per byte (measured: 7 ms for 1,000 keys / 50 KB, 0.42 s for
 * 100,000 keys / 5.6 MB), plus re-indexing; hibernating costs an encode, a few times less. A
 * fixed delay would make big stores pay that often, so the delay grows with the size: up to
 * {@link HIBERNATION_SIZE_STEP_BYTES} it is `hibernateAfterMs`, beyond it proportionally longer
 * (100,000 keys with the 10 s default: about 14 minutes). Either way a store that is woken each
 * time right after hibernating spends well under 0.1% of its idle time waking.
 */
export const HIBERNATION_SIZE_STEP_BYTES = 64 * 1024

/** How long a document of `sizeBytes` must have been idle before it hibernates; `hibernateAfterMs` > 0. */
export function hibernationDelayMs(hibernateAfterMs: number, sizeBytes: number): number {
  return hibernateAfterMs * Math.max(1, sizeBytes / HIBERNATION_SIZE_STEP_BYTES)
}

/**
 * How often the registry looks for documents to hibernate: a quarter of the delay (so a store
 * hibernates at most 25% late), between 10 ms and 5 s.
 */
export function hibernationCheckIntervalMs(hibernateAfterMs: number): number {
  return Math.min(5_000, Math.max(10, Math.round(hibernateAfterMs / 4)))
}
