import { PerformanceObserver } from 'node:perf_hooks'

/** Calls `listener` after each garbage collection until the returned function is called. */
export type GcWatcher = (listener: () => void) => () => void

/** Options of {@link FreedMemoryTrimmer}. */
export interface FreedMemoryTrimmerOptions {
  /** Gives the C allocator's free pages back to the system (see `loadMallocTrim`). */
  readonly trim: () => boolean
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
 * RSS for good (measured in bench S3: 20% of the growth returned after every client left;
 * with trims 86%).
 *
 * When: the bytes of a dropped document are released by the garbage collection that finds
 * them, which V8 runs when it likes, up to seconds later. So a note arms the trimmer for
 * `armedForMs`; while armed, each garbage collection (and a timer, for what is freed without
 * one: SQLite's pages, sockets) asks for a trim, at most one per `minIntervalMs`. A trim costs
 * about 0.2 ms when there is nothing to give back and about 35 ms per 500 MiB given back;
 * while nothing was noted, nothing runs — not even the GC observer.
 */
export class FreedMemoryTrimmer {
  readonly #trim: () => boolean
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
    if (this.#timer !== undefined) return
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
