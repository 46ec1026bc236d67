import { readFileSync } from 'node:fs'
import { ScannedEntries } from './dist/kv/scanned-entries.js'
import { scanLiveElements } from './dist/kv/update-scan.js'
const update = new Uint8Array(readFileSync('/tmp/prof/u100k.bin'))
for (let r = 0; r < 10; r++) {
const t0 = performance.now()
const live = scanLiveElements([update])
const t1 = performance.now()
const s = ScannedEntries.scan([update])
const t2 = performance.now()
if (r > 6) console.log('live', (t1 - t0).toFixed(1), 'full', (t2 - t1).toFixed(1))
}
