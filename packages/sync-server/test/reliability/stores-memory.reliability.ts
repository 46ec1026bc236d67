import { describe, expect, it, vi } from 'vitest'
import { RawClient } from '../helpers.js'
import { cliServerFixture } from './harness.js'

// Store lifecycle and memory: 10,000 stores touched one after another (connect, write one key,
// wait for the echo, disconnect) against the real CLI with a short idle unload. The server's
// RSS, sampled from /proc, must stay under the bound documented in docs/server.md, and every
// store must be unloaded at the end.
//   KVSYNC_LIFECYCLE_STORES   stores to touch (default 10,000)

const storeCount = Number(process.env['KVSYNC_LIFECYCLE_STORES'] ?? 10_000)
/** The documented bound (docs/server.md, "Memory"). */
const RSS_BOUND_BYTES = 160 * 1024 * 1024
const concurrency = Number(process.env['KVSYNC_LIFECYCLE_CONCURRENCY'] ?? 16)

const cli = cliServerFixture('kvsync-lifecycle-')

/** Connects, writes one key, waits for the server's echo of it (applied), disconnects. */
async function touch(url: string, store: string): Promise<void> {
  const client = new RawClient(`${url}/${store}`)
  const wait = { timeout: 20_000, interval: 2 }
  await vi.waitFor(() => expect(client.synced).toBe(true), wait)
  client.map.set('touched', store)
  await vi.waitFor(() => expect(client.received.filter((message) => message.syncType === 2).length).toBeGreaterThan(0), wait)
  client.awareness.destroy()
  await client.close()
}

describe('store lifecycle', () => {
  it(`keeps RSS under ${RSS_BOUND_BYTES / 1024 / 1024} MiB with ${storeCount} stores touched one after another`, async () => {
    const running = await cli.start(['--idle-unload-ms', '200', '--log-level', 'warn'])
    const baseline = await running.rss()
    let peak = baseline
    let next = 0
    const started = performance.now()
    const worker = async (): Promise<void> => {
      while (next < storeCount) {
        const index = next++
        await touch(running.url, `lifecycle/store-${index}`)
        if (index % 250 === 0) peak = Math.max(peak, await running.rss())
      }
    }
    await Promise.all(Array.from({ length: concurrency }, worker))
    peak = Math.max(peak, await running.rss())
    const touchSeconds = (performance.now() - started) / 1000
    await vi.waitFor(async () => expect((await running.metrics()).get('kvsync_loaded_stores')).toBe(0), { timeout: 20_000, interval: 100 })
    const after = await running.rss()
    const metrics = await running.metrics()
    console.log(
      `lifecycle: ${storeCount} stores in ${touchSeconds.toFixed(1)} s; RSS baseline ${mib(baseline)}, peak ${mib(peak)}, after unload ${mib(after)}; ` +
        `loaded ${metrics.get('kvsync_stores_loaded_total')}, unloaded ${metrics.get('kvsync_stores_unloaded_total')}; ` +
        `${metrics.get('kvsync_persist_duration_seconds_count')} storage writes, ${(metrics.get('kvsync_persist_duration_seconds_sum') ?? 0).toFixed(1)} s in storage`,
    )
    expect(metrics.get('kvsync_stores_loaded_total')).toBe(storeCount)
    expect(metrics.get('kvsync_stores_unloaded_total')).toBe(storeCount)
    expect(peak).toBeLessThan(RSS_BOUND_BYTES)
    // Spot check: an unloaded store comes back with its data.
    const again = new RawClient(`${running.url}/lifecycle/store-${storeCount - 1}`)
    await vi.waitFor(() => expect(again.map.get('touched')).toBe(`lifecycle/store-${storeCount - 1}`))
    await again.close()
  }, 180_000)
})

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`
}
