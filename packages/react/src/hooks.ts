import { KvsyncError, type KvSetOptions, type KvValue, type Store } from '@kvsync/browser'
import { useCallback, useContext, useMemo, useRef, useSyncExternalStore } from 'react'
import { KvsyncContext, findFrame } from './context.js'
import { NOT_READY, entriesSource, syncSource, valueSource, type ExternalSource, type SyncState } from './sources.js'

/** Which store a hook reads. */
export interface StoreOption {
  /**
   * A store name, to use the nearest {@link KvsyncProvider} of that store (providers nest), or
   * a `Store` object, to use without any provider. Default: the nearest provider's store.
   */
  store?: string | Store
}

/** Options of {@link useValue}. */
export interface UseValueOptions<T> extends StoreOption {
  /** Returned while the key has no value (also while loading and during SSR). Default `undefined`. */
  defaultValue?: T
}

/**
 * Writes a key, as returned by {@link useValue}. Takes the new value, or a function of the
 * current one (read from the store at call time, so several updates in one event compose), or
 * `undefined` to delete the key. Returns the store's promise: it resolves once the write is
 * durable locally (IndexedDB), and rejects if saving fails, or with `STORE_CLOSED` when the
 * store is not open (still loading, failed, unmounted). An invalid value throws a `KvsyncError`
 * (`INVALID_VALUE`, `VALUE_TOO_LARGE`) synchronously and writes nothing, as `Store.set` does.
 */
export type SetValue<T, Current = T | undefined> = (
  next: T | undefined | ((current: Current) => T | undefined),
  options?: KvSetOptions,
) => Promise<void>

/**
 * The store a hook should use: the one given in options, or a provider's. `undefined` while
 * that provider is still opening it, after it failed, and during a server render.
 *
 * @example
 * ```tsx
 * function ClearButton() {
 *   const store = useStore()
 *   return <button disabled={!store} onClick={() => store?.transact(() => store.keys().forEach((k) => void store.delete(k)))}>Clear</button>
 * }
 * ```
 */
export function useStore(name?: string | Store): Store | undefined {
  const frame = useContext(KvsyncContext)
  if (typeof name === 'object') return name
  return findFrame(frame, name).store
}

const emptySubscribe = (): (() => void) => () => {}

/**
 * Subscribes to `source` (rebuilt when `deps` change) with `useSyncExternalStore`, or returns
 * `initial` while there is no store. The server snapshot is always `initial`: a server render
 * (and hydration) shows the same thing whatever the client has stored locally.
 */
function useSource<S>(store: Store | undefined, make: (store: Store) => ExternalSource<S>, deps: readonly unknown[], initial: S): S {
  // `make` is a fresh closure each render; `deps` lists what it captures besides the store.
  const source = useMemo(() => (store === undefined ? undefined : make(store)), [store, ...deps])
  const getInitial = useCallback(() => initial, [initial])
  return useSyncExternalStore(source?.subscribe ?? emptySubscribe, source?.getSnapshot ?? getInitial, getInitial)
}

function notOpen(): Promise<never> {
  return Promise.reject(new KvsyncError('STORE_CLOSED', 'the store is not open (still loading, failed to open, or closed)'))
}

/**
 * The value of `key` and a setter, like `useState` but shared: the value is the store's
 * (local and synced from other devices), and the component re-renders only when this key's
 * value changes (an equal value written again keeps the same object). The setter is stable.
 *
 * @typeParam T - the value's type, as the application stores it (not checked at run time)
 * @example
 * ```tsx
 * type Theme = 'light' | 'dark' | 'system'
 * function ThemePicker() {
 *   const [theme, setTheme] = useValue<Theme>('theme', { defaultValue: 'system' })
 *   return <select value={theme} onChange={(e) => void setTheme(e.target.value as Theme)}>…</select>
 * }
 * ```
 */
export function useValue<T = KvValue>(key: string, options: UseValueOptions<T> & { defaultValue: T }): [T, SetValue<T, T>]
export function useValue<T = KvValue>(key: string, options?: UseValueOptions<T>): [T | undefined, SetValue<T>]
export function useValue<T = KvValue>(key: string, options: UseValueOptions<T> = {}): [T | undefined, SetValue<T>] {
  const store = useStore(options.store)
  const stored = useSource<KvValue | undefined>(store, (s) => valueSource(s, key), [key], undefined) as T | undefined
  const defaultValue = useRef(options.defaultValue)
  defaultValue.current = options.defaultValue
  const setValue = useCallback<SetValue<T>>(
    (next, setOptions) => {
      if (store === undefined) return notOpen()
      let value: T | undefined
      if (typeof next === 'function') {
        let current: T | undefined
        try {
          current = store.get(key) as T | undefined
        } catch {
          return notOpen()
        }
        value = (next as (current: T | undefined) => T | undefined)(current === undefined ? defaultValue.current : current)
      } else {
        value = next
      }
      try {
        return value === undefined ? store.delete(key) : store.set(key, value as KvValue, setOptions)
      } catch (error) {
        if (error instanceof KvsyncError && error.code === 'STORE_CLOSED') return notOpen()
        throw error
      }
    },
    [store, key],
  )
  return [stored === undefined ? options.defaultValue : stored, setValue]
}

/** Options of {@link useEntries}. */
export interface UseEntriesOptions extends StoreOption {
  /** Only keys starting with this string. Default `''` (every key). */
  prefix?: string
}

const NO_ENTRIES: ReadonlyArray<readonly [string, never]> = Object.freeze([])

/**
 * `[key, value]` pairs of the keys under `prefix`, sorted by key. The component re-renders only
 * when a key under the prefix changes; the array, and each unchanged pair and value, keep their
 * references across renders (so `React.memo` rows skip re-rendering). Empty while loading and
 * during SSR.
 *
 * @typeParam T - the values' type, as the application stores them (not checked at run time)
 * @example
 * ```tsx
 * function TodoList() {
 *   const todos = useEntries<Todo>({ prefix: 'todo/' })
 *   return <ul>{todos.map(([key, todo]) => <TodoRow key={key} id={key} todo={todo} />)}</ul>
 * }
 * ```
 */
export function useEntries<T = KvValue>(options: UseEntriesOptions = {}): ReadonlyArray<readonly [string, T]> {
  const store = useStore(options.store)
  const prefix = options.prefix ?? ''
  return useSource(store, (s) => entriesSource(s, prefix), [prefix], NO_ENTRIES) as unknown as ReadonlyArray<readonly [string, T]>
}

/**
 * The store's sync status (`offline`, `connecting`, `syncing`, `synced`) and how many of this
 * client's writes the server has not yet confirmed as durable. Re-renders only when one of
 * them changes.
 *
 * @example
 * ```tsx
 * function SyncBadge() {
 *   const { status, unsavedWrites } = useSyncStatus()
 *   return <span>{status === 'synced' && unsavedWrites === 0 ? 'Saved on server' : status}</span>
 * }
 * ```
 */
export function useSyncStatus(options: StoreOption = {}): SyncState {
  const store = useStore(options.store)
  return useSource(store, syncSource, [], NOT_READY)
}
