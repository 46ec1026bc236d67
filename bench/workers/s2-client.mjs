// S2 client process: hosts writers. Each write is one `set` of a key in the writer's own
// namespace. The stock clients send one update message per `set`, at once; kvsync's client
// sends the writes of one task as one update message at the end of the task. So a write's
// time is taken when `set` is called, and the next update frame the client sends carries it:
// the socket hooks read that frame's (client, end clock) and note, per write, the first time
// the server's broadcast of it came back to the writer (the in-memory echo: stock clients) or
// the durable ack covering it (kvsync). kvsync's server sends a kvsync client (one that said
// hello) no echo of its own updates, so kvsync writers wait for acks only and report no echoes.
import { MessageType, readDurableAck } from '@kvsync/shared'
import * as decoding from 'lib0/decoding'
import WebSocket from 'ws'
import { makeClient, updateEnd } from '../lib/clients.mjs'
import { now } from '../lib/clock.mjs'

let writers = []

function makeWriter(index, kvsync) {
  return { index, pending: new Map(), sends: [], echoes: [], acks: [], ackedTo: new Map(), kvsync, written: 0, echoed: 0, unsent: [], client: undefined }
}

/**
 * kvsync's durable acknowledgement (extension 102: client → clock, "every update of that client
 * below the clock is durable on the server"), as the writer receives it: [client, clock, time].
 */
function noteAck(writer, data) {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data)
  const decoder = decoding.createDecoder(bytes)
  if (decoding.readVarUint(decoder) !== MessageType.durableAck) return
  const t = now()
  for (const [client, clock] of readDurableAck(decoder)) {
    writer.acks.push([client, clock, t])
    writer.ackedTo.set(client, Math.max(writer.ackedTo.get(client) ?? 0, clock))
  }
}

/** Whether every write this writer made was sent and is covered by a durable ack (kvsync only). */
function allAcked(writer) {
  return writer.sends.length >= writer.written && writer.sends.every(([client, clock]) => (writer.ackedTo.get(client) ?? 0) >= clock)
}

/** Whether the writer's confirmations are all in: acks for kvsync, echoes for the rest. */
function confirmed(writer) {
  return writer.kvsync ? allAcked(writer) : writer.echoed >= writer.written
}

/** Records the echo of every pending own write with an end clock ≤ `to[client]`. */
function noteEcho(writer, to) {
  const t = now()
  for (const [client, clock] of to) {
    const queue = writer.pending.get(client)
    if (queue === undefined) continue
    while (queue.length > 0 && queue[0][0] <= clock) {
      const [, sentAt] = queue.shift()
      writer.echoes.push(t - sentAt)
      writer.echoed++
      writer.lastEcho = t
    }
  }
}

export async function openWriters({ kind, url, stores, firstIndex }) {
  writers = []
  await Promise.all(
    stores.map(async (store, i) => {
      const writer = makeWriter(firstIndex + i, kind === 'kvsync')
      if (kind === 'raw') {
        const ws = new WebSocket(`${url}/${store}`, { perMessageDeflate: false })
        ws.on('message', (data) => {
          if (data.readUInt32LE(0) !== writer.index) return
          noteEcho(writer, new Map([[writer.index, data.readUInt32LE(4)]]))
        })
        await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)))
        const frame = Buffer.alloc(24)
        writer.client = {
          write(seq) {
            frame.writeUInt32LE(writer.index, 0)
            frame.writeUInt32LE(seq + 1, 4)
            const t = now()
            writer.sends.push([writer.index, seq + 1, t])
            const queue = writer.pending.get(writer.index) ?? []
            queue.push([seq + 1, t])
            writer.pending.set(writer.index, queue)
            ws.send(frame)
          },
          close: () => ws.close(),
        }
      } else {
        const parse = updateEnd(kind)
        const client = await makeClient(kind, {
          url,
          store,
          afterMessage: (data) => {
            if (writer.kvsync) {
              // Its own updates do not come back; other writers' (one store) are not its echo.
              safeParse((bytes) => noteAck(writer, bytes), data)
              return
            }
            const to = safeParse(parse, data)
            if (to !== undefined && to.size > 0) noteEcho(writer, to)
          },
          beforeSend: (data) => {
            // Frames sent while no write waits (sync replies) are not writes.
            if (writer.unsent.length === 0) return
            const to = safeParse(parse, data)
            if (to === undefined || to.size === 0) return
            for (const [clientId, clock] of to) {
              const queue = writer.pending.get(clientId) ?? []
              for (const t of writer.unsent) {
                writer.sends.push([clientId, clock, t])
                queue.push([clock, t])
              }
              writer.pending.set(clientId, queue)
            }
            writer.unsent = []
          },
        })
        await client.whenSynced()
        writer.client = {
          write(seq) {
            writer.unsent.push(now())
            client.set(`w${writer.index}/k${seq % 10}`, seq)
          },
          close: () => client.close(),
        }
      }
      writers.push(writer)
    }),
  )
  return writers.length
}

function safeParse(parse, data) {
  try {
    return parse(data)
  } catch {
    return undefined
  }
}

/** Every writer issues `n` writes as fast as possible, interleaved, 10 rounds per event-loop turn. */
export async function flood({ n }) {
  const t0 = now()
  for (let seq = 0; seq < n; seq++) {
    for (const writer of writers) {
      writer.client.write(seq)
      writer.written++
    }
    if (seq % 10 === 9) await new Promise((r) => setImmediate(r))
  }
  return t0
}

/** Every writer issues `n` writes at `rate`/s, writers spread evenly over each interval. */
export async function paced({ n, rate }) {
  const interval = 1000 / rate
  const start = now() + 20
  const t0 = start
  for (let seq = 0; seq < n; seq++) {
    for (let w = 0; w < writers.length; w++) {
      const due = start + seq * interval + (w * interval) / writers.length
      const wait = due - now()
      if (wait > 1) await new Promise((r) => setTimeout(r, wait - 1))
      writers[w].client.write(seq)
      writers[w].written++
    }
  }
  return t0
}

/**
 * Waits (bounded) until every write was confirmed (stock clients: came back; kvsync: durably
 * acknowledged); returns sends, echo latencies (stock clients only), acks, the writes never
 * echoed (stock clients only) and the last echo.
 */
export async function collect({ timeoutMs }) {
  const deadline = now() + timeoutMs
  while (writers.some((w) => !confirmed(w))) {
    if (now() > deadline) break
    await new Promise((r) => setTimeout(r, 5))
  }
  const missing = writers.reduce((sum, w) => sum + (w.kvsync ? 0 : w.written - w.echoed), 0)
  const lastEcho = Math.max(...writers.map((w) => w.lastEcho ?? -Infinity))
  const out = { sends: writers.flatMap((w) => w.sends), echoes: writers.flatMap((w) => w.echoes), acks: writers.flatMap((w) => w.acks), missing, lastEcho }
  for (const w of writers) {
    w.sends = []
    w.echoes = []
    w.acks = []
    w.pending.clear()
    w.written = w.echoed = 0
    w.lastEcho = undefined
  }
  return out
}

export async function closeAll() {
  for (const writer of writers) await writer.client?.close()
  writers = []
  return true
}
