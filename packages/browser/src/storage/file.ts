/// <reference types="node" />
import { constants } from 'node:fs'
import { open, readFile, rename, rm, writeFile, type FileHandle } from 'node:fs/promises'
import { dirname } from 'node:path'
import { crc32 } from 'node:zlib'
import { KvsyncError, isV2Update, storedUpdateBytes, type StoredUpdate } from '@kvsync/shared'
import { LogSize } from './log-size.js'
import type { CompactPlan, LocalPersistence } from './types.js'

/*
 * File layout (little-endian):
 *
 * | field   | size      | notes                                                   |
 * | ------- | --------- | ------------------------------------------------------- |
 * | magic   | 4 bytes   | "KVSF"                                                  |
 * | version | uint8     | FILE_FORMAT_VERSION                                     |
 * | records | …         | each: uint32 length, uint32 CRC-32 of the bytes, uint8  |
 * |         |           | Yjs format (1 or 2; version 1 files: no byte, always 2), |
 * |         |           | the bytes                                               |
 *
 * Each record is one Yjs update: appends V1, snapshots V2 (see `StoredUpdate`; version 1 files
 * are re-framed as version 2 by their first open); a compaction leaves one record, the
 * snapshot. Appends are
 * written and fsynced before their promise resolves. A crash can leave at most the last record
 * torn (short, or with a wrong checksum where it ends the file): it is dropped on open, because
 * its append never resolved. A bad record followed by more data is corruption, not a torn
 * write: the file is refused (CORRUPT_DATA) and left as is.
 */

/**
 * Version of the file layout; a file of a newer version is refused, never rewritten.
 * 1: every record is a Yjs V2 update. 2: each record says its format (appends are V1, the
 * encoding the sync connection sends, so each transaction is encoded once).
 */
export const FILE_FORMAT_VERSION = 2
/** The version whose records have no format byte (all Yjs V2). */
const UNTAGGED_VERSION = 1
const MAGIC = Buffer.from('KVSF')
const HEADER_BYTES = MAGIC.length + 1

function header(): Buffer {
  return Buffer.concat([MAGIC, Buffer.from([FILE_FORMAT_VERSION])])
}

function record(update: StoredUpdate): Buffer {
  const bytes = storedUpdateBytes(update)
  const head = Buffer.alloc(9)
  head.writeUInt32LE(bytes.byteLength, 0)
  head.writeUInt32LE(crc32(bytes), 4)
  head.writeUInt8(isV2Update(update) ? 2 : 1, 8)
  return Buffer.concat([head, bytes])
}

function fileError(error: unknown, action: string, path: string): KvsyncError {
  if (error instanceof KvsyncError) return error
  const code = (error as { code?: unknown } | null)?.code
  if (code === 'ENOSPC' || code === 'EDQUOT') return new KvsyncError('QUOTA_EXCEEDED', `no space left while ${action} ${path}`, { cause: error })
  return new KvsyncError('PERSISTENCE_FAILED', `failed while ${action} ${path}`, { cause: error })
}

/** Parses a store file: its updates, and how many bytes of it are intact (a torn tail excluded). */
function parse(bytes: Buffer, path: string): { updates: StoredUpdate[]; intact: number; version: number } {
  if (bytes.length === 0) return { updates: [], intact: 0, version: FILE_FORMAT_VERSION }
  if (bytes.length < HEADER_BYTES || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new KvsyncError('CORRUPT_DATA', `${path} is not a kvsync store file; it was left as is`)
  }
  const version = bytes[MAGIC.length]!
  if (version > FILE_FORMAT_VERSION) {
    throw new KvsyncError('UNSUPPORTED_FORMAT', `${path} uses file format ${version}, newer than ${FILE_FORMAT_VERSION}; upgrade kvsync to open it`)
  }
  const updates: StoredUpdate[] = []
  const recordHeader = version === UNTAGGED_VERSION ? 8 : 9
  let at = HEADER_BYTES
  while (at < bytes.length) {
    if (at + recordHeader > bytes.length) break // torn record header at the end
    const length = bytes.readUInt32LE(at)
    const checksum = bytes.readUInt32LE(at + 4)
    const format = version === UNTAGGED_VERSION ? 2 : bytes[at + 8]!
    const end = at + recordHeader + length
    if (end > bytes.length) break // torn record body at the end
    const update = bytes.subarray(at + recordHeader, end)
    if (crc32(update) !== checksum) {
      if (end === bytes.length) break // the last record, torn in place
      throw new KvsyncError('CORRUPT_DATA', `${path} has a damaged record at byte ${at} followed by more data; it was left as is`)
    }
    if (format !== 1 && format !== 2) throw new KvsyncError('CORRUPT_DATA', `${path} has a record of unknown format ${format} at byte ${at}; it was left as is`)
    const copy = new Uint8Array(update)
    updates.push(format === 1 ? copy : { v2: copy })
    at = end
  }
  return { updates, intact: at, version }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as { code?: unknown }).code === 'EPERM'
  }
}

/** Takes `lockPath` for this process (exclusive create), replacing a lock left by a dead process. */
async function acquireLock(lockPath: string, path: string): Promise<void> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(lockPath, String(process.pid), { flag: 'wx' })
      return
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'EEXIST') throw fileError(error, 'locking', path)
    }
    const owner = Number.parseInt(await readFile(lockPath, 'utf8').catch(() => ''), 10)
    if (Number.isInteger(owner) && owner > 0 && processAlive(owner)) {
      throw new KvsyncError('STORE_LOCKED', `${path} is in use by process ${owner} (lock file ${lockPath}); one process at a time may open a store file`)
    }
    // The owner died without closing: its lock is stale.
    await rm(lockPath, { force: true })
  }
  throw new KvsyncError('PERSISTENCE_FAILED', `could not lock ${path} (${lockPath})`)
}

/**
 * Replaces the file at `path` by one holding `updates`, atomically: written to `<path>.tmp`,
 * fsynced, renamed over it (and the rename made durable). A crash leaves the old or the new file.
 */
async function replaceFile(path: string, updates: readonly StoredUpdate[]): Promise<void> {
  const temporary = `${path}.tmp`
  try {
    const file = await open(temporary, 'w')
    try {
      await file.write(Buffer.concat([header(), ...updates.map(record)]))
      await file.sync()
    } finally {
      await file.close()
    }
    await rename(temporary, path)
    await syncDirectory(path)
  } catch (error) {
    await rm(temporary, { force: true })
    throw error
  }
}

async function syncDirectory(path: string): Promise<void> {
  // Makes a rename durable (POSIX: the directory entry lives in the directory's data).
  const directory = await open(dirname(path), constants.O_RDONLY).catch(() => undefined)
  if (directory === undefined) return
  try {
    await directory.sync()
  } catch {
    // Some file systems refuse fsync on directories; the rename itself is still atomic.
  } finally {
    await directory.close()
  }
}

/**
 * Persists a store in one append-only file (Node): each commit appends its updates and fsyncs;
 * compaction writes a snapshot to `<path>.tmp`, fsyncs it and renames it over the file
 * (atomic), so a crash at any point leaves either the old or the new file. A lock file
 * (`<path>.lock`, holding the owner's pid) keeps a second process (or a second open in this
 * process) out; a lock left by a dead process is taken over.
 *
 * @example
 * ```ts
 * import { openStore } from '@kvsync/browser'
 * import { FilePersistence } from '@kvsync/browser/node'
 * const store = await openStore('config/prod', { persistence: await FilePersistence.open('./config.kvsync') })
 * ```
 */
export class FilePersistence implements LocalPersistence {
  readonly size = new LogSize()
  private closed = false
  /** Serializes appends and compactions, so a compaction is ordered after earlier appends. */
  private queue: Promise<unknown> = Promise.resolve()

  private constructor(
    readonly path: string,
    private handle: FileHandle,
    private readonly updates: StoredUpdate[],
  ) {
    this.size.loaded(updates)
  }

  /** Opens (creating if needed) the store file at `path`, locking it for this process. */
  static async open(path: string): Promise<FilePersistence> {
    const lockPath = `${path}.lock`
    await acquireLock(lockPath, path)
    try {
      // A compaction that crashed before its rename leaves a partial temp file: never used.
      await rm(`${path}.tmp`, { force: true })
      const bytes = await readFile(path).catch((error: unknown) => {
        if ((error as { code?: unknown }).code === 'ENOENT') return Buffer.alloc(0)
        throw fileError(error, 'reading', path)
      })
      const { updates, intact, version } = parse(bytes, path)
      // A version-1 file is re-framed (its records marked V2) before anything is appended to it.
      if (bytes.length > 0 && version === UNTAGGED_VERSION) await replaceFile(path, updates)
      const handle = await open(path, 'a+')
      if (bytes.length === 0) {
        await handle.write(header())
        await handle.sync()
      } else if (intact < bytes.length && version !== UNTAGGED_VERSION) {
        // Drop the torn tail so that the next append follows the last intact record.
        await handle.truncate(intact)
        await handle.sync()
      }
      return new FilePersistence(path, handle, updates)
    } catch (error) {
      await rm(lockPath, { force: true })
      throw fileError(error, 'opening', path)
    }
  }

  async load(): Promise<StoredUpdate[]> {
    return this.updates.splice(0)
  }

  append(updates: readonly Uint8Array[]): Promise<readonly number[]> {
    return this.serialized(async () => {
      if (updates.length === 0) return []
      try {
        await this.handle.write(Buffer.concat(updates.map(record)))
        await this.handle.sync()
        this.size.appended(updates)
        return []
      } catch (error) {
        throw fileError(error, 'appending to', this.path)
      }
    })
  }

  compact(plan: CompactPlan): Promise<undefined> {
    return this.serialized(async () => {
      try {
        const snapshot = plan.snapshot()
        await replaceFile(this.path, [{ v2: snapshot }])
        // The old handle points at the replaced file; appends must go to the new one.
        await this.handle.close()
        this.handle = await open(this.path, 'a+')
        this.size.compacted(snapshot)
        return undefined
      } catch (error) {
        throw fileError(error, 'compacting', this.path)
      }
    })
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.queue.catch(() => {})
    await this.handle.close()
    await rm(`${this.path}.lock`, { force: true })
  }

  async destroy(): Promise<void> {
    await this.close()
    await rm(this.path, { force: true })
  }

  private serialized<T>(work: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new KvsyncError('STORE_CLOSED', `${this.path} is closed`))
    const result = this.queue.then(work, work)
    this.queue = result.catch(() => {})
    return result
  }
}
