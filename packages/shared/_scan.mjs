import * as Y from 'yjs'
import { KvRegister, ScannedEntries } from '@kvsync/shared'
const key = (i) => `key-${String(i).padStart(6, '0')}`
const value = (i, round = 0) => ({ n: i, round, label: `value ${i} of round ${round}` })
const doc = new Y.Doc(); const kv = new KvRegister(doc)
kv.transact(() => { for (let i = 0; i < 100000; i++) kv.set(key(i), value(i)) })
const update = Y.encodeStateAsUpdateV2(doc)
console.log('bytes', update.length)
for (let r = 0; r < 8; r++) {
  const t0 = performance.now()
  const s = ScannedEntries.scan([update])
  const t1 = performance.now()
  s.get(key(5))
  console.log('scan', (t1 - t0).toFixed(1), 'ms', s.size)
}
const t0 = performance.now(); const d = new Y.Doc(); Y.applyUpdateV2(d, update); const t1 = performance.now(); new KvRegister(d); console.log('yjs decode', (t1-t0).toFixed(0), 'register', (performance.now()-t1).toFixed(0))
