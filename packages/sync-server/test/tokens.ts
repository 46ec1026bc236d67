import { createHmac, createPrivateKey, generateKeyPairSync, sign } from 'node:crypto'
import type { KeyObject } from 'node:crypto'

// Token forging for tests: honest tokens, and the tokens an attacker would try.

const encode = (value: unknown): string => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')

/** A test secret of the minimum length. */
export const SECRET = 'test-secret-that-is-32-bytes-ok!'

/** Claims valid for an hour from `now` (seconds), plus `extra`. */
export function claims(extra: Record<string, unknown> = {}, now = Date.now()): Record<string, unknown> {
  return { sub: 'user-42', iat: Math.floor(now / 1000), exp: Math.floor(now / 1000) + 3600, ...extra }
}

/** An HS256 token signed with `secret` (any bytes, even a PEM key: algorithm confusion). */
export function hs256(payload: Record<string, unknown>, secret: string | Buffer = SECRET, header: Record<string, unknown> = {}): string {
  const input = `${encode({ alg: 'HS256', typ: 'JWT', ...header })}.${encode(payload)}`
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
}

/** An RS256 or ES256 token signed with `privateKey`. */
export function asymmetric(alg: 'RS256' | 'ES256', payload: Record<string, unknown>, privateKey: KeyObject, header: Record<string, unknown> = {}): string {
  const input = `${encode({ alg, typ: 'JWT', ...header })}.${encode(payload)}`
  const key = alg === 'ES256' ? { key: privateKey, dsaEncoding: 'ieee-p1363' as const } : privateKey
  return `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`
}

/** An unsigned token (`alg: none`). */
export function unsigned(payload: Record<string, unknown>, alg = 'none'): string {
  return `${encode({ alg, typ: 'JWT' })}.${encode(payload)}.`
}

/** Replaces the payload of a signed token, keeping its (now wrong) signature. */
export function tamper(token: string, payload: Record<string, unknown>): string {
  const [header, , signature] = token.split('.')
  return `${header}.${encode(payload)}.${signature}`
}

/** Fresh key pairs; PEM public keys as the server reads them from `--auth-public-key`. */
export function keyPairs() {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const otherEc = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  return {
    rsa: { privateKey: rsa.privateKey, publicPem: rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString() },
    ec: { privateKey: ec.privateKey, publicPem: ec.publicKey.export({ type: 'spki', format: 'pem' }).toString() },
    otherEc: { privateKey: otherEc.privateKey },
    createPrivateKey,
  }
}
