/**
 * WebSocket close codes kvsync uses, in one table. 4400–4499 are permanent: the client must not
 * retry with the same credentials or input. 4000–4399 are transient: retry with backoff.
 */
export const CloseCodes = {
  /** Normal closure by either side. */
  normal: { code: 1000, reason: 'normal' },
  /** The server is shutting down; reconnect elsewhere or later. */
  goingAway: { code: 1001, reason: 'going away' },
  /** The server hit an internal error while serving this connection. */
  serverError: { code: 4000, reason: 'server error' },
  /** The store could not be loaded from storage right now. */
  storageUnavailable: { code: 4001, reason: 'storage unavailable' },
  /** The connection sent messages faster than allowed. */
  rateLimited: { code: 4002, reason: 'rate limited' },
  /** The connection read too slowly and its send buffer overflowed. */
  slowConsumer: { code: 4003, reason: 'slow consumer' },
  /** The server has as many connections as it accepts. */
  tooManyConnections: { code: 4004, reason: 'too many connections' },
  /** A frame could not be decoded. */
  protocolError: { code: 4400, reason: 'protocol error' },
  /** No valid token was presented. */
  unauthorized: { code: 4401, reason: 'unauthorized' },
  /** The token does not allow this store or this operation. */
  forbidden: { code: 4403, reason: 'forbidden' },
  /** The store name in the URL is not a valid store name. */
  invalidStoreName: { code: 4404, reason: 'invalid store name' },
  /** A frame exceeded the maximum message size. */
  messageTooLarge: { code: 4413, reason: 'message too large' },
  /** The client speaks a protocol version this server does not. */
  versionMismatch: { code: 4426, reason: 'protocol version mismatch' },
} as const

export type CloseCodeName = keyof typeof CloseCodes

/** Whether a close code means "do not retry" (4400–4499). */
export function isPermanentCloseCode(code: number): boolean {
  return code >= 4400 && code <= 4499
}
