// A real kvsync-server process for e2e tests: spawned from the CLI exactly as users run it,
// stopped with SIGTERM, restartable on the same port and data directory.
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { TestInfo } from '@playwright/test'

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..')
const serverBin = join(repoRoot, 'packages', 'sync-server', 'bin', 'kvsync-server.js')
const listeningLine = /listening on ws:\/\/([^\s/]+):(\d+)/

/**
 * The environment without KVSYNC_* settings: the server reads them (auth secret, config file,
 * limits), and a developer's shell must not change what the tests run against.
 */
function serverEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('KVSYNC_')))
}

export interface ServerExit {
  code: number | null
  signal: NodeJS.Signals | null
}

export interface KvsyncServerOptions {
  /** Folder for the embedded SQLite store (`--data`). */
  dataDir: string
  /** Folder served over HTTP (`--static`), so pages share the WebSocket's origin. */
  staticDir: string
  /** How long to wait for the `listening on` line. Default 20 s. */
  startTimeoutMs?: number
}

export class KvsyncServer {
  readonly dataDir: string
  readonly staticDir: string
  /** Every line the process printed (stdout and stderr), across restarts; attached on failure. */
  readonly log: string[] = []
  #child: ChildProcess | undefined
  #exited: Promise<ServerExit> | undefined
  #host = '127.0.0.1'
  #port = 0
  readonly #startTimeoutMs: number

  constructor(options: KvsyncServerOptions) {
    this.dataDir = options.dataDir
    this.staticDir = options.staticDir
    this.#startTimeoutMs = options.startTimeoutMs ?? 20_000
  }

  get port(): number {
    if (this.#port === 0) throw new Error('the server has not started yet')
    return this.#port
  }

  /** Base WebSocket URL for `openStore(name, { url })`. */
  get wsUrl(): string {
    return `ws://${this.#host}:${this.port}`
  }

  /** Page origin: the harness is served from here. */
  get httpUrl(): string {
    return `http://${this.#host}:${this.port}/`
  }

  get running(): boolean {
    return this.#child !== undefined
  }

  /** Starts the process; the first start picks a free port, restarts reuse it. */
  async start(): Promise<void> {
    if (this.#child) throw new Error('the server is already running')
    const args = [serverBin, '--host', '127.0.0.1', '--port', String(this.#port), '--data', this.dataDir, '--static', this.staticDir]
    this.log.push(`$ node ${args.join(' ')}`)
    const child = spawn(process.execPath, args, { cwd: repoRoot, env: serverEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
    this.#child = child
    const exited = new Promise<ServerExit>((resolve) => {
      child.on('exit', (code, signal) => {
        this.log.push(`[exit code=${code} signal=${signal}]`)
        resolve({ code, signal })
      })
    })
    this.#exited = exited

    const listening = new Promise<{ host: string; port: number }>((resolve) => {
      for (const stream of [child.stdout, child.stderr]) {
        createInterface({ input: stream }).on('line', (line) => {
          this.log.push(line)
          const match = listeningLine.exec(line)
          if (match?.[1] && match[2]) resolve({ host: match[1], port: Number(match[2]) })
        })
      }
    })
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no "listening on" line within ${this.#startTimeoutMs} ms`)), this.#startTimeoutMs)
    })
    const spawnError = new Promise<never>((_, reject) => child.on('error', reject))
    const earlyExit = exited.then((exit): never => {
      throw new Error(`kvsync-server exited before listening (code ${exit.code}, signal ${exit.signal})`)
    })
    try {
      const address = await Promise.race([listening, timeout, spawnError, earlyExit])
      this.#host = address.host
      this.#port = address.port
    } catch (error) {
      await this.#forceStop()
      throw new Error(`${(error as Error).message}\n${this.log.join('\n')}`)
    } finally {
      clearTimeout(timer)
    }
  }

  /** SIGTERM and wait for the exit (SIGKILL after 10 s). Returns how the process ended. */
  async stop(): Promise<ServerExit> {
    const child = this.#child
    const exited = this.#exited
    if (!child || !exited) throw new Error('the server is not running')
    child.kill('SIGTERM')
    const killTimer = setTimeout(() => child.kill('SIGKILL'), 10_000)
    try {
      return await exited
    } finally {
      clearTimeout(killTimer)
      this.#child = undefined
      this.#exited = undefined
    }
  }

  async restart(): Promise<ServerExit> {
    const exit = await this.stop()
    await this.start()
    return exit
  }

  async #forceStop(): Promise<void> {
    const child = this.#child
    const exited = this.#exited
    this.#child = undefined
    this.#exited = undefined
    if (child && exited && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await exited
    }
  }

  /** For fixture teardown: stop if running, never throw. */
  async dispose(): Promise<ServerExit | undefined> {
    if (!this.#child) return undefined
    return this.stop().catch(async () => {
      await this.#forceStop()
      return undefined
    })
  }
}

/**
 * Runs a fixture body with a fresh server serving `staticDir` from a new temporary data
 * directory; stops it and removes the directory afterwards, attaching its log when the test
 * failed. Shared by the Playwright fixtures.
 */
export async function useServer(staticDir: string, testInfo: TestInfo, use: (server: KvsyncServer) => Promise<void>): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'kvsync-e2e-'))
  const server = new KvsyncServer({ dataDir, staticDir })
  try {
    await server.start()
    await use(server)
  } finally {
    await server.dispose()
    if (testInfo.status !== testInfo.expectedStatus) {
      await testInfo.attach('kvsync-server.log', { body: server.log.join('\n'), contentType: 'text/plain' })
    }
    await rm(dataDir, { recursive: true, force: true })
  }
}
