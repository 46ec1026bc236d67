// Child processes of a bench run: every one is tracked and killed when the run ends, fails or
// is interrupted, so no server or client outlives `pnpm bench`.
import { fork, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'

const children = new Set()
const cleanups = new Set()
let exiting = false

/** Registers `fn` to run (once) when the process exits or is interrupted. */
export function onCleanup(fn) {
  cleanups.add(fn)
  return () => cleanups.delete(fn)
}

function killAll() {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        child.kill('SIGKILL')
      } catch {
        // Already gone.
      }
    }
  }
  children.clear()
}

export async function runCleanups() {
  for (const fn of [...cleanups].reverse()) {
    cleanups.delete(fn)
    try {
      await fn()
    } catch {
      // Best effort: the rest must still run.
    }
  }
  killAll()
}

process.on('exit', killAll)
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    if (exiting) process.exit(130)
    exiting = true
    process.stderr.write(`\nbench: ${signal}, cleaning up\n`)
    runCleanups().finally(() => process.exit(130))
  })
}

function track(child) {
  children.add(child)
  child.on('exit', () => children.delete(child))
  return child
}

export { now } from './clock.mjs'

/**
 * Starts a Node script with IPC; resolves once it printed `listening on ws://HOST:PORT`.
 * Returns { url, child, call(cmd, args), stop() }.
 */
export async function startServer(script, args = [], { nodeArgs = [], env = {}, timeoutMs = 20_000 } = {}) {
  const child = track(fork(script, args, { execArgv: ['--expose-gc', ...nodeArgs], stdio: ['ignore', 'pipe', 'pipe', 'ipc'], env: { ...process.env, ...env } }))
  const log = []
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script}: no "listening on" line within ${timeoutMs} ms\n${log.join('\n')}`)), timeoutMs)
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        if (log.length < 200) log.push(line)
        const match = /listening on (ws:\/\/[^\s/]+:\d+)/.exec(line)
        if (match) {
          clearTimeout(timer)
          resolve(match[1])
        }
      })
    }
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`${script} exited (${code ?? signal}) before listening\n${log.join('\n')}`))
    })
  })
  const rpc = makeRpc(child)
  return { url, child, log, call: rpc.call, stop: () => stopChild(child) }
}

/** Starts a client worker process running bench/lib/client-proc.mjs with module `script`. */
export async function startClientProc(clientProc, script, { nodeArgs = [] } = {}) {
  const child = track(fork(clientProc, [script], { execArgv: nodeArgs, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }))
  const rpc = makeRpc(child)
  await rpc.call('__ready', {})
  return { child, call: rpc.call, stop: () => stopChild(child) }
}

function makeRpc(child) {
  let nextId = 1
  const waiting = new Map()
  child.on('message', (message) => {
    const entry = waiting.get(message?.id)
    if (entry === undefined) return
    waiting.delete(message.id)
    if (message.error !== undefined) entry.reject(new Error(message.error))
    else entry.resolve(message.result)
  })
  child.on('exit', (code, signal) => {
    for (const entry of waiting.values()) entry.reject(new Error(`child exited (${code ?? signal}) during a call`))
    waiting.clear()
  })
  return {
    call(cmd, args = {}, timeoutMs = 300_000) {
      const id = nextId++
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(id)
          reject(new Error(`call ${cmd} timed out after ${timeoutMs} ms`))
        }, timeoutMs)
        waiting.set(id, {
          resolve: (v) => (clearTimeout(timer), resolve(v)),
          reject: (e) => (clearTimeout(timer), reject(e)),
        })
        child.send({ id, cmd, args })
      })
    },
  }
}

/** SIGTERM, then SIGKILL after 5 s; resolves when the child is gone. */
export function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
    child.kill('SIGTERM')
  })
}

/** Runs a command to completion; resolves with { code, stdout }. */
export function run(cmd, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = track(spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], ...options }))
    let stdout = ''
    child.stdout.on('data', (chunk) => (stdout += chunk))
    child.on('error', reject)
    child.on('exit', (code) => resolve({ code, stdout }))
  })
}
