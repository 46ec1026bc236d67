// @vitest-environment node
// Server rendering: Node, no DOM, no IndexedDB. Nothing may throw, and hooks show their defaults
// (the server snapshot), whatever a client would later read from its local store.
import { openStore } from '@kvsync/browser'
import { renderToString } from 'react-dom/server'
import { describe, expect, it } from 'vitest'
import { useKvsync } from './context.js'
import { useEntries, useStore, useSyncStatus, useValue } from './hooks.js'
import { KvsyncProvider } from './provider.js'
import { onCleanup } from './test-utils.js'

function Page() {
  const { loading } = useKvsync()
  const [theme] = useValue<string>('theme', { defaultValue: 'system' })
  const [lang] = useValue<string>('lang')
  const todos = useEntries({ prefix: 'todo/' })
  const { status, ready } = useSyncStatus()
  const store = useStore()
  return (
    <p>
      {`theme=${theme} lang=${lang ?? '-'} todos=${todos.length} status=${status} ready=${String(ready)} loading=${String(loading)} store=${store ? 'yes' : 'no'}`}
    </p>
  )
}

describe('server rendering', () => {
  it('renders a named provider without opening anything', () => {
    expect(typeof (globalThis as { indexedDB?: unknown }).indexedDB).toBe('undefined')
    const html = renderToString(
      <KvsyncProvider name="prefs/ssr" options={{ url: 'ws://127.0.0.1:1' }}>
        <Page />
      </KvsyncProvider>,
    )
    expect(html).toContain('theme=system lang=- todos=0 status=offline ready=false loading=true store=no')
  })

  it('renders the fallback when one is given', () => {
    const html = renderToString(
      <KvsyncProvider name="prefs/ssr" fallback={<i>loading</i>}>
        <Page />
      </KvsyncProvider>,
    )
    expect(html).toBe('<i>loading</i>')
  })

  it('shows the defaults (the server snapshot) even for a store given as a prop', async () => {
    const store = await openStore('prefs/ssr-store', { persistence: 'memory' })
    onCleanup(() => store.close())
    await store.set('theme', 'dark')
    await store.set('todo/1', 'x')
    const html = renderToString(
      <KvsyncProvider store={store}>
        <Page />
      </KvsyncProvider>,
    )
    expect(html).toContain('theme=system lang=- todos=0 status=offline ready=false loading=false store=yes')
  })
})
