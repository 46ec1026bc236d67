import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runDocStorageSuite } from '@kvsync/shared/testing'
import type { DocStorage } from '@kvsync/shared'
import { SqliteDocStorage } from './sqlite.js'

runDocStorageSuite('SqliteDocStorage', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'kvsync-sqlite-'))
  const opened: DocStorage[] = [new SqliteDocStorage({ dataDir })]
  return {
    adapter: opened[0] as DocStorage,
    async reopen() {
      const adapter = new SqliteDocStorage({ dataDir })
      opened.push(adapter)
      return adapter
    },
    async teardown() {
      for (const adapter of opened) await adapter.close?.()
      await rm(dataDir, { recursive: true, force: true })
    },
  }
})
