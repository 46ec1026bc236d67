import * as Y from 'yjs'
import { writeFileSync, readFileSync, existsSync } from 'node:fs'
import { KvRegister, ScannedEntries } from '@kvsync/shared'
const key = (i) => `key-${String(i).padStart(6, '0')}`
const value = (i, round = 0) => ({ n: i, round, label: `value ${i} of round ${round}` })
let update
if (existsSync('/tmp/prof/u100k.bin')) update = new Uint8Array(readFileSync('/tmp/prof/u100k.bin'))
else { const doc = new Y.Doc(); const kv = new KvRegister(doc)
kv.transact(() => { for (let i = 0; i < 100000; i++) kv.set(key(i), value(i)) })
update = Y.encodeStateAsUpdateV2(doc); writeFileSync('/tmp/prof/u100k.bin', update) }
const t0 = performance.now()
for (let i = 0; i < 20; i++) ScannedEntries.scan([update])
console.log('scan avg', ((performance.now() - t0) / 20).toFixed(1))
