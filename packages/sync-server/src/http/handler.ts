import type { IncomingMessage, ServerResponse } from 'node:http'
import { isKvsyncError } from '@kvsync/shared'
import { redactUrl, tokenFromRequest } from '../auth/authenticator.js'
import type { Authenticator } from '../auth/authenticator.js'
import { errorCode } from '../logger.js'
import type { Logger } from '../logger.js'
import type { ServerMetrics } from '../metrics/server-metrics.js'
import { serveStatic } from './static-files.js'

/** Options of {@link createRequestHandler}. */
export interface RequestHandlerOptions {
  readonly logger: Logger
  /** Directory of static files to serve; none when `undefined`. */
  readonly staticDir: string | undefined
  readonly authenticator: Authenticator
  readonly metrics: ServerMetrics
  /** Why the server is not ready (storage failing, shutting down), or `undefined` when it is. */
  readonly notReady: () => string | undefined
}

/**
 * Plain HTTP beside the WebSocket endpoint on the same port:
 *
 * - `GET /healthz`: 200 while the process serves requests (liveness);
 * - `GET /readyz`: 200 when the server listens, storage writes succeed and it is not shutting
 *   down, else 503 with the reason;
 * - `GET /metrics`: Prometheus text. With auth configured it needs `Authorization: Bearer` with
 *   a token whose claims say `kvsync: { metrics: true }` (401 without a valid token, 403 with
 *   one that lacks the claim);
 * - static files, when configured. Everything else is 404.
 */
export function createRequestHandler(options: RequestHandlerOptions): (request: IncomingMessage, response: ServerResponse) => void {
  return (request, response) => {
    handle(options, request, response).catch((error: unknown) => {
      options.logger.error('HTTP request failed', { url: request.url, code: errorCode(error), error })
      if (!response.headersSent) sendJson(response, 500, { error: 'internal server error' })
      else response.destroy()
    })
  }
}

async function handle(options: RequestHandlerOptions, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const path = (request.url ?? '/').split(/[?#]/, 1)[0] ?? '/'
  const readOnly = request.method === 'GET' || request.method === 'HEAD'
  if (path === '/healthz') {
    if (!readOnly) return sendJson(response, 405, { error: 'method not allowed' }, { Allow: 'GET, HEAD' })
    return sendJson(response, 200, { status: 'ok' })
  }
  if (path === '/readyz') {
    if (!readOnly) return sendJson(response, 405, { error: 'method not allowed' }, { Allow: 'GET, HEAD' })
    const problem = options.notReady()
    return problem === undefined ? sendJson(response, 200, { status: 'ready' }) : sendJson(response, 503, { status: 'not ready', reason: problem })
  }
  if (path === '/metrics') {
    if (!readOnly) return sendJson(response, 405, { error: 'method not allowed' }, { Allow: 'GET, HEAD' })
    return serveMetrics(options, request, response)
  }
  if (options.staticDir !== undefined && readOnly && (await serveStatic(options.staticDir, request, response, path))) return
  sendJson(response, 404, { error: 'not found' })
}

function serveMetrics(options: RequestHandlerOptions, request: IncomingMessage, response: ServerResponse): void {
  // Tokens only in the header here: URLs of plain HTTP requests end up in proxy logs.
  let allowed: boolean
  try {
    allowed = options.authenticator.authenticate(tokenFromRequest(request, false)).metrics
  } catch (error) {
    if (!isKvsyncError(error)) throw error
    options.metrics.errors.inc({ code: error.code })
    options.logger.info('refused an HTTP request', { url: redactUrl(request.url), code: error.code, reason: error.message })
    return sendJson(response, 401, { error: 'unauthorized', code: error.code, message: error.message }, { 'WWW-Authenticate': 'Bearer realm="kvsync"' })
  }
  if (!allowed) {
    options.metrics.errors.inc({ code: 'FORBIDDEN' })
    return sendJson(response, 403, { error: 'forbidden', code: 'FORBIDDEN', message: 'this token may not read metrics' })
  }
  const text = options.metrics.registry.render()
  response.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-cache' })
  response.end(request.method === 'HEAD' ? undefined : text)
}

function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body)
  response.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-cache',
    ...headers,
  })
  // HEAD gets the headers of the GET answer and no body.
  response.end(response.req.method === 'HEAD' ? undefined : text)
}
