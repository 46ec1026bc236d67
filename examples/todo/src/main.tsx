import { KvsyncProvider } from '@kvsync/react'
import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { TodoApp } from './TodoApp.js'
import './styles.css'

const params = new URLSearchParams(location.search)
// One store per list: everyone who opens the same `?list=` shares it.
const list = (params.get('list') ?? 'shared').replace(/[^A-Za-z0-9._~-]+/g, '-') || 'shared'
const url = params.get('server') ?? `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <KvsyncProvider name={`todos/${list}`} options={{ url }} fallback={<p className="loading">Loading…</p>}>
      <TodoApp list={list} />
    </KvsyncProvider>
  </StrictMode>,
)
