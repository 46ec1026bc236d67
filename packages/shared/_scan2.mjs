import * as Y from 'yjs'
import { KvRegister, ScannedEntries } from '@kvsync/shared'
const key = (i) => `key-${String(i).padStart(6, '0')}`
const value = (i, round = 0) => ({ n: i, round, label: `value ${i} of round ${round}` })
const doc = new Y.Doc(); const kv = new KvRegister(doc)
kv.transact(() => { for (let i = 0; i < 100000; i++) kv.set(key(i), value(i)) })
const update = Y.encodeStateAsUpdateV2(doc)
const t0 = performance.now()
const s = ScannedEntries.scan([update])
console.log('scan', (performance.now() - t0).toFixed(1))
