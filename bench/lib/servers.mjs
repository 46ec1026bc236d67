// Starts each server system in its own Node process (see servers/*.mjs) on 127.0.0.1:0.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startClientProc, startServer } from './proc.mjs'

export const benchDir = join(dirname(fileURLToPath(import.meta.url)), '..')
export const serverSystems = ['kvsync', 'y-websocket-server', 'hocuspocus', 'ws-broadcast']

/**
 * @param {string} system
 * @param {{ probe?: boolean, idleUnloadMs?: number, cpuProfDir?: string }} options
 */
export async function startSystem(system, options = {}) {
  const args = []
  let dataDir
  if (system === 'kvsync') {
    dataDir = mkdtempSync(join(tmpdir(), 'kvsync-bench-data-'))
    args.push('--data', dataDir)
    if (options.probe) args.push('--probe')
    if (options.idleUnloadMs !== undefined) args.push('--idle-unload', String(options.idleUnloadMs))
  }
  // KVSYNC_BENCH_CPU_PROF=DIR: every kvsync server process writes a V8 CPU profile there on exit.
  const cpuProfDir = options.cpuProfDir ?? (system === 'kvsync' ? process.env.KVSYNC_BENCH_CPU_PROF : undefined)
  const nodeArgs = cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`] : []
  const server = await startServer(join(benchDir, 'servers', `${system}.mjs`), args, { nodeArgs })
  return {
    ...server,
    async stop() {
      await server.stop()
      if (dataDir) rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

/** A client worker process for `workers/<name>.mjs`. */
export function clientProc(name) {
  // KVSYNC_BENCH_CLIENT_CPU_PROF=DIR: client worker processes write CPU profiles there on exit.
  const dir = process.env.KVSYNC_BENCH_CLIENT_CPU_PROF
  const nodeArgs = dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : []
  return startClientProc(join(benchDir, 'lib', 'client-proc.mjs'), join(benchDir, 'workers', `${name}.mjs`), { nodeArgs })
}
