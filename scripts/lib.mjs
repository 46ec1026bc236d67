// Helpers shared by the developer scripts (setup, quickstart, test-all, ensure-chromium).
// Plain Node 20 ESM with no dependencies: these scripts run before anything is installed.
import { spawn } from 'node:child_process'
import { existsSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Repository root (the folder holding pnpm-workspace.yaml). */
export const root = join(dirname(fileURLToPath(import.meta.url)), '..')

/** The pinned pnpm, fetched by npx so a fresh machine needs only Node and npm. */
export const PNPM_VERSION = '12.4.2'
export const pnpm = ['npx', '-y', `pnpm@${PNPM_VERSION}`]

const useColor = process.stdout.isTTY && !process.env.NO_COLOR

/** A progress line, visibly different from the output of the commands we run. */
export function step(message) {
  const text = `[kvsync] ${message}`
  console.log(useColor ? `\x1b[1;36m${text}\x1b[0m` : text)
}

export function fail(message, exitCode = 1) {
  const text = `[kvsync] ERROR: ${message}`
  console.error(useColor ? `\x1b[1;31m${text}\x1b[0m` : text)
  process.exit(exitCode)
}

/**
 * Environment for commands that may compile native addons (better-sqlite3). node-gyp would
 * otherwise download Node headers, which fails without internet; Debian's nodejs ships them
 * under /usr/include/node.
 */
export function buildEnv(extra = {}) {
  const env = { ...process.env, ...extra }
  if (!env.npm_config_nodedir && existsSync('/usr/include/node/node.h')) env.npm_config_nodedir = '/usr'
  return env
}

/**
 * Runs a command with inherited stdio. Resolves with the exit code (never rejects for a
 * non-zero exit, so callers decide how to report it); rejects only when it cannot start.
 */
export function run(command, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, stdio: 'inherit', env: buildEnv(), ...options })
    child.on('error', reject)
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 + signalNumber(signal) : 1)))
  })
}

/** Runs a command and exits the process with a clear message when it fails. */
export async function runOrFail(what, command, args, options) {
  let code
  try {
    code = await run(command, args, options)
  } catch (error) {
    fail(`${what}: could not start \`${command}\`: ${error.message}`)
  }
  if (code !== 0) fail(`${what} failed (\`${[command, ...args].join(' ')}\` exited with ${code})`, code)
}

function signalNumber(signal) {
  return { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 }[signal] ?? 1
}

/** Modification time in ms, or undefined when the path does not exist. */
export function mtime(path) {
  try {
    return statSync(path).mtimeMs
  } catch {
    return undefined
  }
}

/** Seconds since `start` (a performance.now() value), for summaries. */
export function elapsed(start) {
  return `${((performance.now() - start) / 1000).toFixed(1)}s`
}
