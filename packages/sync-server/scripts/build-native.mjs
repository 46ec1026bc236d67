#!/usr/bin/env node
// The package's install script: compiles native/ (malloc_trim for glibc; see malloc_trim.c)
// with node-gyp. It is optional: where it cannot be built (no compiler, no Node headers) the
// server runs without giving freed memory back to the system, and this says why once, without
// failing the install. Off Linux/glibc there is nothing to build: malloc_trim does not exist.
import { spawnSync } from 'node:child_process'
import { existsSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const nativeDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'native')
const glibc = process.platform === 'linux' && typeof process.report.getReport().header?.glibcVersionRuntime === 'string'
if (!glibc) process.exit(0)

// npm and pnpm name their bundled node-gyp in npm_config_node_gyp for install scripts; run by
// hand, the one that comes with Node's npm serves.
const nodeGyp = [process.env.npm_config_node_gyp, join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')].find(
  (path) => path !== undefined && existsSync(path),
)
const [command, args] = nodeGyp === undefined ? ['node-gyp', []] : [process.execPath, [nodeGyp]]
// Bounded: node-gyp downloads Node's headers when npm_config_nodedir names none, and a
// black-holed proxy must not hang the install.
const result = spawnSync(command, [...args, 'rebuild', '--release'], { cwd: nativeDir, encoding: 'utf8', timeout: 180_000 })
if (result.status !== 0) {
  // A half-built tree must not be mistaken for a built one.
  rmSync(join(nativeDir, 'build'), { recursive: true, force: true })
  process.stderr.write(
    `@kvsync/sync-server: the optional native helper (malloc_trim) was not built, so the server will not give freed memory back to the system: ${failureReason(result)}\n` +
      '  To build it: a C compiler, make and python3; npm_config_nodedir naming local Node headers (e.g. /usr) where there is no network; then reinstall or run this script again.\n',
  )
}

/** node-gyp's own error lines, or a missing tool's, or how it ended. */
function failureReason(outcome) {
  if (outcome.error !== undefined) return outcome.error.message
  const lines = `${outcome.stderr}\n${outcome.stdout}`.split('\n')
  const missingTool = lines.find((line) => /not found|No such file or directory|command not found/.test(line) && !line.includes('gyp info'))
  const errors = lines.filter((line) => / ERR! (configure error|build error|stack Error|stack [a-z])/.test(line)).slice(0, 4)
  const said = [missingTool, ...errors.map((line) => line.replace(/^gyp ERR! (stack )?/, ''))].filter(Boolean).map((line) => line.trim())
  if (said.length > 0) return said.join(' ')
  return outcome.signal !== null ? `node-gyp was stopped by ${outcome.signal}` : `node-gyp exited with ${outcome.status}`
}
