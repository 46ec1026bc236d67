// S1 client process: hosts readers or the writer of one store.
// Every update is one write of key "seq" (value: its sequence number) in its own transaction,
// so it travels as one update message. Readers note, right after each frame was applied, the
// first time they see each sequence number (CLOCK_MONOTONIC ms, comparable across processes).
import WebSocket from 'ws'
import { makeClient } from '../lib/clients.mjs'
import { now } from '../lib/clock.mjs'

let readers = []
let writer

function rawClient(url, store, onFrame) {
  const ws = new WebSocket(`${url}/${store}`, { perMessageDeflate: false })
  ws.on('message', (data) => onFrame(data))
  const open = new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)))
  return { ws, open }
}

export async function openReaders({ kind, url, store, count }) {
  readers = []
  for (let i = 0; i < count; i++) {
    const reader = { last: -1, seen: new Map(), client: undefined }
    const note = (seq) => {
      if (seq <= reader.last) return
      const t = now()
      for (let s = reader.last + 1; s <= seq; s++) reader.seen.set(s, t)
      reader.last = seq
    }
    if (kind === 'raw') {
      const { ws, open } = rawClient(url, store, (data) => note(data.readUInt32LE(0)))
      reader.client = { close: () => ws.close() }
      await open
    } else {
      reader.client = await makeClient(kind, {
        url,
        store,
        afterMessage: () => {
          const seq = reader.client?.get('seq')
          if (typeof seq === 'number') note(seq)
        },
      })
      await reader.client.whenSynced()
    }
    readers.push(reader)
  }
  return readers.length
}

/** Forget what was seen (between the flood and the paced phase). */
export function reset({ from }) {
  for (const reader of readers) {
    reader.seen.clear()
    reader.last = from - 1
  }
}

/** Resolves when every reader here saw `seq`; returns the latest time one did (bounded wait). */
export async function waitFor({ seq, timeoutMs }) {
  const deadline = now() + timeoutMs
  while (readers.some((r) => r.last < seq)) {
    if (now() > deadline) throw new Error(`readers did not see seq ${seq} within ${timeoutMs} ms (lowest ${Math.min(...readers.map((r) => r.last))})`)
    await new Promise((r) => setTimeout(r, 2))
  }
  return Math.max(...readers.map((r) => r.seen.get(seq)))
}

/** Per sequence number: the latest time any reader here first saw it. */
export function seenTimes({ from, to }) {
  const out = []
  for (let s = from; s <= to; s++) out.push(Math.max(...readers.map((r) => r.seen.get(s) ?? Infinity)))
  return out
}

export async function closeAll() {
  for (const reader of readers) await reader.client?.close()
  readers = []
  if (writer) await writer.close()
  writer = undefined
  return true
}

export async function openWriter({ kind, url, store }) {
  if (kind === 'raw') {
    const { ws, open } = rawClient(url, store, () => {})
    await open
    const frame = Buffer.alloc(24)
    writer = {
      write(seq) {
        frame.writeUInt32LE(seq, 0)
        ws.send(frame)
      },
      close: () => ws.close(),
    }
  } else {
    const client = await makeClient(kind, { url, store })
    await client.whenSynced()
    writer = { write: (seq) => client.set('seq', seq), close: () => client.close() }
  }
  return true
}

/**
 * Writes seq from..from+n-1 as fast as possible, 100 per event-loop turn; returns the start time
 * and the time the last write was issued (the writer's own pace: convergence cannot be faster).
 */
export async function flood({ from, n }) {
  const t0 = now()
  for (let i = 0; i < n; i++) {
    writer.write(from + i)
    if (i % 100 === 99) await new Promise((r) => setImmediate(r))
  }
  return { t0, issued: now() }
}

/** Writes seq from..from+n-1 at `rate`/s on a fixed schedule; returns each send time. */
export async function paced({ from, n, rate }) {
  const interval = 1000 / rate
  const start = now() + 20
  const sent = []
  for (let i = 0; i < n; i++) {
    const due = start + i * interval
    const wait = due - now()
    if (wait > 1) await new Promise((r) => setTimeout(r, wait - 1))
    while (now() < due) {
      // Spin the last millisecond so sends are on schedule.
    }
    sent.push(now())
    writer.write(from + i)
  }
  return sent
}
