import { describe, expect, it, vi } from 'vitest'
import { KvRegister } from '@kvsync/shared'
import { RawClient } from '../helpers.js'
import { TrackingClient, cliServerFixture, prng } from './harness.js'
import type { ServerProcess, TrackedWrite } from './harness.js'

// kill -9 during a write storm loses nothing acknowledged. Each cycle starts the real CLI on the
// same --data, lets several kvsync clients write as fast as they can, SIGKILLs the server once
// some writes were acknowledged (plus a random delay), restarts it, and reads every store through
// a fresh client: every acknowledged write must be there.
//   KVSYNC_CRASH_CYCLES   cycles (default 5; the reliability run uses more)
//   KVSYNC_CRASH_SEED     PRNG seed (printed on failure)

const cycles = Number(process.env['KVSYNC_CRASH_CYCLES'] ?? 5)
const seed = Number(process.env['KVSYNC_CRASH_SEED'] ?? Date.now() % 1_000_000)
const stores = ['crash/a', 'crash/b']
const writersPerStore = 2

const cli = cliServerFixture('kvsync-crash-')

async function readStore(server: ServerProcess, store: string): Promise<KvRegister> {
  const reader = new RawClient(`${server.url}/${store}`)
  const register = new KvRegister(reader.doc)
  await vi.waitFor(() => expect(reader.synced).toBe(true), { timeout: 10_000 })
  await reader.close()
  return register
}

describe('kill -9 during a write storm', () => {
  it(`loses no acknowledged write over ${cycles} kill cycles (seed ${seed})`, async () => {
    const random = prng(seed)
    const acknowledged: TrackedWrite[] = []
    let totalWrites = 0
    let hibernations = 0
    let wakes = 0
    // --hibernate-after-ms 1: the stores hibernate in every pause of the storm and are woken by
    // the next write, so kills also land between an ack and a hibernation, or mid-wake.
    const args = ['--message-rate', '1000000', '--message-burst', '1000000', '--log-level', 'error', '--hibernate-after-ms', '1']
    for (let cycle = 0; cycle < cycles; cycle++) {
      const server = await cli.start(args)
      // Everything acknowledged in earlier cycles survived the kill before this start.
      for (const store of stores) {
        const register = await readStore(server, store)
        const missing = acknowledged.filter((write) => write.store === store && register.get(write.key) !== write.value)
        expect(missing, `seed ${seed}, cycle ${cycle}: acknowledged writes lost in ${store}`).toEqual([])
        register.destroy()
      }

      const clients = stores.flatMap((store) => Array.from({ length: writersPerStore }, () => new TrackingClient(server.url, store)))
      await vi.waitFor(() => expect(clients.every((client) => client.raw.synced)).toBe(true), { timeout: 10_000 })
      let storming = true
      let sequence = 0
      const storm = async (): Promise<void> => {
        while (storming) {
          for (const [index, client] of clients.entries()) {
            // Batches of writes per turn, like an app writing in bursts.
            const batch = 1 + Math.floor(random() * 5)
            for (let n = 0; n < batch; n++) client.set(`c${cycle}-w${index}-${sequence++}`, `v${cycle}-${sequence}`)
          }
          await new Promise((resolve) => setImmediate(resolve))
        }
      }
      const stormDone = storm()
      const ackedSoFar = (): number => clients.reduce((sum, client) => sum + client.acknowledged().length, 0)
      await vi.waitFor(() => expect(ackedSoFar()).toBeGreaterThan(50), { timeout: 10_000, interval: 5 })
      // Kill at a random point shortly after, mid-storm.
      const extra = Math.floor(random() * 100)
      await vi.waitFor(() => expect(ackedSoFar()).toBeGreaterThan(50 + extra), { timeout: 10_000, interval: 5 })
      const metrics = await server.metrics()
      hibernations += metrics.get('kvsync_stores_hibernated_total') ?? 0
      wakes += metrics.get('kvsync_stores_woken_total') ?? 0
      server.kill('SIGKILL')
      expect((await server.exited).signal).toBe('SIGKILL')
      storming = false
      await stormDone
      for (const client of clients) {
        acknowledged.push(...client.acknowledged())
        totalWrites += client.writes.length
        client.close()
      }
    }
    const final = await cli.start(args)
    try {
      for (const store of stores) {
        const register = await readStore(final, store)
        const missing = acknowledged.filter((write) => write.store === store && register.get(write.key) !== write.value)
        expect(missing, `seed ${seed}: acknowledged writes lost in ${store}`).toEqual([])
        register.destroy()
      }
    } finally {
      final.kill('SIGTERM')
      await final.exited
    }
    console.log(`kill -9: ${cycles} cycles, ${totalWrites} writes, ${acknowledged.length} acknowledged, all present; ${hibernations} hibernations, ${wakes} wakes (seed ${seed})`)
    expect(acknowledged.length).toBeGreaterThan(cycles * 50)
    expect(wakes, 'the storm should have woken hibernated stores').toBeGreaterThan(0)
  }, 600_000)
})
