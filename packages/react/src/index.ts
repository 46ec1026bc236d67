/**
 * @packageDocumentation
 * React bindings for kvsync: a provider that opens (or is given) a store, and hooks built on
 * `useSyncExternalStore` that re-render a component only when the keys it reads change. Safe to
 * render on a server (hooks return their defaults there).
 *
 * @example
 * ```tsx
 * import { KvsyncProvider, useValue, useSyncStatus } from '@kvsync/react'
 *
 * function App() {
 *   return (
 *     <KvsyncProvider name="prefs/user-42" options={{ url: 'wss://sync.example.com' }}>
 *       <ThemePicker />
 *     </KvsyncProvider>
 *   )
 * }
 * function ThemePicker() {
 *   const [theme, setTheme] = useValue<'light' | 'dark'>('theme', { defaultValue: 'light' })
 *   const { status } = useSyncStatus()
 *   return <button onClick={() => void setTheme(theme === 'light' ? 'dark' : 'light')}>{theme} ({status})</button>
 * }
 * ```
 */
export { KvsyncProvider } from './provider.js'
export type { KvsyncProviderProps, KvsyncNamedProviderProps, KvsyncStoreProviderProps } from './provider.js'
export { useKvsync } from './context.js'
export type { KvsyncState } from './context.js'
export { useStore, useValue, useEntries, useSyncStatus } from './hooks.js'
export type { SetValue, StoreOption, UseValueOptions, UseEntriesOptions } from './hooks.js'
export type { SyncState } from './sources.js'
