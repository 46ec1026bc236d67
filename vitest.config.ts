import { defineConfig } from 'vitest/config'

// Unit and integration tests of every package. Resolve workspace packages to their
// TypeScript sources (the "source" export condition) so tests never need a build.
export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts', 'packages/*/src/**/*.test.tsx', 'packages/*/test/**/*.test.tsx'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
})
