import { KvsyncError, isKvsyncError, openStore, type OpenStoreOptions, type Store } from '@kvsync/browser'
import { useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react'
import { KvsyncContext, type ProviderFrame } from './context.js'

interface CommonProps {
  children?: ReactNode
  /**
   * Rendered instead of `children` while the store is opening. Default: render `children` at
   * once; their hooks return `undefined` (or their default) until the store is open, which is
   * also what a server render shows.
   */
  fallback?: ReactNode
  /**
   * Rendered instead of `children` when the store cannot be opened. A function gets the error
   * and a `retry` callback. Default: render `children`, which can read the error with
   * {@link useKvsync}.
   */
  errorFallback?: ReactNode | ((error: KvsyncError, retry: () => void) => ReactNode)
  /**
   * Called with errors no promise carries (failed background saves, server errors such as
   * `UNAUTHORIZED`, malformed entries; see `Store.onError`) and with a failure to open. Without
   * it the store logs them with `console.warn`.
   */
  onError?: (error: KvsyncError) => void
}

/** Props of a provider for a store the application opened (and will close) itself. */
export interface KvsyncStoreProviderProps extends CommonProps {
  /** An open store. The provider never closes it. */
  store: Store
  name?: never
  options?: never
}

/** Props of a provider that opens store `name` on mount and closes it on unmount. */
export interface KvsyncNamedProviderProps extends CommonProps {
  /**
   * The store to open (e.g. `prefs/user-42`). Changing it closes the current store and opens the
   * new one.
   */
  name: string
  /**
   * Passed to `openStore`. The store is reopened when `url`, `token` or a string `persistence`
   * changes; other options (e.g. a `WebSocket` class) are read when the store is opened.
   */
  options?: OpenStoreOptions
  store?: never
}

/** Props of {@link KvsyncProvider}: either an open `store`, or a `name` (and `options`) to open. */
export type KvsyncProviderProps = KvsyncStoreProviderProps | KvsyncNamedProviderProps

interface Opened {
  readonly key: string
  readonly store: Store | undefined
  readonly error: KvsyncError | undefined
}

function asKvsyncError(error: unknown): KvsyncError {
  if (isKvsyncError(error)) return error
  return new KvsyncError('PERSISTENCE_FAILED', `could not open the store: ${String(error)}`, { cause: error })
}

/** The options that decide which store is opened; a change of any of them reopens it. */
function openKey(name: string, options: OpenStoreOptions | undefined): string {
  const persistence = typeof options?.persistence === 'string' ? options.persistence : undefined
  return JSON.stringify([name, options?.url, options?.token, persistence])
}

/**
 * Makes a store available to the hooks below it. Give it an open `store`, or a `name` (and
 * `options`) and it opens the store on mount, closes it on unmount, and tells its children
 * whether it is loading or failed ({@link useKvsync}). Nothing is opened during a server
 * render: hooks there return their defaults.
 *
 * @example
 * ```tsx
 * <KvsyncProvider name={`prefs/${profile}`} options={{ url: 'wss://sync.example.com' }} fallback={<p>Loading…</p>}>
 *   <Preferences />
 * </KvsyncProvider>
 * ```
 */
export function KvsyncProvider(props: KvsyncProviderProps): ReactNode {
  const parent = useContext(KvsyncContext)
  const { store: givenStore, name: givenName, options, onError } = props
  const key = givenStore === undefined ? openKey(givenName, options) : ''
  const [opened, setOpened] = useState<Opened | undefined>(undefined)
  const [attempt, setAttempt] = useState(0)
  // Close the previous store before opening the next one of the same provider (a name change,
  // or React's StrictMode unmounting and remounting), so one provider never holds two
  // connections to one store at once.
  const closing = useRef<Promise<void>>(Promise.resolve())
  const latest = useRef({ options, onError })
  latest.current = { options, onError }

  useEffect(() => {
    if (givenStore !== undefined) return undefined
    let cancelled = false
    const opening = closing.current.then(() => openStore(givenName, latest.current.options))
    opening.then(
      (store) => {
        if (!cancelled) setOpened({ key, store, error: undefined })
      },
      (error: unknown) => {
        if (cancelled) return
        const failure = asKvsyncError(error)
        latest.current.onError?.(failure)
        setOpened({ key, store: undefined, error: failure })
      },
    )
    return () => {
      cancelled = true
      closing.current = opening.then(
        (store) => store.close(),
        () => undefined,
      ).catch(() => undefined)
    }
    // `key` covers the name and the options that matter (others are read through `latest`);
    // `attempt` is bumped by retry().
  }, [givenStore, key, attempt])

  const store = givenStore ?? (opened?.key === key ? opened.store : undefined)
  useEffect(() => {
    if (store === undefined || onError === undefined) return undefined
    return store.onError((error) => latest.current.onError?.(error))
  }, [store, onError === undefined])

  const error = givenStore === undefined && opened?.key === key ? opened.error : undefined
  const loading = givenStore === undefined && opened?.key !== key
  const name = givenStore === undefined ? givenName : givenStore.name
  const frame = useMemo<ProviderFrame>(
    () => ({ store, name, loading, error, parent, retry: () => {
        if (error === undefined) return
        setOpened(undefined)
        setAttempt((n) => n + 1)
      } }),
    [store, name, loading, error, parent],
  )

  let content = props.children
  if (loading && props.fallback !== undefined) content = props.fallback
  if (error !== undefined && props.errorFallback !== undefined) {
    content = typeof props.errorFallback === 'function' ? props.errorFallback(error, frame.retry) : props.errorFallback
  }
  return <KvsyncContext.Provider value={frame}>{content}</KvsyncContext.Provider>
}
