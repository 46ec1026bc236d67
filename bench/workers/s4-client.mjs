// S4 client process: replicas that edit offline, then reconnect when told to.
// Client c's 500 edits (one transaction each): edit j writes shared key `shared/k{(7c+j) % 50}`
// when j % 5 == 4 (concurrent edits of the same keys by every client), else its own key
// `c{c}/k{j % 100}` = j. A replica is converged when it holds every client's final own values
// (so it has applied every client's edits); the shared keys are then compared across replicas.
import { makeClient } from '../lib/clients.mjs'
import { now } from '../lib/clock.mjs'

let replicas = []
let openGate
let gate

/** [key, final value] of client c's own keys after `edits` edits: the last j < edits with j % 100 == m. */
const ownKeys = (c, edits) =>
  Array.from({ length: Math.min(100, edits) }, (_, m) => m)
    .filter((m) => m % 5 !== 4)
    .map((m) => [`c${c}/k${m}`, Math.floor((edits - 1 - m) / 100) * 100 + m])

export async function prepare({ kind, url, store, indices, all, edits }) {
  gate = new Promise((resolve) => (openGate = resolve))
  const expected = all.flatMap((c) => ownKeys(c, edits))
  replicas = []
  for (const c of indices) {
    const replica = { c, doneAt: undefined, client: undefined }
    const check = () => {
      if (replica.doneAt !== undefined || replica.client === undefined) return
      for (const [key, value] of expected) if (replica.client.get(key) !== value) return
      replica.doneAt = now()
    }
    replica.client = await makeClient(kind, { url, store, gate, afterMessage: check })
    for (let j = 0; j < edits; j++) {
      if (j % 5 === 4) replica.client.set(`shared/k${(7 * c + j) % 50}`, `c${c}:${j}`)
      else replica.client.set(`c${c}/k${j % 100}`, j)
    }
    replicas.push(replica)
  }
  return replicas.length
}

/** Opens the gate: every replica here connects now. Returns the time. */
export function go() {
  const t = now()
  openGate()
  return t
}

export async function wait({ timeoutMs }) {
  const deadline = now() + timeoutMs
  while (replicas.some((r) => r.doneAt === undefined) && now() < deadline) await new Promise((r) => setTimeout(r, 2))
  const shared = (client) => JSON.stringify(Array.from({ length: 50 }, (_, k) => client.get(`shared/k${k}`)))
  return { doneAt: replicas.map((r) => r.doneAt ?? null), shared: replicas.map((r) => shared(r.client)) }
}

export async function closeAll() {
  for (const replica of replicas) await replica.client?.close()
  replicas = []
  return true
}
