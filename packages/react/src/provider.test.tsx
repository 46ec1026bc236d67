// @vitest-environment jsdom
import { openStore, type OpenStoreOptions, type Store, type WebSocketLike } from '@kvsync/browser'
import { createSyncServer, silentLogger } from '@kvsync/sync-server'
import { act, cleanup, render, screen, waitFor } from '@testing-library/react'
import { StrictMode } from 'react'
import { afterEach, describe, expect, it, vi } from 'vitest'
import WebSocket from 'ws'
import { useKvsync } from './context.js'
import { useStore, useSyncStatus, useValue } from './hooks.js'
import { KvsyncProvider } from './provider.js'
import { onCleanup } from './test-utils.js'

afterEach(() => cleanup())

const memory: OpenStoreOptions = { persistence: 'memory' }

/**
 * `ws` for a jsdom test: jsdom's globals come from another realm, so the `ArrayBuffer` that `ws`
 * delivers fails the client's `instanceof ArrayBuffer` check. Copy each message into this
 * realm's `Uint8Array`, which browsers' own WebSocket never needs.
 */
class RealmWebSocket implements WebSocketLike {
  private readonly socket: WebSocket
  onopen: WebSocketLike['onopen'] = null
  onmessage: WebSocketLike['onmessage'] = null
  onclose: WebSocketLike['onclose'] = null
  onerror: WebSocketLike['onerror'] = null

  constructor(url: string) {
    this.socket = new WebSocket(url)
    this.socket.binaryType = 'arraybuffer'
    this.socket.onopen = (event) => this.onopen?.(event)
    this.socket.onmessage = (event) => this.onmessage?.({ data: new Uint8Array(event.data as ArrayBuffer) })
    this.socket.onclose = (event) => this.onclose?.({ code: event.code, reason: event.reason })
    this.socket.onerror = (event) => this.onerror?.(event)
  }
  get binaryType(): string {
    return 'arraybuffer'
  }
  set binaryType(_: string) {}
  get readyState(): number {
    return this.socket.readyState
  }
  send(data: Uint8Array): void {
    this.socket.send(data)
  }
  close(code?: number, reason?: string): void {
    this.socket.close(code, reason)
  }
}

describe('KvsyncProvider', () => {
  it('opens the named store, shows the fallback meanwhile, and closes the store on unmount', async () => {
    let seen: Store | undefined
    function Child() {
      seen = useStore()
      return <p data-testid="child">ready</p>
    }
    const view = render(
      <KvsyncProvider name="prefs/a" options={memory} fallback={<p data-testid="loading">loading</p>}>
        <Child />
      </KvsyncProvider>,
    )
    expect(screen.getByTestId('loading')).toBeTruthy()
    await screen.findByTestId('child')
    expect(seen?.name).toBe('prefs/a')
    await act(() => seen!.set('k', 1))
    view.unmount()
    await waitFor(() => expect(() => seen!.get('k')).toThrow(expect.objectContaining({ code: 'STORE_CLOSED' })))
  })

  it('renders children while loading when there is no fallback; hooks return defaults and refuse writes', async () => {
    const states: Array<{ loading: boolean; value: string }> = []
    let write!: (value: string) => Promise<void>
    function Child() {
      const { loading } = useKvsync()
      const [value, setValue] = useValue('lang', { defaultValue: 'en' })
      write = setValue
      states.push({ loading, value })
      return null
    }
    render(
      <KvsyncProvider name="prefs/b" options={memory}>
        <Child />
      </KvsyncProvider>,
    )
    expect(states[0]).toEqual({ loading: true, value: 'en' })
    await expect(write('fr')).rejects.toMatchObject({ code: 'STORE_CLOSED' })
    await waitFor(() => expect(states.at(-1)).toEqual({ loading: false, value: 'en' }))
    await act(() => write('fr'))
    expect(states.at(-1)).toEqual({ loading: false, value: 'fr' })
  })

  it('exposes an open failure, renders the error fallback, and retries', async () => {
    const onError = vi.fn()
    const view = render(
      <KvsyncProvider
        name="../bad"
        options={memory}
        onError={onError}
        errorFallback={(error, retry) => (
          <button data-testid="error" onClick={retry}>
            {error.code}
          </button>
        )}
      >
        <p>never</p>
      </KvsyncProvider>,
    )
    expect((await screen.findByTestId('error')).textContent).toBe('INVALID_STORE_NAME')
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ code: 'INVALID_STORE_NAME' }))
    act(() => screen.getByTestId('error').click())
    await waitFor(() => expect(onError).toHaveBeenCalledTimes(2))
    view.unmount()
  })

  it('reopens when the name changes, closing the previous store', async () => {
    const stores: Store[] = []
    function Child() {
      const store = useStore()
      if (store && !stores.includes(store)) stores.push(store)
      return <p data-testid="name">{store?.name ?? 'loading'}</p>
    }
    const tree = (name: string) => (
      <KvsyncProvider name={name} options={memory}>
        <Child />
      </KvsyncProvider>
    )
    const view = render(tree('prefs/one'))
    await waitFor(() => expect(screen.getByTestId('name').textContent).toBe('prefs/one'))
    view.rerender(tree('prefs/two'))
    // The old store is never shown under the new name.
    expect(screen.getByTestId('name').textContent).toBe('loading')
    await waitFor(() => expect(screen.getByTestId('name').textContent).toBe('prefs/two'))
    await waitFor(() => expect(() => stores[0]!.keys()).toThrow(expect.objectContaining({ code: 'STORE_CLOSED' })))
    view.unmount()
  })

  it('survives StrictMode double mounting with one open store in the end', async () => {
    function Child() {
      const [value, setValue] = useValue<number>('n', { defaultValue: 0 })
      return (
        <button data-testid="n" onClick={() => void setValue((n) => n + 1)}>
          {value}
        </button>
      )
    }
    const view = render(
      <StrictMode>
        <KvsyncProvider name="prefs/strict" options={memory} fallback={<p>loading</p>}>
          <Child />
        </KvsyncProvider>
      </StrictMode>,
    )
    const button = await screen.findByTestId('n')
    await act(async () => button.click())
    await waitFor(() => expect(screen.getByTestId('n').textContent).toBe('1'))
    view.unmount()
  })

  it('gives nested providers names, so a component can use two stores', async () => {
    const outer = await openStore('prefs/outer', memory)
    const inner = await openStore('prefs/inner', memory)
    onCleanup(() => outer.close())
    onCleanup(() => inner.close())
    await outer.set('k', 'outer')
    await inner.set('k', 'inner')
    function Both() {
      const [near] = useValue('k')
      const [far] = useValue('k', { store: 'prefs/outer' })
      return <p data-testid="both">{`${String(near)}/${String(far)}`}</p>
    }
    render(
      <KvsyncProvider store={outer}>
        <KvsyncProvider store={inner}>
          <Both />
        </KvsyncProvider>
      </KvsyncProvider>,
    )
    expect(screen.getByTestId('both').textContent).toBe('inner/outer')
  })

  it('throws a clear error for a hook outside any provider', () => {
    function Orphan() {
      useValue('k')
      return null
    }
    vi.spyOn(console, 'error').mockImplementation(() => {})
    expect(() => render(<Orphan />)).toThrow(/no <KvsyncProvider>/)
    vi.mocked(console.error).mockRestore()
  })
})

describe('useSyncStatus', () => {
  it('follows the connection to a real server: connecting, synced, saved on the server, offline', async () => {
    const server = createSyncServer({ port: 0, logger: silentLogger, closeTimeoutMs: 200 })
    const { url } = await server.listen()
    let serverOpen = true
    onCleanup(async () => {
      if (serverOpen) await server.close()
    })
    const options: OpenStoreOptions = {
      url,
      persistence: 'memory',
      WebSocket: RealmWebSocket,
      backoff: { initialMs: 20, maxMs: 100 },
    }
    const seen: string[] = []
    let write!: (value: string) => Promise<void>
    function Badge() {
      const { status, unsavedWrites, ready } = useSyncStatus()
      write = useValue<string>('k')[1]
      const label = `${ready ? 'ready' : 'loading'} ${status} ${unsavedWrites}`
      if (seen.at(-1) !== label) seen.push(label)
      return <p data-testid="status">{label}</p>
    }
    const view = render(
      <KvsyncProvider name="prefs/status" options={options}>
        <Badge />
      </KvsyncProvider>,
    )
    expect(seen[0]).toBe('loading offline 0')
    await waitFor(() => expect(screen.getByTestId('status').textContent).toBe('ready synced 0'))
    await act(() => write('v'))
    await waitFor(() => expect(screen.getByTestId('status').textContent).toBe('ready synced 0'))
    expect(seen).toContain('ready synced 1')
    await server.close()
    serverOpen = false
    await waitFor(() => expect(screen.getByTestId('status').textContent).toMatch(/^ready (offline|connecting) 0$/))
    view.unmount()
  })

  it('reads offline for a local-only store', async () => {
    let state: unknown
    function Badge() {
      state = useSyncStatus()
      return null
    }
    render(
      <KvsyncProvider name="prefs/local" options={memory}>
        <Badge />
      </KvsyncProvider>,
    )
    await waitFor(() => expect(state).toEqual({ status: 'offline', unsavedWrites: 0, ready: true }))
  })
})
