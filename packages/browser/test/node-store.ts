import WebSocket from 'ws'
import { openStore, type OpenStoreOptions, type Store } from '../src/index.js'

/**
 * Opens a store in Node the way these tests do: memory persistence unless `options` says
 * otherwise, the `ws` WebSocket, and a close pushed onto the test file's `cleanups`.
 */
export async function openNodeStore(name: string, options: OpenStoreOptions, cleanups: Array<() => Promise<unknown> | unknown>): Promise<Store> {
  const store = await openStore(name, {
    persistence: 'memory',
    WebSocket: WebSocket as unknown as OpenStoreOptions['WebSocket'],
    ...options,
  })
  cleanups.push(() => store.close())
  return store
}
