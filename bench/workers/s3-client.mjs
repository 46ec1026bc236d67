// S3 client process: many stock clients, each holding one connection open.
import { makeClient } from '../lib/clients.mjs'

let clients = []

async function inBatches(count, size, fn) {
  for (let start = 0; start < count; start += size) {
    await Promise.all(Array.from({ length: Math.min(size, count - start) }, (_, i) => fn(start + i)))
  }
}

/** One client per store `${prefix}${from + i}`, each writing `keys` keys in one transaction. */
export async function loadStores({ kind, url, prefix, from, count, keys }) {
  await inBatches(count, 25, async (i) => {
    const client = await makeClient(kind, { url, store: `${prefix}${from + i}` })
    await client.whenSynced()
    client.transact(() => {
      for (let k = 0; k < keys; k++) client.set(`key-${k}`, { n: k, label: `value ${k} of store ${from + i}` })
    })
    clients.push(client)
  })
  return clients.length
}

/** `count` clients connected to one (empty) store, doing nothing. */
export async function idle({ kind, url, store, count }) {
  await inBatches(count, 25, async () => {
    const client = await makeClient(kind, { url, store })
    await client.whenSynced()
    clients.push(client)
  })
  return clients.length
}

export async function closeAll() {
  for (const client of clients) await client.close()
  clients = []
  return true
}
