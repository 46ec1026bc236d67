import { useEntries, useStore, useSyncStatus, useValue } from '@kvsync/react'
import { memo, useState, type FormEvent } from 'react'

/** One todo, stored under `todo/<id>`; ids sort by creation time, so the list keeps its order. */
interface Todo {
  title: string
  done: boolean
  createdAt: Date
}

const PREFIX = 'todo/'

function newId(): string {
  return `${Date.now().toString(36).padStart(9, '0')}-${Math.random().toString(36).slice(2, 8)}`
}

type Filter = 'all' | 'active' | 'done'

export function TodoApp({ list }: { list: string }) {
  const todos = useEntries<Todo>({ prefix: PREFIX })
  const [filter, setFilter] = useState<Filter>('all')
  const left = todos.filter(([, todo]) => !todo.done).length
  const shown = todos.filter(([, todo]) => (filter === 'all' ? true : filter === 'done' ? todo.done : !todo.done))
  return (
    <main className="app">
      <header>
        <h1>
          <ListTitle fallback={list} />
        </h1>
        <SyncBadge />
      </header>
      <AddTodo />
      <ul className="todos" aria-label="Todos">
        {shown.map(([key, todo]) => (
          <TodoRow key={key} storeKey={key} todo={todo} />
        ))}
      </ul>
      <footer>
        <span data-testid="left">{`${left} ${left === 1 ? 'item' : 'items'} left`}</span>
        <div className="filters" role="group" aria-label="Filter">
          {(['all', 'active', 'done'] as const).map((name) => (
            <button key={name} aria-pressed={filter === name} onClick={() => setFilter(name)}>
              {name[0]!.toUpperCase() + name.slice(1)}
            </button>
          ))}
        </div>
        <ClearDone />
      </footer>
    </main>
  )
}

/** The list's title is a value of its own, editable in place. */
function ListTitle({ fallback }: { fallback: string }) {
  const [title, setTitle] = useValue<string>('title', { defaultValue: '' })
  return <input className="title" aria-label="List title" value={title} placeholder={fallback} onChange={(e) => void setTitle(e.target.value)} />
}

function AddTodo() {
  const store = useStore()
  const [draft, setDraft] = useState('')
  const add = (event: FormEvent) => {
    event.preventDefault()
    const title = draft.trim()
    if (!title || !store) return
    void store.set(`${PREFIX}${newId()}`, { title, done: false, createdAt: new Date() })
    setDraft('')
  }
  return (
    <form className="add" onSubmit={add}>
      <input aria-label="New todo" placeholder="What needs doing?" value={draft} onChange={(e) => setDraft(e.target.value)} />
      <button type="submit">Add</button>
    </form>
  )
}

/**
 * One row. `useEntries` keeps unchanged todos as the same objects, so `memo` skips every row but
 * the one that changed.
 */
const TodoRow = memo(function TodoRow({ storeKey, todo }: { storeKey: string; todo: Todo }) {
  const store = useStore()
  const [, setTodo] = useValue<Todo>(storeKey)
  return (
    <li className={todo.done ? 'done' : ''} data-testid="todo">
      <label>
        <input type="checkbox" checked={todo.done} onChange={(e) => void setTodo((current) => current && { ...current, done: e.target.checked })} />
        <span>{todo.title}</span>
      </label>
      <button className="delete" aria-label={`Delete ${todo.title}`} onClick={() => void store?.delete(storeKey)}>
        ×
      </button>
    </li>
  )
})

function ClearDone() {
  const store = useStore()
  const done = useEntries<Todo>({ prefix: PREFIX }).filter(([, todo]) => todo.done)
  if (done.length === 0 || !store) return <span />
  // One transaction: one update to the server, one commit, one re-render elsewhere.
  const clear = () => void store.transact(() => done.forEach(([key]) => void store.delete(key)))
  return <button onClick={clear}>Clear done ({done.length})</button>
}

function SyncBadge() {
  const { status, unsavedWrites } = useSyncStatus()
  const saved = status === 'synced' && unsavedWrites === 0
  return (
    <span className="badge" data-testid="sync-status" data-status={status} data-saved={saved ? 'yes' : 'no'}>
      {saved ? 'Saved on server' : status === 'synced' ? 'Saving…' : status}
    </span>
  )
}
