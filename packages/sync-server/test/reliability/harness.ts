import { execFile, spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll } from 'vitest'
import * as Y from 'yjs'
import { KvRegister } from '@kvsync/shared'
import { RawClient, tempDir } from '../helpers.js'

// Shared by the reliability tests: the real `kvsync-server` process, and kvsync-like clients
// (hello + the shared KvRegister) that record which writes the server acknowledged.

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const repoRoot = join(packageDir, '..', '..')
const bin = join(packageDir, 'bin', 'kvsync-server.js')

/** Builds the CLI the bin runs (tsc -b is incremental: fast when up to date). */
export async function buildCli(): Promise<void> {
  await promisify(execFile)(join(repoRoot, 'node_modules', '.bin', 'tsc'), ['-b', 'packages/sync-server'], { cwd: repoRoot })
}

/** A running `kvsync-server` child process. */
export interface ServerProcess {
  readonly url: string
  readonly httpUrl: string
  readonly pid: number
  readonly stderr: string[]
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  kill(signal: NodeJS.Signals): void
  /** Resident set size in bytes, from /proc/<pid>/status. */
  rss(): Promise<number>
  /** A sample of `/metrics` parsed into name{labels} → value. */
  metrics(): Promise<Map<string, number>>
}

/** Starts the CLI with `args` and resolves once it prints its listening line. */
export async function startServerProcess(args: string[]): Promise<ServerProcess> {
  const child: ChildProcess = spawn(process.execPath, [bin, '--port', '0', ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] })
  const stderr: string[] = []
  createInterface({ input: child.stderr! }).on('line', (line) => {
    if (stderr.length < 2000) stderr.push(line)
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }))
  })
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const match = /listening on (ws:\/\/[^\s/]+:\d+)/.exec(line)
      if (match?.[1] !== undefined) resolve(match[1])
    })
    void exited.then((status) => reject(new Error(`server exited before listening: ${JSON.stringify(status)}\n${stderr.join('\n')}`)))
  })
  const httpUrl = url.replace('ws://', 'http://')
  return {
    url,
    httpUrl,
    pid: child.pid ?? -1,
    stderr,
    exited,
    kill: (signal) => child.kill(signal),
    rss: async () => {
      const status = await readFile(`/proc/${child.pid}/status`, 'utf8')
      const match = /VmRSS:\s+(\d+) kB/.exec(status)
      return Number(match?.[1] ?? Number.NaN) * 1024
    },
    metrics: async () => parseMetrics(await (await fetch(`${httpUrl}/metrics`)).text()),
  }
}

/**
 * Per-file setup of the reliability tests: before them, the CLI is built and a temporary data
 * directory made; after them, every server started through `start` that still runs is killed
 * (SIGKILL, also when a test failed half-way) and the directory removed.
 */
export function cliServerFixture(prefix: string): { dataDir(): string; start(args: string[]): Promise<ServerProcess> } {
  let dir: { value: string; teardown: () => Promise<void> } | undefined
  const started: ServerProcess[] = []
  beforeAll(async () => {
    await buildCli()
    dir = await tempDir(prefix)
  }, 120_000)
  afterAll(async () => {
    for (const server of started.splice(0)) {
      server.kill('SIGKILL')
      await server.exited
    }
    await dir?.teardown()
  })
  const dataDir = (): string => {
    if (dir === undefined) throw new Error('the data directory exists once the tests run')
    return dir.value
  }
  return {
    dataDir,
    /** Starts the CLI on the data directory with `args`. */
    async start(args) {
      const server = await startServerProcess(['--data', dataDir(), ...args])
      started.push(server)
      return server
    },
  }
}

function parseMetrics(text: string): Map<string, number> {
  const values = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line === '') continue
    const space = line.lastIndexOf(' ')
    values.set(line.slice(0, space), Number(line.slice(space + 1)))
  }
  return values
}

/** A write the test made: key, value, and the Yjs clock its client reached with it. */
export interface TrackedWrite {
  readonly store: string
  readonly key: string
  readonly value: string
  readonly client: number
  readonly clock: number
}

/**
 * A kvsync-like client: says hello, writes through the shared KvRegister (one entry per set,
 * as the browser library does), and records every write with the clock it needs acknowledged.
 */
export class TrackingClient {
  readonly raw: RawClient
  readonly register: KvRegister
  readonly writes: TrackedWrite[] = []
  readonly store: string

  constructor(url: string, store: string) {
    this.store = store
    this.raw = new RawClient(`${url}/${store}`, { hello: true })
    this.register = new KvRegister(this.raw.doc)
    // Late errors of a killed server are expected; the harness reads `closed` instead.
    this.raw.socket.on('error', () => {})
  }

  set(key: string, value: string): void {
    this.register.set(key, value)
    const client = this.raw.doc.clientID
    this.writes.push({ store: this.store, key, value, client, clock: Y.getState(this.raw.doc.store, client) })
  }

  /** Writes covered by an ack: the ack's clock for the write's client reaches the write's clock. */
  acknowledged(): TrackedWrite[] {
    const best = new Map<number, number>()
    for (const ack of this.raw.acks) for (const [client, clock] of ack) best.set(client, Math.max(best.get(client) ?? 0, clock))
    return this.writes.filter((write) => (best.get(write.client) ?? 0) >= write.clock)
  }

  close(): void {
    this.register.destroy()
    this.raw.socket.terminate()
  }
}

/** The shared seeded PRNG, so a failing run can be replayed from its seed. */
export { seededRandom as prng } from '@kvsync/shared/testing'
