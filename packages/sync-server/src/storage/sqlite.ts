import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import Database from 'better-sqlite3'
import { KvsyncError } from '@kvsync/shared'
import type { DocStorage, DocStorageEntry } from '@kvsync/shared'
import { SCHEMA } from './sqlite-schema.mjs'

/** Name of the database file inside the data directory. */
export const SQLITE_FILE_NAME = 'kvsync.db'

/** Options of {@link SqliteDocStorage}. */
export interface SqliteDocStorageOptions {
  /** Directory holding the database file `kvsync.db`; created if missing. */
  readonly dataDir: string
  /**
   * SQLite `synchronous` setting. Default `'full'`.
   *
   * - `'full'`: every commit is fsynced before it resolves, so acknowledged writes survive a
   *   power loss or OS crash, not only a process crash. Group commit (`appendUpdates`) pays one
   *   fsync per batch, which keeps this affordable.
   * - `'normal'`: in WAL mode a commit survives a crash of this process (`kill -9`) but the last
   *   commits may roll back on power loss; faster on slow disks.
   */
  readonly synchronous?: 'full' | 'normal'
  /**
   * Script of the storage thread. Default: `sqlite-worker.mjs` beside this module.
   * @internal Tests substitute a script that crashes on purpose.
   */
  readonly workerUrl?: URL
}

/** What the storage thread answers; see the protocol in sqlite-worker.mjs. */
interface Reply {
  readonly id: number
  readonly result?: unknown
  readonly bytes?: ArrayBuffer
  readonly sizes?: number[]
  readonly error?: { name: string; message: string; code: string | undefined; stack: string | undefined }
}

interface Pending {
  resolve(reply: Reply): void
  reject(error: unknown): void
  readonly action: string
  readonly doc: string
}

/**
 * The default {@link DocStorage}: one SQLite file, `kvsync.db`, in `dataDir`, written through
 * better-sqlite3 in WAL mode. Each update is one row; `appendUpdates` commits a whole batch in
 * one transaction (one fsync).
 *
 * The connection lives in a worker thread owned by this object: better-sqlite3 is synchronous,
 * and a commit (an fsync with `synchronous: 'full'`) on the main thread would delay every
 * broadcast queued behind it. Calls are messages to that thread, answered in call order; a
 * promise resolves only after the thread's commit returned. Update bytes are copied once into
 * one buffer per call and moved, not cloned, between the threads. If the thread dies, pending
 * calls reject with `STORAGE_FAILED` and the next call starts a new one. The thread never keeps
 * the process alive on its own: it is referenced only while calls are pending.
 *
 * @example
 * ```ts
 * const storage = new SqliteDocStorage({ dataDir: './data' })
 * await storage.appendUpdate('prefs/user-42', update)
 * await storage.close()
 * ```
 */
export class SqliteDocStorage implements DocStorage {
  /** Absolute or relative path of the database file. */
  readonly path: string
  readonly #synchronous: 'full' | 'normal'
  readonly #workerUrl: URL
  readonly #pending = new Map<number, Pending>()
  #worker: Worker | undefined
  /** The uncaught error of the current thread, reported as the cause once it exits. */
  #workerError: unknown
  #nextId = 1
  #closing: Promise<void> | undefined

  /**
   * Opens (or creates) the database; throws a `KvsyncError` `STORAGE_FAILED` when it cannot.
   * The check opens the file once on the calling thread, so an unusable directory fails here
   * and not at the first write.
   */
  constructor(options: SqliteDocStorageOptions) {
    this.path = join(options.dataDir, SQLITE_FILE_NAME)
    this.#synchronous = options.synchronous ?? 'full'
    this.#workerUrl = options.workerUrl ?? new URL('./sqlite-worker.mjs', import.meta.url)
    let db: Database.Database
    try {
      mkdirSync(options.dataDir, { recursive: true })
      db = new Database(this.path)
    } catch (cause) {
      throw new KvsyncError('STORAGE_FAILED', `cannot open SQLite database ${this.path}`, { cause })
    }
    try {
      // WAL is a property of the file: set once here, the thread's connection inherits it.
      db.pragma('journal_mode = WAL')
      db.pragma('busy_timeout = 5000')
      db.exec(SCHEMA)
    } catch (cause) {
      throw new KvsyncError('STORAGE_FAILED', `cannot initialise SQLite database ${this.path}`, { cause })
    } finally {
      db.close()
    }
    this.#start()
  }

  async loadUpdates(doc: string): Promise<Uint8Array[]> {
    this.#assertOpen()
    const reply = await this.#request('load', doc, { op: 'load', doc })
    const bytes = new Uint8Array(reply.bytes ?? new ArrayBuffer(0))
    const updates: Uint8Array[] = []
    let offset = 0
    for (const size of reply.sizes ?? []) {
      updates.push(bytes.subarray(offset, offset + size))
      offset += size
    }
    return updates
  }

  async appendUpdate(doc: string, update: Uint8Array): Promise<void> {
    this.#assertOpen()
    await this.#append('append to', doc, [{ doc, update }])
  }

  async appendUpdates(batch: ReadonlyArray<DocStorageEntry>): Promise<void> {
    this.#assertOpen()
    if (batch.length === 0) return
    await this.#append('append a batch to', batch[0]?.doc ?? '', batch)
  }

  async compact(doc: string, merged: Uint8Array, replacedCount: number): Promise<void> {
    this.#assertOpen()
    // Our own copy, which is then moved to the thread (never `merged.buffer`: it may be shared).
    const copy = new Uint8Array(merged.byteLength)
    copy.set(merged)
    const bytes = copy.buffer
    await this.#request('compact', doc, { op: 'compact', doc, bytes, replacedCount }, [bytes])
  }

  async listDocs(): Promise<string[]> {
    this.#assertOpen()
    const reply = await this.#request('list', '', { op: 'list' })
    return reply.result as string[]
  }

  async deleteDoc(doc: string): Promise<void> {
    this.#assertOpen()
    await this.#request('delete', doc, { op: 'delete', doc })
  }

  /**
   * Lets every call made before it finish, closes the database and stops the thread.
   * Idempotent: later calls return the same promise.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutDown()
    return this.#closing
  }

  async #shutDown(): Promise<void> {
    const worker = this.#worker
    if (worker === undefined) return
    try {
      // Queued behind every pending call, so those finish first.
      await this.#request('close', '', { op: 'close' })
    } catch (error) {
      // A thread that died released the file with it; only a failed close is worth reporting.
      if (this.#worker === worker) throw error
    } finally {
      await worker.terminate()
    }
  }

  #append(action: string, doc: string, entries: ReadonlyArray<DocStorageEntry>): Promise<Reply> {
    // One copy of every update, packed into one buffer that is moved to the thread: the
    // caller's buffers stay untouched (they may be views into larger ones, or still in use).
    let total = 0
    for (const entry of entries) total += entry.update.byteLength
    const packed = new Uint8Array(total)
    const docs = new Array<string>(entries.length)
    const sizes = new Array<number>(entries.length)
    let offset = 0
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i] as DocStorageEntry
      packed.set(entry.update, offset)
      offset += entry.update.byteLength
      docs[i] = entry.doc
      sizes[i] = entry.update.byteLength
    }
    return this.#request(action, doc, { op: 'append', docs, sizes, bytes: packed.buffer }, [packed.buffer])
  }

  #request(action: string, doc: string, message: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<Reply> {
    const worker = this.#worker ?? this.#start()
    const id = this.#nextId++
    return new Promise<Reply>((resolve, reject) => {
      const call: Pending = { resolve, reject, action, doc }
      this.#pending.set(id, call)
      if (this.#pending.size === 1) worker.ref()
      try {
        worker.postMessage({ ...message, id }, transfer)
      } catch (cause) {
        this.#settle({ id, error: describeError(cause) })
      }
    })
  }

  #start(): Worker {
    const worker = new Worker(this.#workerUrl, { workerData: { path: this.path, synchronous: this.#synchronous } })
    this.#worker = worker
    this.#workerError = undefined
    worker.unref()
    worker.on('message', (reply: Reply) => this.#settle(reply))
    worker.on('error', (error) => {
      if (this.#worker === worker) this.#workerError = error
    })
    worker.on('exit', (code) => {
      if (this.#worker !== worker) return
      this.#worker = undefined
      const cause = this.#workerError ?? new Error(`the SQLite thread exited with code ${code}`)
      const pending = [...this.#pending.values()]
      this.#pending.clear()
      for (const call of pending) call.reject(this.#failure(call, cause))
    })
    return worker
  }

  #settle(reply: Reply): void {
    const call = this.#pending.get(reply.id)
    if (call === undefined) return
    this.#pending.delete(reply.id)
    if (this.#pending.size === 0) this.#worker?.unref()
    if (reply.error === undefined) {
      call.resolve(reply)
      return
    }
    const cause = Object.assign(new Error(reply.error.message), { name: reply.error.name, code: reply.error.code, stack: reply.error.stack })
    call.reject(this.#failure(call, cause))
  }

  #failure(call: Pending, cause: unknown): KvsyncError {
    return new KvsyncError('STORAGE_FAILED', `cannot ${call.action} ${JSON.stringify(call.doc)} in ${this.path}`, { cause })
  }

  #assertOpen(): void {
    if (this.#closing !== undefined) throw new KvsyncError('STORE_CLOSED', `SQLite storage ${this.path} is closed`)
  }
}


function describeError(error: unknown): NonNullable<Reply['error']> {
  if (error instanceof Error) return { name: error.name, message: error.message, code: undefined, stack: error.stack }
  return { name: 'Error', message: String(error), code: undefined, stack: undefined }
}
