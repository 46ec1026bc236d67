import { describe, expect, it, vi } from 'vitest'
import * as encoding from 'lib0/encoding'
import { WebSocket } from 'ws'
import * as awarenessProtocol from 'y-protocols/awareness'
import * as syncProtocol from 'y-protocols/sync'
import * as Y from 'yjs'
import { KvRegister, MessageType, PROTOCOL_VERSION, encodeHello } from '@kvsync/shared'
import { RawClient, updateFrame } from '../helpers.js'
import { cliServerFixture, prng } from './harness.js'

// Hostile input: fuzzers send random frames and mutations of valid sync, awareness and hello
// frames, pipelined over a few connections that reconnect whenever the server closes them. The
// server process must stay up, honest clients of another store must keep syncing throughout,
// and the process's memory must stay bounded.
//   KVSYNC_FUZZ_FRAMES   frames the server must have handled (default 10,000)
//   KVSYNC_FUZZ_SEED     PRNG seed (printed on failure)

const frameTarget = Number(process.env['KVSYNC_FUZZ_FRAMES'] ?? 10_000)
const seed = Number(process.env['KVSYNC_FUZZ_SEED'] ?? Date.now() % 1_000_000)
const fuzzers = 4
const RSS_LIMIT_BYTES = 400 * 1024 * 1024

const cli = cliServerFixture('kvsync-fuzz-')

/** Valid frames of every kind the protocol has, as mutation seeds. */
function seedFrames(random: () => number): Uint8Array[] {
  const doc = new Y.Doc()
  const register = new KvRegister(doc)
  const frames: Uint8Array[] = []
  let before = Y.encodeStateVector(doc)
  const capture = (): void => {
    frames.push(updateFrame(Y.encodeStateAsUpdate(doc, before)))
    before = Y.encodeStateVector(doc)
  }
  for (let index = 0; index < 20; index++) {
    register.set(`key-${index % 7}`, index % 3 === 0 ? { nested: [index, 'x'.repeat(index)] } : new Uint8Array([index, 1, 2]))
    capture()
  }
  doc.getText('text').insert(0, 'hello fuzz')
  capture()
  doc.getMap('map').set('a', new Y.Array())
  capture()
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, MessageType.sync)
  syncProtocol.writeSyncStep1(encoder, doc)
  frames.push(encoding.toUint8Array(encoder))
  const step2 = encoding.createEncoder()
  encoding.writeVarUint(step2, MessageType.sync)
  syncProtocol.writeSyncStep2(step2, doc)
  frames.push(encoding.toUint8Array(step2))
  const awareness = new awarenessProtocol.Awareness(doc)
  awareness.setLocalState({ user: 'fuzz', cursor: Math.floor(random() * 100) })
  const aw = encoding.createEncoder()
  encoding.writeVarUint(aw, MessageType.awareness)
  encoding.writeVarUint8Array(aw, awarenessProtocol.encodeAwarenessUpdate(awareness, [doc.clientID]))
  frames.push(encoding.toUint8Array(aw))
  awareness.destroy()
  frames.push(encodeHello(PROTOCOL_VERSION), Uint8Array.of(MessageType.queryAwareness), Uint8Array.of(MessageType.auth, 0))
  return frames
}

/** One hostile frame: random bytes, or a valid frame mutated in a few ways. */
function hostileFrame(random: () => number, seeds: Uint8Array[]): Uint8Array {
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)] as T
  const roll = random()
  if (roll < 0.15) return Uint8Array.from({ length: Math.floor(random() * 64) }, () => Math.floor(random() * 256))
  const frame = Uint8Array.from(pick(seeds))
  if (roll < 0.25) return frame
  const mutated = Array.from(frame)
  const mutations = 1 + Math.floor(random() * 4)
  for (let m = 0; m < mutations; m++) {
    const position = Math.floor(random() * Math.max(1, mutated.length))
    switch (Math.floor(random() * 7)) {
      case 0:
        mutated[position] = Math.floor(random() * 256)
        break
      case 1:
        mutated[position] = (mutated[position] ?? 0) ^ (1 << Math.floor(random() * 8))
        break
      case 2:
        mutated.length = position
        break
      case 3:
        mutated.splice(position, 0, ...Array.from({ length: 1 + Math.floor(random() * 8) }, () => Math.floor(random() * 256)))
        break
      case 4:
        // A huge varint: lengths and counts that claim gigabytes.
        mutated.splice(position, 0, 0xff, 0xff, 0xff, 0xff, 0x0f)
        break
      case 5:
        mutated.splice(position, Math.floor(random() * 8))
        break
      default:
        mutated.push(...pick(seeds).slice(0, 16))
    }
  }
  return Uint8Array.from(mutated)
}

/** Sends bursts of hostile frames, reconnecting whenever the server closes the connection. */
async function fuzz(url: string, random: () => number, seeds: Uint8Array[], stop: () => boolean, closeCodes: Map<number, number>): Promise<void> {
  while (!stop()) {
    const store = `fuzz/store-${Math.floor(random() * 8)}`
    const socket = new WebSocket(`${url}/${store}`)
    socket.on('error', () => {})
    await new Promise<void>((resolve) => {
      socket.on('close', (code) => {
        closeCodes.set(code, (closeCodes.get(code) ?? 0) + 1)
        resolve()
      })
      socket.on('open', () => {
        // Pipelined: a burst goes out at once; the server handles frames until one is fatal.
        for (let index = 0; index < 40; index++) socket.send(hostileFrame(random, seeds))
        // Then a valid query: its answer (or the close) ends this round.
        socket.send(Uint8Array.of(MessageType.queryAwareness))
        setTimeout(() => socket.terminate(), 2_000).unref()
      })
      socket.on('message', () => socket.close())
    })
  }
}

describe('fuzzing the WebSocket endpoint', () => {
  it(`survives ${frameTarget} hostile frames while other stores keep syncing (seed ${seed})`, async () => {
    // --hibernate-after-ms 1: hostile frames also reach hibernated stores (no-op, garbage and
    // waking updates are judged against the encoded state there).
    const running = await cli.start(['--message-rate', '1000000', '--message-burst', '1000000', '--log-level', 'error', '--max-message-bytes', '65536', '--hibernate-after-ms', '1'])
    const random = prng(seed)
    const seeds = seedFrames(random)
    const writer = new RawClient(`${running.url}/calm/store`)
    const reader = new RawClient(`${running.url}/calm/store`)
    await vi.waitFor(() => expect(writer.synced && reader.synced).toBe(true))
    const baseline = await running.rss()
    let peak = baseline
    let handled = 0
    const closeCodes = new Map<number, number>()
    const started = performance.now()
    const workers = Array.from({ length: fuzzers }, (_, index) => fuzz(running.url, prng(seed + index + 1), seeds, () => handled >= frameTarget, closeCodes))
    let round = 0
    while (handled < frameTarget) {
      // The bystander store keeps syncing while the fuzzers run.
      writer.map.set(`round-${round}`, round)
      await vi.waitFor(() => expect(reader.map.get(`round-${round}`)).toBe(round), { timeout: 10_000, interval: 5 })
      round++
      const metrics = await running.metrics()
      handled = metrics.get('kvsync_messages_in_total') ?? 0
      peak = Math.max(peak, await running.rss())
      expect(performance.now() - started, `seed ${seed}: too slow`).toBeLessThan(120_000)
    }
    await Promise.all(workers)
    const seconds = (performance.now() - started) / 1000
    // Still up, healthy, and honest clients of a fuzzed store can still sync.
    expect((await fetch(`${running.httpUrl}/healthz`)).status).toBe(200)
    const honest = new RawClient(`${running.url}/fuzz/store-0`)
    await vi.waitFor(() => expect(honest.synced).toBe(true), { timeout: 10_000 })
    await honest.close()
    await writer.close()
    await reader.close()
    const errors = [...(await running.metrics())].filter(([name]) => name.startsWith('kvsync_errors_total'))
    console.log(
      `fuzz: ${handled} frames handled in ${seconds.toFixed(1)} s (seed ${seed}); bystander rounds ${round}; RSS ${mib(baseline)} → peak ${mib(peak)}; ` +
        `closes ${JSON.stringify(Object.fromEntries(closeCodes))}; ${errors.map(([name, value]) => `${name}=${value}`).join(' ')}`,
    )
    expect(handled).toBeGreaterThanOrEqual(frameTarget)
    expect(peak).toBeLessThan(RSS_LIMIT_BYTES)
  }, 180_000)
})

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`
}
