// @vitest-environment jsdom
import { act, cleanup, render, screen } from '@testing-library/react'
import { memo, startTransition, useEffect, useLayoutEffect, type ReactNode } from 'react'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { Store } from '@kvsync/browser'
import { KvsyncProvider } from './provider.js'
import { useEntries, useValue } from './hooks.js'
import { RenderCounter, memoryStore } from './test-utils.js'

afterEach(() => cleanup())

function withStore(store: Store) {
  return ({ children }: { children?: ReactNode }) => <KvsyncProvider store={store}>{children}</KvsyncProvider>
}

describe('useValue', () => {
  it('reads the current value and follows changes made elsewhere', async () => {
    const store = await memoryStore()
    await store.set('theme', 'dark')
    function Theme() {
      const [theme] = useValue<string>('theme')
      return <p data-testid="theme">{theme ?? 'none'}</p>
    }
    render(<Theme />, { wrapper: withStore(store) })
    expect(screen.getByTestId('theme').textContent).toBe('dark')
    await act(() => store.set('theme', 'light'))
    expect(screen.getByTestId('theme').textContent).toBe('light')
    await act(() => store.delete('theme'))
    expect(screen.getByTestId('theme').textContent).toBe('none')
  })

  it('returns the default while the key has no value', async () => {
    const store = await memoryStore()
    let seen: string | undefined
    function Lang() {
      const [lang] = useValue('lang', { defaultValue: 'en' })
      seen = lang
      return null
    }
    render(<Lang />, { wrapper: withStore(store) })
    expect(seen).toBe('en')
    await act(() => store.set('lang', 'fr'))
    expect(seen).toBe('fr')
  })

  it('writes through the setter, which resolves once the write is durable locally', async () => {
    const store = await memoryStore()
    let set!: (value: number) => Promise<void>
    function Counter() {
      const [count, setCount] = useValue<number>('count', { defaultValue: 0 })
      set = setCount
      return <p data-testid="count">{count}</p>
    }
    render(<Counter />, { wrapper: withStore(store) })
    const durable = vi.fn()
    await act(async () => {
      await set(5).then(durable)
    })
    expect(durable).toHaveBeenCalledOnce()
    expect(store.get('count')).toBe(5)
    expect(screen.getByTestId('count').textContent).toBe('5')
  })

  it('applies updater functions to the stored value, so updates in one event compose', async () => {
    const store = await memoryStore()
    let update!: (fn: (n: number) => number) => Promise<void>
    function Counter() {
      const [count, setCount] = useValue<number>('count', { defaultValue: 10 })
      update = setCount
      return <p data-testid="count">{count}</p>
    }
    render(<Counter />, { wrapper: withStore(store) })
    await act(async () => {
      void update((n) => n + 1)
      await update((n) => n + 1)
    })
    expect(store.get('count')).toBe(12)
    expect(screen.getByTestId('count').textContent).toBe('12')
  })

  it('deletes the key when set to undefined', async () => {
    const store = await memoryStore()
    await store.set('gone', true)
    let set!: (value: boolean | undefined) => Promise<void>
    function Gone() {
      const [, setGone] = useValue<boolean>('gone')
      set = setGone
      return null
    }
    render(<Gone />, { wrapper: withStore(store) })
    await act(() => set(undefined))
    expect(store.has('gone')).toBe(false)
  })

  it('throws INVALID_VALUE synchronously for a value kvsync cannot store', async () => {
    const store = await memoryStore()
    let set!: (value: number) => Promise<void>
    function Ratio() {
      set = useValue<number>('ratio')[1]
      return null
    }
    render(<Ratio />, { wrapper: withStore(store) })
    expect(() => set(Number.NaN)).toThrow(expect.objectContaining({ code: 'INVALID_VALUE' }))
    expect(store.has('ratio')).toBe(false)
  })

  it('re-renders a component only when its own key changes', async () => {
    const store = await memoryStore()
    const renders = new RenderCounter()
    function Field({ name }: { name: string }) {
      const [value] = useValue(name)
      renders.hit(name)
      return <span>{String(value)}</span>
    }
    render(
      <>
        <Field name="a" />
        <Field name="b" />
      </>,
      { wrapper: withStore(store) },
    )
    expect([renders.get('a'), renders.get('b')]).toEqual([1, 1])
    await act(() => store.set('a', 1))
    expect([renders.get('a'), renders.get('b')]).toEqual([2, 1])
    await act(() => store.set('c', 1))
    await act(() => store.set('ab', 1))
    expect([renders.get('a'), renders.get('b')]).toEqual([2, 1])
    // Writing an equal value again is a change event but not a visible change.
    await act(() => store.set('a', 1))
    expect([renders.get('a'), renders.get('b')]).toEqual([2, 1])
  })

  it('keeps the same object for an equal nested value, so effects depending on it do not rerun', async () => {
    const store = await memoryStore()
    await store.set('notify', { email: true, quiet: { from: '22:00', to: '07:00' } })
    const effect = vi.fn()
    function Notify() {
      const [notify] = useValue('notify')
      useEffect(() => effect(notify), [notify])
      return null
    }
    render(<Notify />, { wrapper: withStore(store) })
    await act(() => store.set('notify', { email: true, quiet: { from: '22:00', to: '07:00' } }))
    expect(effect).toHaveBeenCalledOnce()
    await act(() => store.set('notify', { email: false, quiet: { from: '22:00', to: '07:00' } }))
    expect(effect).toHaveBeenCalledTimes(2)
  })

  it('follows a change of key', async () => {
    const store = await memoryStore()
    await store.transact(() => {
      void store.set('x', 'X')
      void store.set('y', 'Y')
    })
    function Show({ k }: { k: string }) {
      return <p data-testid="v">{String(useValue(k)[0])}</p>
    }
    const view = render(<Show k="x" />, { wrapper: withStore(store) })
    expect(screen.getByTestId('v').textContent).toBe('X')
    view.rerender(<Show k="y" />)
    expect(screen.getByTestId('v').textContent).toBe('Y')
  })

  it('works with a store passed directly, without a provider', async () => {
    const store = await memoryStore()
    await store.set('k', 'v')
    function Direct() {
      return <p data-testid="v">{String(useValue('k', { store })[0])}</p>
    }
    render(<Direct />)
    expect(screen.getByTestId('v').textContent).toBe('v')
  })

  it('does not tear: no commit shows two values of one key, even when it changes mid-render', async () => {
    const store = await memoryStore()
    await store.set('k', 0)
    const commits: string[][] = []
    function Reader({ index }: { index: number }) {
      const [value] = useValue<number>('k')
      // A write that lands in the middle of a concurrent render, after Reader 0 read the old value.
      if (index === 1 && value === 0) void store.set('k', 1)
      // Layout effects run right after a commit's DOM changes: record what the screen shows.
      useLayoutEffect(() => {
        commits.push(Array.from(document.querySelectorAll('[data-reader]'), (node) => node.textContent ?? ''))
      })
      return <span data-reader="">{value}</span>
    }
    const view = render(<p />, { wrapper: withStore(store) })
    await act(async () => {
      startTransition(() =>
        view.rerender(
          <>
            {[0, 1, 2, 3].map((i) => (
              <Reader key={i} index={i} />
            ))}
          </>,
        ),
      )
    })
    expect(commits.length).toBeGreaterThan(0)
    for (const shown of commits) expect(new Set(shown).size, `a commit showed ${shown.join(',')}`).toBe(1)
    expect(commits.at(-1)).toEqual(['1', '1', '1', '1'])
  })
})

describe('useEntries', () => {
  interface Todo {
    title: string
    done: boolean
  }

  it('lists the entries under a prefix, sorted, and follows changes', async () => {
    const store = await memoryStore()
    await store.transact(() => {
      void store.set('todo/2', { title: 'b', done: false })
      void store.set('todo/1', { title: 'a', done: true })
      void store.set('other', 1)
    })
    let entries: ReadonlyArray<readonly [string, Todo]> = []
    function List() {
      entries = useEntries<Todo>({ prefix: 'todo/' })
      return null
    }
    render(<List />, { wrapper: withStore(store) })
    expect(entries).toEqual([
      ['todo/1', { title: 'a', done: true }],
      ['todo/2', { title: 'b', done: false }],
    ])
    await act(() => store.delete('todo/1'))
    expect(entries.map(([key]) => key)).toEqual(['todo/2'])
  })

  it('re-renders only for changes under its prefix, and memoized rows only for their own entry', async () => {
    const store = await memoryStore()
    await store.transact(() => {
      void store.set('todo/1', { title: 'a', done: false })
      void store.set('todo/2', { title: 'b', done: false })
    })
    const renders = new RenderCounter()
    const Row = memo(function Row({ id, todo }: { id: string; todo: Todo }) {
      renders.hit(id)
      return <li>{todo.title}</li>
    })
    function List() {
      renders.hit('list')
      const todos = useEntries<Todo>({ prefix: 'todo/' })
      return (
        <ul>
          {todos.map(([id, todo]) => (
            <Row key={id} id={id} todo={todo} />
          ))}
        </ul>
      )
    }
    render(<List />, { wrapper: withStore(store) })
    expect([renders.get('list'), renders.get('todo/1'), renders.get('todo/2')]).toEqual([1, 1, 1])
    await act(() => store.set('unrelated', 1))
    expect(renders.get('list')).toBe(1)
    await act(() => store.set('todo/2', { title: 'b', done: true }))
    expect([renders.get('list'), renders.get('todo/1'), renders.get('todo/2')]).toEqual([2, 1, 2])
    // Same value again: an event under the prefix, but nothing visible changed.
    await act(() => store.set('todo/2', { title: 'b', done: true }))
    expect(renders.get('list')).toBe(2)
  })

  it('lists every key without a prefix', async () => {
    const store = await memoryStore()
    await store.set('a', 1)
    let keys: string[] = []
    function All() {
      keys = useEntries().map(([key]) => key)
      return null
    }
    render(<All />, { wrapper: withStore(store) })
    await act(() => store.set('b', 2))
    expect(keys).toEqual(['a', 'b'])
  })
})
