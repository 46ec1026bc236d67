#!/usr/bin/env node
// `npm start`: set up (install + build), then run the sync server on its embedded SQLite store
// under ./.kvsync-data, serving the preferences PWA from examples/preferences-pwa/dist.
//   KVSYNC_PORT=9000 npm start          another port
//   npm start -- --host 0.0.0.0         extra arguments go to kvsync-server (later ones win)
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { setup } from './setup.mjs'
import { buildEnv, fail, root, step } from './lib.mjs'

await setup()

const port = process.env.KVSYNC_PORT ?? '8787'
if (!/^\d+$/.test(port) || Number(port) > 65535) fail(`KVSYNC_PORT must be a port number, got "${port}"`)
const serverBin = join('packages', 'sync-server', 'bin', 'kvsync-server.js')
const args = [serverBin, '--port', port, '--data', './.kvsync-data', '--static', 'examples/preferences-pwa/dist', ...process.argv.slice(2)]

step(`Starting the sync server: node ${args.join(' ')}`)
const child = spawn(process.execPath, args, { cwd: root, stdio: ['inherit', 'pipe', 'pipe'], env: buildEnv() })
child.on('error', (error) => fail(`could not start the sync server: ${error.message}`))

let announced = false
const listening = /listening on ws:\/\/([^\s/]+):(\d+)/
createInterface({ input: child.stdout }).on('line', (line) => {
  console.log(line)
  const match = listening.exec(line)
  if (match && !announced) {
    announced = true
    // A server bound to all interfaces is still reachable through loopback.
    const host = match[1] === '0.0.0.0' || match[1] === '[::]' ? '127.0.0.1' : match[1]
    step(`kvsync is running. Open http://${host}:${match[2]}/ in two browser windows`)
    step('(preferences sync between them; add ?profile=NAME for another profile). Press Ctrl+C to stop.')
  }
})
createInterface({ input: child.stderr }).on('line', (line) => console.error(line))

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal)
  })
}

child.on('exit', (code, signal) => {
  if (signal === 'SIGINT' || signal === 'SIGTERM' || signal === 'SIGHUP') {
    step('Sync server stopped')
    process.exit(0)
  }
  if (code === 0) {
    step('Sync server stopped')
    process.exit(0)
  }
  fail(`the sync server exited with ${code ?? signal}${announced ? '' : ' before it started listening'}`, code || 1)
})
