import type { IncomingMessage, ServerResponse } from 'node:http'
import { errorCode } from '../logger.js'
import type { Logger } from '../logger.js'
import { serveStatic } from './static-files.js'

/** Options of {@link createRequestHandler}. */
export interface RequestHandlerOptions {
  readonly logger: Logger
  /** Directory of static files to serve; none when `undefined`. */
  readonly staticDir: string | undefined
}

/**
 * Plain HTTP beside the WebSocket endpoint on the same port: `GET /healthz` and, optionally,
 * static files. Everything else is 404.
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
  if (options.staticDir !== undefined && readOnly && (await serveStatic(options.staticDir, request, response, path))) return
  sendJson(response, 404, { error: 'not found' })
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
