// @vitest-environment jsdom
// Hydration: the client first renders what the server rendered (the hooks' server snapshot),
// so there is no mismatch, then shows the values of its local store.
import { act } from '@testing-library/react'
import { hydrateRoot } from 'react-dom/client'
import { renderToString } from 'react-dom/server'
import { describe, expect, it, vi } from 'vitest'
import type { Store } from '@kvsync/browser'
import { useValue } from './hooks.js'
import { KvsyncProvider } from './provider.js'
import { memoryStore } from './test-utils.js'

function Theme() {
  const [theme] = useValue<string>('theme', { defaultValue: 'system' })
  return <p id="theme">{theme}</p>
}

const app = (store?: Store) =>
  store ? (
    <KvsyncProvider store={store}>
      <Theme />
    </KvsyncProvider>
  ) : (
    <KvsyncProvider name="prefs/hydrate" options={{ persistence: 'memory' }}>
      <Theme />
    </KvsyncProvider>
  )

describe('hydration', () => {
  it('hydrates server HTML without a mismatch, then shows the local value', async () => {
    const store = await memoryStore('prefs/hydrate')
    await store.set('theme', 'dark')
    const container = document.createElement('div')
    container.innerHTML = renderToString(app())
    expect(container.textContent).toBe('system')
    document.body.append(container)
    const onRecoverableError = vi.fn()
    let root: ReturnType<typeof hydrateRoot> | undefined
    await act(async () => {
      root = hydrateRoot(container, app(store), { onRecoverableError })
    })
    expect(onRecoverableError).not.toHaveBeenCalled()
    expect(container.textContent).toBe('dark')
    act(() => root!.unmount())
    container.remove()
  })
})
