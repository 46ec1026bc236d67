import { readFileSync } from 'node:fs'
import { ScannedEntries } from './dist/kv/scanned-entries.js'
const update = new Uint8Array(readFileSync('/tmp/prof/u100k.bin'))
for (let r = 0; r < 10; r++) { ScannedEntries.scan([update]); if (r > 6) console.log(globalThis.T.map((x) => x.toFixed(1))) }
