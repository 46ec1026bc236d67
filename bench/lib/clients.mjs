// The clients the server scenarios run in their worker processes, behind one small interface:
//   { set(key, value), get(key), transact(fn), whenSynced(), close() }
// kinds: 'y-websocket' (stock WebsocketProvider + Y.Map), 'hocuspocus' (stock HocuspocusProvider
// + Y.Map), 'kvsync' (@kvsync/browser openStore, memory persistence, in Node).
import { HocuspocusProvider } from '@hocuspocus/provider'
import { openStore } from '@kvsync/browser'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'
import { hookedSocketClass } from './hooked-socket.mjs'
import { updateEndHocuspocus, updateEndY } from './yparse.mjs'

/** Which frame parser reads the updates a client of `kind` receives and sends. */
export const updateEnd = (kind) => (kind === 'hocuspocus' ? updateEndHocuspocus : updateEndY)

/** Client kind for a server system when the clients are the servers' own stock clients. */
export const stockClientOf = (system) => (system === 'hocuspocus' ? 'hocuspocus' : system === 'ws-broadcast' ? 'raw' : 'y-websocket')

function withTimeout(promise, ms, what) {
  let timer
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms)
    }),
  ])
}

export async function makeClient(kind, { url, store, gate, afterMessage, beforeSend, doc: givenDoc }) {
  const Socket = hookedSocketClass({ gate, afterMessage, beforeSend })
  if (kind === 'kvsync') {
    const kv = await openStore(store, { url, persistence: 'memory', WebSocket: Socket })
    return {
      set: (key, value) => void kv.set(key, value).catch(() => {}),
      get: (key) => kv.get(key),
      entries: () => kv.entries(),
      transact: (fn) => void kv.transact(fn).catch(() => {}),
      whenSynced: () => withTimeout(kv.whenSynced(), 30_000, 'kvsync whenSynced'),
      close: () => kv.close(),
    }
  }
  const doc = givenDoc ?? new Y.Doc()
  const map = doc.getMap('kv')
  const base = {
    doc,
    set: (key, value) => map.set(key, value),
    get: (key) => map.get(key),
    entries: () => [...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    transact: (fn) => doc.transact(fn),
  }
  if (kind === 'y-websocket') {
    const provider = new WebsocketProvider(url, store, doc, { WebSocketPolyfill: Socket, disableBc: true })
    const synced = provider.synced ? Promise.resolve() : new Promise((resolve) => provider.once('sync', () => resolve()))
    return { ...base, whenSynced: () => withTimeout(synced, 30_000, 'y-websocket sync'), close: () => (provider.destroy(), doc.destroy()) }
  }
  if (kind === 'hocuspocus') {
    let resolveSynced
    const synced = new Promise((resolve) => (resolveSynced = resolve))
    const provider = new HocuspocusProvider({ url, name: store, document: doc, WebSocketPolyfill: Socket, onSynced: () => resolveSynced(), quiet: true })
    return { ...base, whenSynced: () => withTimeout(synced, 30_000, 'hocuspocus sync'), close: () => (provider.destroy(), doc.destroy()) }
  }
  throw new Error(`unknown client kind ${kind}`)
}
