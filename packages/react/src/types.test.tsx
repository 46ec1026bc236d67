// Type tests: what the hooks' generics give the caller (checked by tsc and vitest's expectTypeOf).
import type { KvValue, Store } from '@kvsync/browser'
import { describe, expectTypeOf, it } from 'vitest'
import type { KvsyncState } from './context.js'
import { useEntries, useStore, useSyncStatus, useValue, type SetValue } from './hooks.js'
import type { KvsyncProviderProps } from './provider.js'
import type { SyncState } from './sources.js'

interface Theme {
  mode: 'light' | 'dark'
  fontSize: number
}

describe('hook types', () => {
  it('types useValue by its type parameter', () => {
    expectTypeOf(useValue<Theme>).parameter(0).toEqualTypeOf<string>()
    type Plain = ReturnType<typeof useValue<Theme>>
    expectTypeOf<Plain[0]>().toEqualTypeOf<Theme | undefined>()
    expectTypeOf<Plain[1]>().toEqualTypeOf<SetValue<Theme>>()
    expectTypeOf<Parameters<Plain[1]>[0]>().toEqualTypeOf<Theme | undefined | ((current: Theme | undefined) => Theme | undefined)>()
    expectTypeOf<ReturnType<Plain[1]>>().toEqualTypeOf<Promise<void>>()
  })

  it('drops undefined from the value when a default is given', () => {
    const withDefault = () => useValue<Theme>('theme', { defaultValue: { mode: 'light', fontSize: 14 } })
    expectTypeOf<ReturnType<typeof withDefault>[0]>().toEqualTypeOf<Theme>()
    expectTypeOf<Parameters<ReturnType<typeof withDefault>[1]>[0]>().toEqualTypeOf<Theme | undefined | ((current: Theme) => Theme | undefined)>()
    const inferred = () => useValue('lang', { defaultValue: 'en' })
    expectTypeOf<ReturnType<typeof inferred>[0]>().toEqualTypeOf<string>()
  })

  it('defaults to KvValue without a type parameter', () => {
    const untyped = () => useValue('anything')
    expectTypeOf<ReturnType<typeof untyped>[0]>().toEqualTypeOf<KvValue | undefined>()
  })

  it('types useEntries, useStore, useSyncStatus', () => {
    const todos = () => useEntries<{ title: string }>({ prefix: 'todo/' })
    expectTypeOf<ReturnType<typeof todos>>().toEqualTypeOf<ReadonlyArray<readonly [string, { title: string }]>>()
    expectTypeOf(useStore).returns.toEqualTypeOf<Store | undefined>()
    expectTypeOf(useSyncStatus).returns.toEqualTypeOf<SyncState>()
    expectTypeOf<SyncState['status']>().toEqualTypeOf<'offline' | 'connecting' | 'syncing' | 'synced'>()
    expectTypeOf<KvsyncState['error']>().toEqualTypeOf<import('@kvsync/browser').KvsyncError | undefined>()
  })

  it('requires either a store or a name on the provider, not both', () => {
    expectTypeOf<{ name: string }>().toExtend<KvsyncProviderProps>()
    expectTypeOf<{ store: Store }>().toExtend<KvsyncProviderProps>()
    expectTypeOf<{ store: Store; name: string }>().not.toExtend<KvsyncProviderProps>()
    expectTypeOf<{ children: null }>().not.toExtend<KvsyncProviderProps>()
  })
})
