import { PerformanceObserver } from 'node:perf_hooks'
import type { Logger } from '../logger.js'
import { isGlibc, loadMallocTrim } from './malloc-trim.js'

/** Calls `listener` after each garbage collection until the returned function is called. */
export type GcWatcher = (listener: () => void) => () => void

/** Options of {@link FreedMemoryTrimmer}. */
export interface FreedMemoryTrimmerOptions {
  /** Gives the C allocator's free pages back to the system (see `loadMallocTrim`). */
  readonly trim: () => void
  /** Default: a `PerformanceObserver` of `gc` entries. */
  readonly watchGc?: GcWatcher
  /** Least time between two trims. Default 1 s. */
  readonly minIntervalMs?: number
  /** How long after the last {@link FreedMemoryTrimmer.noteFreed} garbage collections still trigger a trim. Default 60 s. */
  readonly armedForMs?: number
  /** Default `performance.now`. */
  readonly now?: () => number
}

/**
 * Gives memory back to the system after the server freed some. glibc returns a heap's memory
 * only from its top, and what unloaded stores free (encoded states, socket buffers, SQLite
 * pages) lies between allocations that stay, so without a trim the process keeps its peak
 * RSS for good (bench S3: 20% of the growth returned 10 s after every client left; 77% with
 * this trimmer).
 *
 * When: the bytes of a dropped document are released by the garbage collection that finds
 * them, which V8 runs when it likes, up to seconds later. So a note trims at once (for what is
 * freed without a collection: SQLite's pages, sockets) and arms the trimmer for `armedForMs`;
 * while armed, each garbage collection asks for a trim, at most one per `minIntervalMs`. A
 * trim costs about 0.2 ms when there is nothing to give back and about 35 ms per 500 MiB given
 * back. Until the first note nothing runs, not even the GC observer; it is detached at the
 * first collection after the window (a timer to detach it sooner would cost more than the
 * idle observer, which only wakes when V8 collects anyway). `malloc_trim` is process-wide:
 * several servers in one process each trim, which is harmless.
 */
export class FreedMemoryTrimmer {
  readonly #trim: () => void
  readonly #watchGc: GcWatcher
  readonly #minIntervalMs: number
  readonly #armedForMs: number
  readonly #now: () => number
  #armedUntil = -Infinity
  #lastTrimAt = -Infinity
  #stopWatching: (() => void) | undefined
  #timer: NodeJS.Timeout | undefined
  #trims = 0
  #closed = false

  constructor(options: FreedMemoryTrimmerOptions) {
    this.#trim = options.trim
    this.#watchGc = options.watchGc ?? watchGarbageCollections
    this.#minIntervalMs = options.minIntervalMs ?? 1_000
    this.#armedForMs = options.armedForMs ?? 60_000
    this.#now = options.now ?? (() => performance.now())
  }

  /** Number of trims so far. */
  get trims(): number {
    return this.#trims
  }

  /** Some memory was let go of (documents unloaded or hibernated); trims follow. */
  noteFreed(): void {
    if (this.#closed) return
    this.#armedUntil = this.#now() + this.#armedForMs
    this.#stopWatching ??= this.#watchGc(() => this.#requestTrim())
    this.#requestTrim()
  }

  /** Stops watching and cancels a pending trim. */
  close(): void {
    this.#closed = true
    this.#disarm()
  }

  #requestTrim(): void {
    if (this.#timer !== undefined || this.#closed) return
    const now = this.#now()
    if (now > this.#armedUntil) {
      this.#disarm()
      return
    }
    // Never inside the GC callback itself, and never more often than minIntervalMs.
    const wait = Math.max(0, this.#lastTrimAt + this.#minIntervalMs - now)
    this.#timer = setTimeout(() => this.#runTrim(), wait)
    this.#timer.unref()
  }

  #runTrim(): void {
    this.#timer = undefined
    this.#lastTrimAt = this.#now()
    this.#trims++
    this.#trim()
  }

  #disarm(): void {
    this.#stopWatching?.()
    this.#stopWatching = undefined
    clearTimeout(this.#timer)
    this.#timer = undefined
  }
}

function watchGarbageCollections(listener: () => void): () => void {
  const observer = new PerformanceObserver(() => listener())
  observer.observe({ entryTypes: ['gc'] })
  return () => observer.disconnect()
}

/**
 * The server's trimmer, or `undefined` (with one line saying why) where `malloc_trim` cannot
 * work. `onTrim` is told of each call (the metric).
 */
export function createFreedMemoryTrimmer(logger: Logger, onTrim: () => void): FreedMemoryTrimmer | undefined {
  const mallocTrim = loadMallocTrim()
  if (mallocTrim.trim === undefined) {
    const line = 'freed memory is not given back to the system'
    // An info line only where the trim was expected to work: on glibc, the helper is missing.
    if (isGlibc()) logger.info(line, { reason: mallocTrim.unavailable })
    else logger.debug(line, { reason: mallocTrim.unavailable })
    return undefined
  }
  const { trim } = mallocTrim
  return new FreedMemoryTrimmer({
    trim: () => {
      onTrim()
      trim()
    },
  })
}
