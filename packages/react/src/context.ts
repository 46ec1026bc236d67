import type { KvsyncError, Store } from '@kvsync/browser'
import { createContext, useContext } from 'react'

/** What a {@link KvsyncProvider} tells the components below it. */
export interface KvsyncState {
  /** The open store, or `undefined` while it is opening, after it failed to open, and during SSR. */
  readonly store: Store | undefined
  /** The store's name (known before it is open). */
  readonly name: string
  /** True while the provider is opening the store (always false for a `store` given as a prop). */
  readonly loading: boolean
  /** Why the store could not be opened, if it could not. */
  readonly error: KvsyncError | undefined
  /** Opens the store again after an error (no-op otherwise). */
  readonly retry: () => void
}

/** @internal One provider's state plus the providers above it, so nested stores can be named. */
export interface ProviderFrame extends KvsyncState {
  readonly parent: ProviderFrame | undefined
}

/** @internal */
export const KvsyncContext = createContext<ProviderFrame | undefined>(undefined)

/**
 * The state of the nearest {@link KvsyncProvider}, or of the nearest one whose store is named
 * `name` when given (providers nest, so one component can use several stores). Throws when
 * there is no such provider: that is a bug in the component tree, not a runtime condition.
 *
 * @example
 * ```tsx
 * function Gate({ children }: { children: ReactNode }) {
 *   const { loading, error, retry } = useKvsync()
 *   if (error) return <button onClick={retry}>Could not open the store ({error.code}). Retry</button>
 *   return loading ? <Spinner /> : children
 * }
 * ```
 */
export function useKvsync(name?: string): KvsyncState {
  const frame = useContext(KvsyncContext)
  return findFrame(frame, name)
}

/** @internal */
export function findFrame(frame: ProviderFrame | undefined, name: string | undefined): ProviderFrame {
  for (let current = frame; current !== undefined; current = current.parent) {
    if (name === undefined || current.name === name) return current
  }
  throw new Error(
    name === undefined
      ? 'kvsync: no <KvsyncProvider> above this component (or pass { store } to the hook)'
      : `kvsync: no <KvsyncProvider> for store "${name}" above this component`,
  )
}
