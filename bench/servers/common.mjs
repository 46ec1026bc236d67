import { getHeapSpaceStatistics } from 'node:v8'

// What every bench server process shares: the `listening on` line the runner waits for, and
// IPC commands to read its memory (after a full GC) and to stop.
export function serve({ url, close, extra = {} }) {
  process.stdout.write(`listening on ${url}\n`)
  process.on('message', async ({ id, cmd, args }) => {
    try {
      let result
      if (cmd === 'rss') {
        for (let i = 0; i < 3; i++) globalThis.gc?.()
        await new Promise((r) => setTimeout(r, 50))
        globalThis.gc?.()
        const { rss, heapUsed } = process.memoryUsage()
        // V8's young generation: it grows (to 32 MiB here) while a burst of allocations survives,
        // whatever the objects, and stays grown until allocation has been low for seconds.
        const youngGeneration = getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.space_size ?? 0
        result = { rss, heapUsed, youngGeneration }
      } else if (extra[cmd]) {
        result = await extra[cmd](args)
      } else {
        throw new Error(`unknown command ${cmd}`)
      }
      process.send({ id, result })
    } catch (error) {
      process.send({ id, error: String(error?.stack ?? error) })
    }
  })
  let stopping = false
  const stop = () => {
    if (stopping) process.exit(1)
    stopping = true
    Promise.resolve(close()).finally(() => process.exit(0))
    setTimeout(() => process.exit(0), 5_000).unref()
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  process.on('disconnect', stop)
}
