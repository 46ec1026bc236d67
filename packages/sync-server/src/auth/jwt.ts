import { createHmac, createPublicKey, timingSafeEqual, verify } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { KvsyncError } from '@kvsync/shared'

/** JWS algorithms the server verifies. Anything else (including `none`) is refused. */
export type JwtAlgorithm = 'HS256' | 'RS256' | 'ES256'

/** Keys a server verifies tokens with; at least one. Each key serves exactly one algorithm. */
export interface JwtKeys {
  /** Shared secret for HS256 (at least 32 bytes, RFC 7518 §3.2). */
  readonly secret?: Uint8Array
  /** An RSA (≥ 2048 bits, RS256) or EC P-256 (ES256) public key. */
  readonly publicKey?: KeyObject
}

/** Checks beyond the signature. */
export interface JwtCheckOptions {
  /** Current time in milliseconds (injected in tests). */
  readonly now: number
  /** Tolerated clock skew for `exp` and `nbf`, in seconds. */
  readonly leewaySeconds: number
  /** When set, `aud` (string or array) must contain it. */
  readonly audience?: string
  /** When set, `iss` must equal it. */
  readonly issuer?: string
}

/** The verified claims of a token. */
export type JwtPayload = Readonly<Record<string, unknown>>

/** Longest token accepted, so a hostile header cannot make us parse megabytes. */
export const MAX_TOKEN_LENGTH = 8192

const base64UrlPattern = /^[A-Za-z0-9_-]*$/

/**
 * Verifies a compact JWS (a JWT) and returns its payload, or throws a `KvsyncError`
 * `UNAUTHORIZED` saying why (malformed, unsupported algorithm, bad signature, expired, not yet
 * valid, wrong audience or issuer).
 *
 * Algorithm confusion is impossible by construction: the algorithm named in the header only
 * selects which configured key to use, and each key has exactly one algorithm. An `HS256` token
 * is checked against the secret only, never against the public key's bytes; `none` and every
 * algorithm not listed in {@link JwtAlgorithm} are refused.
 */
export function verifyJwt(token: string, keys: JwtKeys, options: JwtCheckOptions): JwtPayload {
  if (token.length > MAX_TOKEN_LENGTH) throw unauthorized(`the token is longer than ${MAX_TOKEN_LENGTH} characters`)
  const parts = token.split('.')
  if (parts.length !== 3 || !parts.every((part) => base64UrlPattern.test(part))) throw unauthorized('the token is not a compact JWS')
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string]
  const header = parseJsonObject(headerPart, 'header')
  const algorithm = header['alg']
  if (typeof algorithm !== 'string') throw unauthorized('the token header has no alg')
  // RFC 7515 §4.1.11: a token that needs extensions we do not understand must be rejected.
  if (header['crit'] !== undefined) throw unauthorized('the token uses critical header extensions')
  const signingInput = Buffer.from(`${headerPart}.${payloadPart}`, 'ascii')
  const signature = Buffer.from(signaturePart, 'base64url')
  if (!checkSignature(algorithm, keys, signingInput, signature)) throw unauthorized('the token signature is invalid')
  const payload = parseJsonObject(payloadPart, 'payload')
  checkTimes(payload, options)
  if (options.issuer !== undefined && payload['iss'] !== options.issuer) throw unauthorized('the token has the wrong issuer')
  if (options.audience !== undefined && !audienceMatches(payload['aud'], options.audience)) throw unauthorized('the token has the wrong audience')
  return payload
}

/** Which algorithm a public key verifies; throws `CONFIG_INVALID` for unusable keys. */
export function publicKeyAlgorithm(key: KeyObject): JwtAlgorithm {
  if (key.type !== 'public') throw new KvsyncError('CONFIG_INVALID', 'the auth public key must be a public key')
  const details = key.asymmetricKeyDetails
  if (key.asymmetricKeyType === 'rsa') {
    if ((details?.modulusLength ?? 0) < 2048) throw new KvsyncError('CONFIG_INVALID', 'an RS256 public key must have at least 2048 bits')
    return 'RS256'
  }
  if (key.asymmetricKeyType === 'ec' && details?.namedCurve === 'prime256v1') return 'ES256'
  throw new KvsyncError('CONFIG_INVALID', `unsupported public key type ${key.asymmetricKeyType ?? 'unknown'} (use RSA for RS256 or EC P-256 for ES256)`)
}

/** Reads a PEM public key (SPKI or X.509 certificate); throws `CONFIG_INVALID`. */
export function parsePublicKey(pem: string): KeyObject {
  let key: KeyObject
  try {
    key = createPublicKey({ key: pem, format: 'pem' })
  } catch (cause) {
    throw new KvsyncError('CONFIG_INVALID', 'the auth public key is not a PEM public key', { cause })
  }
  // createPublicKey also derives a public key from a private one; refuse that, the private key
  // has no business on the server.
  if (/PRIVATE KEY/.test(pem)) throw new KvsyncError('CONFIG_INVALID', 'the auth public key file holds a private key; give the public key only')
  publicKeyAlgorithm(key)
  return key
}

function checkSignature(algorithm: string, keys: JwtKeys, input: Buffer, signature: Buffer): boolean {
  switch (algorithm) {
    case 'HS256': {
      if (keys.secret === undefined) throw unauthorized('HS256 tokens are not accepted by this server')
      const expected = createHmac('sha256', keys.secret).update(input).digest()
      return expected.length === signature.length && timingSafeEqual(expected, signature)
    }
    case 'RS256':
    case 'ES256': {
      if (keys.publicKey === undefined || publicKeyAlgorithm(keys.publicKey) !== algorithm) {
        throw unauthorized(`${algorithm} tokens are not accepted by this server`)
      }
      if (algorithm === 'ES256') {
        // JWS ECDSA signatures are r || s, 32 bytes each (RFC 7518 §3.4), not DER.
        return signature.length === 64 && verify('sha256', input, { key: keys.publicKey, dsaEncoding: 'ieee-p1363' }, signature)
      }
      return verify('sha256', input, keys.publicKey, signature)
    }
    default:
      throw unauthorized(`the token algorithm ${JSON.stringify(algorithm.slice(0, 20))} is not accepted`)
  }
}

function checkTimes(payload: JwtPayload, options: JwtCheckOptions): void {
  const nowSeconds = options.now / 1000
  const exp = payload['exp']
  const nbf = payload['nbf']
  if (exp !== undefined && typeof exp !== 'number') throw unauthorized('the token exp claim is not a number')
  if (nbf !== undefined && typeof nbf !== 'number') throw unauthorized('the token nbf claim is not a number')
  if (typeof exp === 'number' && nowSeconds >= exp + options.leewaySeconds) throw unauthorized('the token has expired')
  if (typeof nbf === 'number' && nowSeconds + options.leewaySeconds < nbf) throw unauthorized('the token is not valid yet')
}

function audienceMatches(aud: unknown, expected: string): boolean {
  if (typeof aud === 'string') return aud === expected
  return Array.isArray(aud) && aud.includes(expected)
}

function parseJsonObject(part: string, what: string): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'))
  } catch {
    throw unauthorized(`the token ${what} is not JSON`)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw unauthorized(`the token ${what} is not a JSON object`)
  return value as Record<string, unknown>
}

function unauthorized(message: string): KvsyncError {
  return new KvsyncError('UNAUTHORIZED', message)
}
