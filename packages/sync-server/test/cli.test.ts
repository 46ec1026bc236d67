import { execFile, spawn } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { SqliteDocStorage } from '../src/index.js'
import { RawClient, tempDir } from './helpers.js'

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..')
const repoRoot = join(packageDir, '..', '..')
const bin = join(packageDir, 'bin', 'kvsync-server.js')
const cleanups: Array<() => Promise<unknown>> = []

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

// The bin runs the compiled CLI, exactly as users do; build it (and shared) once.
beforeAll(async () => {
  await promisify(execFile)(join(repoRoot, 'node_modules', '.bin', 'tsc'), ['-b', 'packages/sync-server'], { cwd: repoRoot })
}, 120_000)

interface Running {
  readonly url: string
  readonly stdout: string[]
  readonly stderr: string[]
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  kill(signal: NodeJS.Signals): void
}

async function run(args: string[], env: Record<string, string> = {}): Promise<Running> {
  const child = spawn(process.execPath, [bin, ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
  const stdout: string[] = []
  const stderr: string[] = []
  createInterface({ input: child.stdout }).on('line', (line) => stdout.push(line))
  createInterface({ input: child.stderr }).on('line', (line) => stderr.push(line))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }))
  })
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await exited
  })
  return {
    get url() {
      const match = /listening on (ws:\/\/[^\s/]+:\d+)/.exec(stdout.join('\n'))
      return match?.[1] ?? ''
    },
    stdout,
    stderr,
    exited,
    kill: (signal) => child.kill(signal),
  }
}

describe('kvsync-server CLI', () => {
  it('prints the real port, serves, and exits 0 on SIGTERM with the data kept', async () => {
    const dir = await tempDir()
    cleanups.push(dir.teardown)
    const data = join(dir.value, 'nested', 'data')
    const first = await run(['--port', '0', '--data', data])
    await vi.waitFor(() => expect(first.url).toMatch(/^ws:\/\/127\.0\.0\.1:[1-9]\d*$/), { timeout: 15_000 })
    expect(first.stdout).toHaveLength(1)
    expect(first.url).not.toBe('ws://127.0.0.1:0')

    const health = await fetch(`${first.url.replace('ws://', 'http://')}/healthz`)
    expect(await health.json()).toEqual({ status: 'ok' })
    const writer = new RawClient(`${first.url}/cli/store`)
    await vi.waitFor(() => expect(writer.synced).toBe(true))
    writer.map.set('saved', 'by the CLI')
    await vi.waitFor(() => expect(writer.received.some((message) => message.syncType === 2)).toBe(true))

    first.kill('SIGTERM')
    expect(await first.exited).toEqual({ code: 0, signal: null })
    await writer.closed

    const second = await run(['--port', '0', '--data', data])
    await vi.waitFor(() => expect(second.url).not.toBe(''), { timeout: 15_000 })
    const reader = new RawClient(`${second.url}/cli/store`)
    cleanups.push(() => reader.close())
    await vi.waitFor(() => expect(reader.map.get('saved')).toBe('by the CLI'))
    second.kill('SIGINT')
    expect((await second.exited).code).toBe(0)
  })

  it('exits 2 with a one-line error when --data is a regular file', async () => {
    const dir = await tempDir()
    cleanups.push(dir.teardown)
    const file = join(dir.value, 'not-a-dir')
    await writeFile(file, 'x')
    const result = await run(['--port', '0', '--data', file])
    expect((await result.exited).code).toBe(2)
    expect(result.stdout).toEqual([])
    expect(result.stderr).toHaveLength(1)
    expect(result.stderr[0]).toContain('--data')
    expect(result.stderr[0]).toContain('not a directory')
  })

  it('exits 2 on an unknown flag', async () => {
    const result = await run(['--prot', '1234'])
    expect((await result.exited).code).toBe(2)
    expect(result.stderr.join('\n')).toContain("'--prot'")
  })

  it('prints usage for --help and exits 0', async () => {
    const result = await run(['--help'])
    expect((await result.exited).code).toBe(0)
    expect(result.stdout.join('\n')).toContain('--data DIR')
  })

  it('refuses a non-loopback host without auth, and allows it with --insecure', async () => {
    const dir = await tempDir()
    cleanups.push(dir.teardown)
    const refused = await run(['--port', '0', '--data', dir.value, '--host', '0.0.0.0'])
    expect((await refused.exited).code).toBe(2)
    expect(refused.stderr.join('\n')).toMatch(/without auth/)
    const insecure = await run(['--port', '0', '--data', dir.value, '--host', '0.0.0.0', '--insecure'])
    await vi.waitFor(() => expect(insecure.url).toMatch(/^ws:\/\/0\.0\.0\.0:\d+$/), { timeout: 15_000 })
    insecure.kill('SIGTERM')
    expect((await insecure.exited).code).toBe(0)
  })

  it('reads auth from the environment and log settings from a config file', async () => {
    const dir = await tempDir()
    cleanups.push(dir.teardown)
    const configFile = join(dir.value, 'kvsync.json')
    await writeFile(configFile, JSON.stringify({ logFormat: 'json', logLevel: 'info', host: '0.0.0.0' }))
    const server = await run(['--port', '0', '--data', join(dir.value, 'data'), '--config', configFile, '--host', '127.0.0.1'], {
      KVSYNC_AUTH_SECRET: 'an-environment-secret-of-32-bytes',
    })
    await vi.waitFor(() => expect(server.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/), { timeout: 15_000 })
    const anonymous = new RawClient(`${server.url}/cli/store`)
    expect((await anonymous.closed).code).toBe(4401)
    await vi.waitFor(() => expect(server.stderr.some((line) => line.includes('refused a connection'))).toBe(true))
    for (const line of server.stderr) expect(() => JSON.parse(line) as unknown, line).not.toThrow()
    server.kill('SIGTERM')
    expect((await server.exited).code).toBe(0)
  })

  it('exits 2 for a short secret or an unreadable public key', async () => {
    const dir = await tempDir()
    cleanups.push(dir.teardown)
    const short = await run(['--port', '0', '--data', dir.value, '--auth-secret', 'short'])
    expect((await short.exited).code).toBe(2)
    expect(short.stderr.join('\n')).toMatch(/at least 32 bytes/)
    const missing = await run(['--port', '0', '--data', dir.value, '--auth-public-key', join(dir.value, 'nope.pem')])
    expect((await missing.exited).code).toBe(2)
    expect(missing.stderr.join('\n')).toMatch(/ENOENT/)
  })
})

describe('SqliteDocStorage in the built package', () => {
  // Run from dist/ as users run it: the storage thread's script must be found there too.
  const script = `
    const { SqliteDocStorage } = await import(${JSON.stringify(pathToFileURL(join(packageDir, 'dist', 'index.js')).href)})
    const [dataDir, mode] = process.argv.slice(2)
    const storage = new SqliteDocStorage({ dataDir })
    await storage.appendUpdate('doc', Uint8Array.of(mode === 'exit' ? 2 : 1))
    if (mode === 'exit') process.exit(0)
  `

  it('lets an idle process end on its own, and keeps writes acknowledged before process.exit', async () => {
    const dir = await tempDir()
    cleanups.push(dir.teardown)
    const file = join(dir.value, 'use-storage.mjs')
    await writeFile(file, script)
    const node = (mode: string) => promisify(execFile)(process.execPath, [file, join(dir.value, 'data'), mode], { cwd: repoRoot })
    // Never closed: the thread must not keep the process alive (a hang fails by the test timeout).
    await node('idle')
    await node('exit')
    const storage = new SqliteDocStorage({ dataDir: join(dir.value, 'data') })
    cleanups.push(() => storage.close())
    expect(await storage.loadUpdates('doc')).toEqual([Uint8Array.of(1), Uint8Array.of(2)])
  })
})
