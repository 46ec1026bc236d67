import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { KvsyncError } from '@kvsync/shared'
import type { DocStorage, DocStorageEntry } from '@kvsync/shared'

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
}

/**
 * The default {@link DocStorage}: one SQLite file, `kvsync.db`, in `dataDir`, written through
 * better-sqlite3 in WAL mode. Each update is one row; `appendUpdates` commits a whole batch in
 * one transaction (one fsync).
 *
 * better-sqlite3 is synchronous, so calls block the event loop for the duration of a commit;
 * batching keeps the number of commits small.
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
  readonly #db: Database.Database
  readonly #statements: ReturnType<typeof prepareStatements>
  readonly #appendBatch: (batch: ReadonlyArray<DocStorageEntry>) => void
  readonly #compact: (doc: string, merged: Buffer, replacedCount: number) => void
  #closed = false

  /** Opens (or creates) the database; throws a `KvsyncError` `STORAGE_FAILED` when it cannot. */
  constructor(options: SqliteDocStorageOptions) {
    this.path = join(options.dataDir, SQLITE_FILE_NAME)
    try {
      mkdirSync(options.dataDir, { recursive: true })
      this.#db = new Database(this.path)
    } catch (cause) {
      throw new KvsyncError('STORAGE_FAILED', `cannot open SQLite database ${this.path}`, { cause })
    }
    try {
      this.#db.pragma('journal_mode = WAL')
      this.#db.pragma(`synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`)
      // Another process (a second server on the same directory) waits instead of failing at once.
      this.#db.pragma('busy_timeout = 5000')
      this.#db.exec(SCHEMA)
      this.#statements = prepareStatements(this.#db)
    } catch (cause) {
      this.#db.close()
      throw new KvsyncError('STORAGE_FAILED', `cannot initialise SQLite database ${this.path}`, { cause })
    }
    const statements = this.#statements
    this.#appendBatch = this.#db.transaction((batch: ReadonlyArray<DocStorageEntry>) => {
      for (const { doc, update } of batch) statements.append.run(doc, asBuffer(update), doc)
    })
    this.#compact = this.#db.transaction((doc: string, merged: Buffer, replacedCount: number) => {
      if (replacedCount <= 0) {
        // Nothing replaced: the snapshot goes before every stored row.
        const first = statements.minSeq.get(doc) as number | null
        statements.insert.run(doc, (first ?? 1) - 1, merged)
        return
      }
      // With fewer rows than replacedCount, every row is replaced (see the DocStorage contract).
      const lastReplaced = (statements.nthSeq.get(doc, replacedCount - 1) as number | undefined) ?? (statements.maxSeq.get(doc) as number | null)
      if (lastReplaced === null) {
        statements.insert.run(doc, 1, merged)
        return
      }
      statements.deleteUpTo.run(doc, lastReplaced)
      // Reusing the last replaced sequence number keeps the snapshot before the kept rows.
      statements.insert.run(doc, lastReplaced, merged)
    })
  }

  async loadUpdates(doc: string): Promise<Uint8Array[]> {
    this.#assertOpen()
    const rows = this.#run('load', doc, () => this.#statements.load.all(doc) as Buffer[])
    return rows.map((row) => new Uint8Array(row.buffer, row.byteOffset, row.byteLength))
  }

  async appendUpdate(doc: string, update: Uint8Array): Promise<void> {
    this.#assertOpen()
    this.#run('append to', doc, () => this.#statements.append.run(doc, asBuffer(update), doc))
  }

  async appendUpdates(batch: ReadonlyArray<DocStorageEntry>): Promise<void> {
    this.#assertOpen()
    if (batch.length === 0) return
    this.#run('append a batch to', batch[0]?.doc ?? '', () => this.#appendBatch(batch))
  }

  async compact(doc: string, merged: Uint8Array, replacedCount: number): Promise<void> {
    this.#assertOpen()
    this.#run('compact', doc, () => this.#compact(doc, asBuffer(merged), replacedCount))
  }

  async listDocs(): Promise<string[]> {
    this.#assertOpen()
    return this.#run('list', '', () => this.#statements.list.all() as string[])
  }

  async deleteDoc(doc: string): Promise<void> {
    this.#assertOpen()
    this.#run('delete', doc, () => this.#statements.delete.run(doc))
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#db.close()
  }

  #run<T>(action: string, doc: string, body: () => T): T {
    try {
      return body()
    } catch (cause) {
      throw new KvsyncError('STORAGE_FAILED', `cannot ${action} ${JSON.stringify(doc)} in ${this.path}`, { cause })
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new KvsyncError('STORE_CLOSED', `SQLite storage ${this.path} is closed`)
  }
}

// `seq` orders the updates of one document. WITHOUT ROWID clusters rows by (doc, seq), so a
// document's updates are read in one range scan. Equality on `doc` keeps `a` and `a/b` apart.
const SCHEMA = `
CREATE TABLE IF NOT EXISTS updates (
  doc TEXT NOT NULL,
  seq INTEGER NOT NULL,
  data BLOB NOT NULL,
  PRIMARY KEY (doc, seq)
) WITHOUT ROWID;
`

function prepareStatements(db: Database.Database) {
  return {
    load: db.prepare('SELECT data FROM updates WHERE doc = ? ORDER BY seq').pluck(),
    append: db.prepare('INSERT INTO updates (doc, seq, data) SELECT ?, COALESCE(MAX(seq), 0) + 1, ? FROM updates WHERE doc = ?'),
    insert: db.prepare('INSERT INTO updates (doc, seq, data) VALUES (?, ?, ?)'),
    nthSeq: db.prepare('SELECT seq FROM updates WHERE doc = ? ORDER BY seq LIMIT 1 OFFSET ?').pluck(),
    minSeq: db.prepare('SELECT MIN(seq) FROM updates WHERE doc = ?').pluck(),
    maxSeq: db.prepare('SELECT MAX(seq) FROM updates WHERE doc = ?').pluck(),
    deleteUpTo: db.prepare('DELETE FROM updates WHERE doc = ? AND seq <= ?'),
    list: db.prepare('SELECT DISTINCT doc FROM updates').pluck(),
    delete: db.prepare('DELETE FROM updates WHERE doc = ?'),
  }
}

/** better-sqlite3 binds only Buffers as blobs; this is a view, not a copy (the driver copies). */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}
