// @ts-check
// The thread that owns the SQLite connection of a `SqliteDocStorage` (sqlite.ts). better-sqlite3
// is synchronous: a commit with synchronous=FULL waits for fsync, and on the main thread every
// broadcast queued behind it waited too. Here it blocks only this thread.
//
// Plain JavaScript on purpose: a Worker cannot load TypeScript, and this file has to run both
// from src/ (tests resolve workspace packages to their sources) and from dist/ (tsc copies it
// there, `allowJs`). It imports nothing from the workspace, only its sibling sqlite-schema.mjs.
//
// Protocol (one message at a time, handled in arrival order, so calls keep their order):
//   request  { id, op, doc?, docs?, sizes?, bytes?, replacedCount? }
//   reply    { id, result? , bytes?, sizes? }  or  { id, error: { name, message, code, stack } }
// Update bytes travel packed in one ArrayBuffer (`bytes`, with `sizes`), moved in the transfer
// list, never cloned per update.
import { parentPort, workerData } from 'node:worker_threads'
import Database from 'better-sqlite3'
import { SCHEMA } from './sqlite-schema.mjs'

/** @typedef {{ id: number, op: string, doc?: string, docs?: string[], sizes?: number[], bytes?: ArrayBuffer, replacedCount?: number }} Request */

const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort)
const { path, synchronous } = /** @type {{ path: string, synchronous: 'full' | 'normal' }} */ (workerData)

/** @type {Database.Database | undefined} */
let db
/** @type {ReturnType<typeof open> | undefined} */
let api
/** @type {unknown} */
let openError

try {
  api = open()
} catch (error) {
  // Reported with the first request, so the caller gets STORAGE_FAILED with this cause.
  openError = error
  db?.close()
  db = undefined
}

port.on('message', (/** @type {Request} */ request) => {
  try {
    if (request.op === 'close') {
      db?.close()
      db = undefined
      api = undefined
      port.postMessage({ id: request.id })
      return
    }
    if (api === undefined) throw openError ?? new Error(`SQLite database ${path} is closed`)
    handle(api, request)
  } catch (error) {
    port.postMessage({ id: request.id, error: describe(error) })
  }
})

function open() {
  const database = (db = new Database(path))
  database.pragma('journal_mode = WAL')
  database.pragma(`synchronous = ${synchronous === 'normal' ? 'NORMAL' : 'FULL'}`)
  // Another process (a second server on the same directory) waits instead of failing at once.
  database.pragma('busy_timeout = 5000')
  // SQLite's own default page cache (2 MB; better-sqlite3 builds SQLite with 16 MB). Stores
  // live in memory once loaded and writes are appends, so a bigger cache mostly keeps pages
  // nobody reads again: at 1,000 stores × 100 keys (bench S3) it held ~3.6 MiB of RSS, also
  // after every client left; S2's CPU per write and ack latency did not move (within noise).
  database.pragma('cache_size = -2000')
  database.exec(SCHEMA)
  const statements = {
    load: database.prepare('SELECT data FROM updates WHERE doc = ? ORDER BY seq').pluck(),
    append: database.prepare('INSERT INTO updates (doc, seq, data) SELECT ?, COALESCE(MAX(seq), 0) + 1, ? FROM updates WHERE doc = ?'),
    insert: database.prepare('INSERT INTO updates (doc, seq, data) VALUES (?, ?, ?)'),
    nthSeq: database.prepare('SELECT seq FROM updates WHERE doc = ? ORDER BY seq LIMIT 1 OFFSET ?').pluck(),
    minSeq: database.prepare('SELECT MIN(seq) FROM updates WHERE doc = ?').pluck(),
    maxSeq: database.prepare('SELECT MAX(seq) FROM updates WHERE doc = ?').pluck(),
    deleteUpTo: database.prepare('DELETE FROM updates WHERE doc = ? AND seq <= ?'),
    list: database.prepare('SELECT DISTINCT doc FROM updates').pluck(),
    delete: database.prepare('DELETE FROM updates WHERE doc = ?'),
  }
  const append = database.transaction((/** @type {string[]} */ docs, /** @type {Buffer[]} */ updates) => {
    for (let i = 0; i < docs.length; i++) statements.append.run(docs[i], updates[i], docs[i])
  })
  const compact = database.transaction((/** @type {string} */ doc, /** @type {Buffer} */ merged, /** @type {number} */ replacedCount) => {
    if (replacedCount <= 0) {
      // Nothing replaced: the snapshot goes before every stored row.
      const first = /** @type {number | null} */ (statements.minSeq.get(doc))
      statements.insert.run(doc, (first ?? 1) - 1, merged)
      return
    }
    // With fewer rows than replacedCount, every row is replaced (see the DocStorage contract).
    const lastReplaced =
      /** @type {number | undefined} */ (statements.nthSeq.get(doc, replacedCount - 1)) ?? /** @type {number | null} */ (statements.maxSeq.get(doc))
    if (lastReplaced === null) {
      statements.insert.run(doc, 1, merged)
      return
    }
    statements.deleteUpTo.run(doc, lastReplaced)
    // Reusing the last replaced sequence number keeps the snapshot before the kept rows.
    statements.insert.run(doc, lastReplaced, merged)
  })
  return { statements, append, compact }
}

/**
 * @param {NonNullable<typeof api>} sqlite
 * @param {Request} request
 */
function handle(sqlite, request) {
  const { id } = request
  switch (request.op) {
    case 'load': {
      const rows = /** @type {Buffer[]} */ (sqlite.statements.load.all(request.doc))
      const packed = pack(rows)
      port.postMessage({ id, bytes: packed.bytes, sizes: packed.sizes }, [packed.bytes])
      return
    }
    case 'append': {
      // Views into the transferred buffer: better-sqlite3 copies bound blobs.
      sqlite.append(/** @type {string[]} */ (request.docs), unpack(/** @type {ArrayBuffer} */ (request.bytes), /** @type {number[]} */ (request.sizes)))
      port.postMessage({ id })
      return
    }
    case 'compact': {
      const merged = Buffer.from(/** @type {ArrayBuffer} */ (request.bytes))
      sqlite.compact(/** @type {string} */ (request.doc), merged, /** @type {number} */ (request.replacedCount))
      port.postMessage({ id })
      return
    }
    case 'list':
      port.postMessage({ id, result: sqlite.statements.list.all() })
      return
    case 'delete':
      sqlite.statements.delete.run(request.doc)
      port.postMessage({ id })
      return
    default:
      throw new Error(`unknown SQLite worker request ${JSON.stringify(request.op)}`)
  }
}

/** @param {Buffer[]} rows */
function pack(rows) {
  let total = 0
  for (const row of rows) total += row.byteLength
  const target = new Uint8Array(total)
  const sizes = new Array(rows.length)
  let offset = 0
  for (let i = 0; i < rows.length; i++) {
    const row = /** @type {Buffer} */ (rows[i])
    target.set(row, offset)
    offset += row.byteLength
    sizes[i] = row.byteLength
  }
  return { bytes: target.buffer, sizes }
}

/**
 * @param {ArrayBuffer} bytes
 * @param {number[]} sizes
 */
function unpack(bytes, sizes) {
  const views = new Array(sizes.length)
  let offset = 0
  for (let i = 0; i < sizes.length; i++) {
    const size = /** @type {number} */ (sizes[i])
    views[i] = Buffer.from(bytes, offset, size)
    offset += size
  }
  return views
}

/** The driver's error as plain data; the main thread rebuilds it as the `cause`. */
function describe(/** @type {unknown} */ error) {
  if (error instanceof Error) {
    const code = /** @type {{ code?: unknown }} */ (error).code
    return { name: error.name, message: error.message, code: typeof code === 'string' ? code : undefined, stack: error.stack }
  }
  return { name: 'Error', message: String(error), code: undefined, stack: undefined }
}
