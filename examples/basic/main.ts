// A shared key-value editor: every window that opens the same store sees the same entries,
// live, and keeps working offline. Plain DOM on purpose, so the kvsync calls stand out.
import { isKvsyncError, openStore, type KvValue } from '@kvsync/browser'

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id)
  if (!found) throw new Error(`#${id} is missing from index.html`)
  return found as T
}

const statusEl = element<HTMLSpanElement>('status')
const entriesEl = element<HTMLTableSectionElement>('entries')
const errorEl = element<HTMLDivElement>('error')
const form = element<HTMLFormElement>('set-form')
const keyInput = element<HTMLInputElement>('key')
const valueInput = element<HTMLInputElement>('value')

function showError(error: unknown): void {
  errorEl.textContent = isKvsyncError(error) ? `${error.code}: ${error.message}` : String(error)
}

/** "42" → 42, '{"a":1}' → { a: 1 }, anything that is not JSON stays a string. */
function parseValue(text: string): KvValue {
  try {
    // JSON.parse yields only JSON values, a subset of KvValue.
    return JSON.parse(text) as KvValue
  } catch {
    return text
  }
}

function formatValue(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value)
}

const storeName = new URLSearchParams(location.search).get('store') ?? 'demo'
element('store-name').textContent = storeName
const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`

const store = await openStore(storeName, { url }).catch((error: unknown) => {
  showError(error)
  throw error
})

function renderStatus(): void {
  statusEl.textContent = store.status
  statusEl.dataset.status = store.status
}

function renderEntries(): void {
  const rows = store
    .entries()
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => {
      const row = document.createElement('tr')
      row.dataset.key = key
      const keyCell = document.createElement('td')
      keyCell.textContent = key
      const valueCell = document.createElement('td')
      valueCell.className = 'value'
      valueCell.textContent = formatValue(value)
      const actions = document.createElement('td')
      const remove = document.createElement('button')
      remove.type = 'button'
      remove.textContent = 'Delete'
      remove.addEventListener('click', () => void attempt(() => store.delete(key)))
      actions.append(remove)
      row.append(keyCell, valueCell, actions)
      return row
    })
  entriesEl.replaceChildren(...rows)
}

/** Runs a store call and shows its error (bad input throws a KvsyncError with a code). */
async function attempt(action: () => Promise<void>): Promise<boolean> {
  errorEl.textContent = ''
  try {
    await action()
    return true
  } catch (error) {
    showError(error)
    return false
  }
}

form.addEventListener('submit', (event) => {
  event.preventDefault()
  void attempt(() => store.set(keyInput.value, parseValue(valueInput.value))).then((saved) => {
    if (!saved) return
    valueInput.value = ''
    keyInput.focus()
  })
})

store.onStatusChange(renderStatus)
store.subscribe(renderEntries)
renderStatus()
renderEntries()
