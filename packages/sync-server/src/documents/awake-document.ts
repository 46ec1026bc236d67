import * as Y from 'yjs'
import { KvRegister, KvsyncError } from '@kvsync/shared'
import type { Logger } from '../logger.js'
import { UpdateTap } from './update-tap.js'
import type { UpdateListener } from './update-tap.js'

/**
 * Transaction origin of updates replayed from storage (or from the encoded state, on waking):
 * they are already stored, so they are neither persisted again nor broadcast.
 */
export const storageOrigin: unique symbol = Symbol('kvsync.storage')

/** The live form of a document: its Y.Doc, the register over it, and what hears its updates. */
export interface Awake {
  readonly doc: Y.Doc
  readonly register: KvRegister
  readonly tap: UpdateTap
}

/**
 * Builds the live form of the document `name` from `updates`, oldest first. `onUpdate` hears
 * every later change (the listener exists per decode, so a hibernated document holds none).
 * Malformed entries are logged when loading, not again when `waking` (they were reported then).
 * Throws a `KvsyncError` `CORRUPT_DATA` when an update cannot be applied.
 */
export function decodeAwake(options: {
  readonly name: string
  readonly updates: ReadonlyArray<Uint8Array>
  readonly logger: Logger
  readonly waking: boolean
  readonly onUpdate: UpdateListener
}): Awake {
  const { name, updates, logger, onUpdate } = options
  const doc = new Y.Doc()
  try {
    Y.transact(
      doc,
      () => {
        for (const update of updates) Y.applyUpdate(doc, update, storageOrigin)
      },
      storageOrigin,
    )
  } catch (cause) {
    doc.destroy()
    throw new KvsyncError('CORRUPT_DATA', `stored updates of ${JSON.stringify(name)} cannot be applied`, { cause })
  }
  const tap = new UpdateTap(doc, onUpdate)
  // Created after the update listener: repairs it makes while indexing are stored and sent.
  // While a woken register indexes what was indexed (and reported) before, it stays quiet.
  let quiet = options.waking
  const register = new KvRegister(doc, {
    onInvalidEntry: (report) => {
      if (!quiet) logger.warn('ignored a malformed entry', { doc: name, code: 'CORRUPT_DATA', client: report.client, clock: report.clock, reason: report.reason })
    },
  })
  quiet = false
  return { doc, register, tap }
}

/** Stops listening, releases the register's timers and the Y.Doc. */
export function releaseAwake(awake: Awake): void {
  awake.register.destroy()
  awake.tap.release()
  awake.doc.destroy()
}
