import { runDocStorageSuite } from '@kvsync/shared/testing'
import { MemoryDocStorage } from './memory.js'

runDocStorageSuite('MemoryDocStorage', async () => {
  const adapter = new MemoryDocStorage()
  return { adapter, teardown: () => adapter.close() }
})
