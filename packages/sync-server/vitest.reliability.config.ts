import { defineConfig } from 'vitest/config'

// Reliability tests of the sync server: kill -9 cycles, the 10,000-store memory test and the
// fuzz test. Each drives a real `kvsync-server` process for several seconds, so they stay out
// of the default `vitest run`. Run from the repository root:
//   npx vitest run -c packages/sync-server/vitest.reliability.config.ts
// Bigger runs: KVSYNC_CRASH_CYCLES=50 KVSYNC_FUZZ_FRAMES=200000 (see docs/server.md).
export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: ['packages/sync-server/test/reliability/**/*.reliability.ts'],
    // One at a time: each test measures a server process, and there are only 2 cores.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
})
