// Vite builds the app into dist/, which `kvsync-server --static examples/todo/dist` serves.
// Workspace packages resolve to their TypeScript sources (the "source" export condition).
import { defineConfig, defaultClientConditions } from 'vite'

export default defineConfig({
  base: './',
  resolve: { conditions: ['source', ...defaultClientConditions] },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', sourcemap: true },
})
