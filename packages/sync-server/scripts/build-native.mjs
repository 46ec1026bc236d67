#!/usr/bin/env node
// The package's install script: compiles native/ (malloc_trim for glibc; see malloc_trim.c)
// with node-gyp. It is optional: when it cannot be built (no compiler, no Node headers) the
// server runs without giving freed memory back to the system, and this says so once, without
// failing the install.
import { spawnSync } from 'node:child_process'
import { existsSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const nativeDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'native')
// npm and pnpm name their bundled node-gyp in npm_config_node_gyp for install scripts; run by
// hand, the one that comes with Node's npm serves.
const nodeGyp = [process.env.npm_config_node_gyp, join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')].find(
  (path) => path !== undefined && existsSync(path),
)
const [command, args] = nodeGyp === undefined ? ['node-gyp', []] : [process.execPath, [nodeGyp]]
const result = spawnSync(command, [...args, 'rebuild', '--release'], { cwd: nativeDir, encoding: 'utf8' })
if (result.status !== 0) {
  // A half-built tree must not be mistaken for a built one.
  rmSync(join(nativeDir, 'build'), { recursive: true, force: true })
  // node-gyp's first error line and the first lines of its explanation say what went wrong.
  const errors = `${result.stderr}\n${result.stdout}`.split('\n').filter((line) => / ERR! (configure error|build error|stack Error|stack [a-z])/.test(line))
  const reason = result.error?.message ?? (errors.slice(0, 4).map((line) => line.replace(/^gyp ERR! (stack )?/, '').trim()).join(' ') || `node-gyp exited with ${result.status}`)
  process.stderr.write(
    `@kvsync/sync-server: the optional native helper (malloc_trim) was not built, so the server will not give freed memory back to the system: ${reason}\n` +
      '  To build it: install a C compiler, make and python3, set npm_config_nodedir to local Node headers if there is no network, and reinstall.\n',
  )
}
