import { createReadStream } from 'node:fs'
import { realpath, stat } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { isAbsolute, join, relative, resolve, sep } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { errorCode } from '../logger.js'
import { contentTypeFor } from './content-types.js'

/**
 * Maps a URL path onto a file inside `root`, or `undefined` when it would leave `root` (`..`,
 * encoded `%2e%2e`, backslashes, NUL bytes). Symbolic links are checked separately, once the
 * file is known to exist.
 */
export function resolveStaticPath(root: string, urlPath: string): string | undefined {
  let decoded: string
  try {
    decoded = decodeURIComponent(urlPath)
  } catch {
    return undefined
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return undefined
  const base = resolve(root)
  const target = resolve(base, `.${decoded.startsWith('/') ? decoded : `/${decoded}`}`)
  return isInside(base, target) ? target : undefined
}

function isInside(base: string, target: string): boolean {
  const rel = relative(base, target)
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel))
}

/**
 * Serves a GET or HEAD request from `root`: `index.html` for directories, `Cache-Control:
 * no-cache` so a redeploy is picked up on the next load. Resolves to `false` (nothing sent) when
 * no file matches, so the caller can answer 404.
 */
export async function serveStatic(root: string, request: IncomingMessage, response: ServerResponse, urlPath: string): Promise<boolean> {
  let file = resolveStaticPath(root, urlPath)
  if (file === undefined) return false
  let info = await stat(file).catch(() => undefined)
  if (info?.isDirectory() === true) {
    file = join(file, 'index.html')
    info = await stat(file).catch(() => undefined)
  }
  if (info === undefined || !info.isFile()) return false
  // A symlink inside root may point anywhere; serve it only if its target stays inside root.
  const [realRoot, realFile] = await Promise.all([realpath(root), realpath(file)])
  if (!isInside(realRoot, realFile)) return false
  response.writeHead(200, {
    'Content-Type': contentTypeFor(realFile),
    'Content-Length': info.size,
    'Cache-Control': 'no-cache',
    'X-Content-Type-Options': 'nosniff',
  })
  if (request.method === 'HEAD') {
    response.end()
    return true
  }
  try {
    await pipeline(createReadStream(realFile), response)
  } catch (error) {
    // The browser went away mid-download (navigation, reload): nothing to report.
    if (errorCode(error) !== 'ERR_STREAM_PREMATURE_CLOSE') throw error
  }
  return true
}
