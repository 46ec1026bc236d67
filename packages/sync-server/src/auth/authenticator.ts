import type { IncomingMessage } from 'node:http'
import type { KeyObject } from 'node:crypto'
import { KvsyncError } from '@kvsync/shared'
import { accessFromClaims, openAccess } from './access.js'
import type { Access } from './access.js'
import { parsePublicKey, verifyJwt } from './jwt.js'
import type { JwtKeys } from './jwt.js'

/**
 * Token verification settings of a server. Without `secret` and `publicKey` the server runs in
 * open mode (no auth), which it only allows on loopback unless `insecure` is set.
 */
export interface AuthOptions {
  /** HS256 shared secret, at least 32 bytes. */
  readonly secret?: string | Uint8Array
  /** RS256 (RSA ≥ 2048 bits) or ES256 (EC P-256) public key, as PEM text or a `KeyObject`. */
  readonly publicKey?: string | KeyObject
  /** Tolerated clock skew for `exp` / `nbf`, in seconds. Default `10`. */
  readonly leewaySeconds?: number
  /** When set, tokens must name it in `aud`. */
  readonly audience?: string
  /** When set, tokens must have exactly this `iss`. */
  readonly issuer?: string
  /** Clock in ms since the epoch. Default `Date.now`; tests inject one. */
  readonly now?: () => number
}

/** Shortest HS256 secret accepted (RFC 7518 §3.2: a key of the hash's size or larger). */
export const MIN_SECRET_BYTES = 32

/** Verifies tokens and turns them into {@link Access}; see {@link AuthOptions}. */
export class Authenticator {
  /** True when no key is configured: every request gets full access. */
  readonly open: boolean
  readonly #keys: JwtKeys
  readonly #leewaySeconds: number
  readonly #audience: string | undefined
  readonly #issuer: string | undefined
  readonly #now: () => number

  /** Throws `CONFIG_INVALID` for a short secret or an unusable key. */
  constructor(options: AuthOptions = {}) {
    const secret = typeof options.secret === 'string' ? Buffer.from(options.secret, 'utf8') : options.secret
    if (secret !== undefined && secret.byteLength < MIN_SECRET_BYTES) {
      throw new KvsyncError('CONFIG_INVALID', `the auth secret must be at least ${MIN_SECRET_BYTES} bytes long`)
    }
    const publicKey = typeof options.publicKey === 'string' ? parsePublicKey(options.publicKey) : options.publicKey
    this.#keys = { ...(secret !== undefined ? { secret } : {}), ...(publicKey !== undefined ? { publicKey } : {}) }
    this.open = secret === undefined && publicKey === undefined
    const leeway = options.leewaySeconds ?? 10
    if (!(Number.isFinite(leeway) && leeway >= 0 && leeway <= 3600)) {
      throw new KvsyncError('CONFIG_INVALID', `the auth leeway must be 0–3600 seconds, got ${String(leeway)}`)
    }
    this.#leewaySeconds = leeway
    this.#audience = options.audience
    this.#issuer = options.issuer
    this.#now = options.now ?? Date.now
  }

  /** Current time of the injected clock, in ms. */
  now(): number {
    return this.#now()
  }

  /**
   * What `token` allows. In open mode everything, with or without a token. Otherwise throws a
   * `KvsyncError` `UNAUTHORIZED` when the token is missing or does not verify.
   */
  authenticate(token: string | undefined): Access {
    if (this.open) return openAccess
    if (token === undefined || token === '') throw new KvsyncError('UNAUTHORIZED', 'no token was presented')
    const payload = verifyJwt(token, this.#keys, {
      now: this.#now(),
      leewaySeconds: this.#leewaySeconds,
      ...(this.#audience !== undefined ? { audience: this.#audience } : {}),
      ...(this.#issuer !== undefined ? { issuer: this.#issuer } : {}),
    })
    return accessFromClaims(payload, this.#leewaySeconds)
  }
}

/**
 * The token of a request: the `Authorization: Bearer` header, or (for WebSockets, which
 * browsers cannot give headers) the `token` query parameter when `allowQuery` is set. Throws
 * `UNAUTHORIZED` for an Authorization header that is not a Bearer token or for several tokens.
 */
export function tokenFromRequest(request: IncomingMessage, allowQuery: boolean): string | undefined {
  const header = request.headers.authorization
  if (header !== undefined) {
    const match = /^Bearer +([^\s]+) *$/i.exec(header)
    if (match === null) throw new KvsyncError('UNAUTHORIZED', 'the Authorization header is not a Bearer token')
    return match[1]
  }
  if (!allowQuery) return undefined
  const url = request.url ?? ''
  const queryStart = url.indexOf('?')
  if (queryStart === -1) return undefined
  const tokens = new URLSearchParams(url.slice(queryStart + 1)).getAll('token')
  if (tokens.length > 1) throw new KvsyncError('UNAUTHORIZED', 'more than one token was presented')
  return tokens[0]
}

/** The request target without its query string, for logs: tokens must never reach a log. */
export function redactUrl(url: string | undefined): string {
  if (url === undefined) return ''
  const queryStart = url.search(/[?#]/)
  return (queryStart === -1 ? url : url.slice(0, queryStart)).slice(0, 300)
}
