import { createPublicKey, generateKeyPairSync } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { isKvsyncError } from '@kvsync/shared'
import { SECRET, asymmetric, claims, hs256, keyPairs, tamper, unsigned } from '../../test/tokens.js'
import { MAX_TOKEN_LENGTH, parsePublicKey, publicKeyAlgorithm, verifyJwt } from './jwt.js'
import type { JwtKeys } from './jwt.js'

const keys = keyPairs()
const now = Date.UTC(2030, 0, 1)
const nowSeconds = now / 1000
const options = { now, leewaySeconds: 10 }
const secretOnly: JwtKeys = { secret: Buffer.from(SECRET) }
const rsaOnly: JwtKeys = { publicKey: parsePublicKey(keys.rsa.publicPem) }
const ecOnly: JwtKeys = { publicKey: parsePublicKey(keys.ec.publicPem) }

function rejects(token: string, jwtKeys: JwtKeys, message: RegExp, checks = options): void {
  let caught: unknown
  try {
    verifyJwt(token, jwtKeys, checks)
  } catch (error) {
    caught = error
  }
  expect(isKvsyncError(caught, 'UNAUTHORIZED'), String(caught)).toBe(true)
  expect((caught as Error).message).toMatch(message)
}

describe('verifyJwt', () => {
  it('accepts HS256, RS256 and ES256 tokens signed with the configured keys', () => {
    const payload = claims({ kvsync: { read: ['a'] } }, now)
    expect(verifyJwt(hs256(payload), secretOnly, options)).toEqual(payload)
    expect(verifyJwt(asymmetric('RS256', payload, keys.rsa.privateKey), rsaOnly, options)).toEqual(payload)
    expect(verifyJwt(asymmetric('ES256', payload, keys.ec.privateKey), ecOnly, options)).toEqual(payload)
  })

  it('rejects a wrong signature and a tampered payload', () => {
    const payload = claims({}, now)
    rejects(hs256(payload, 'another-secret-that-is-32-bytes!!'), secretOnly, /signature/)
    rejects(tamper(hs256(payload), { ...payload, kvsync: { write: ['**'] } }), secretOnly, /signature/)
    rejects(asymmetric('ES256', payload, keys.otherEc.privateKey), ecOnly, /signature/)
    rejects(tamper(asymmetric('RS256', payload, keys.rsa.privateKey), { ...payload, sub: 'admin' }), rsaOnly, /signature/)
  })

  it.each(['none', 'None', 'NONE', 'nOnE'])('rejects alg %s, signed or not', (alg) => {
    const payload = claims({}, now)
    rejects(unsigned(payload, alg), secretOnly, /algorithm/)
    rejects(unsigned(payload, alg), rsaOnly, /algorithm/)
    rejects(`${unsigned(payload, alg)}c2ln`, secretOnly, /algorithm/)
  })

  it.each(['HS384', 'HS512', 'RS512', 'PS256', 'ES384', 'EdDSA', ''])('rejects algorithm %j', (alg) => {
    rejects(hs256(claims({}, now), SECRET, { alg }), secretOnly, /algorithm/)
  })

  it('refuses algorithm confusion: an HS256 token keyed with the public key PEM', () => {
    const payload = claims({}, now)
    rejects(hs256(payload, keys.rsa.publicPem), rsaOnly, /HS256 tokens are not accepted/)
    rejects(hs256(payload, keys.ec.publicPem), ecOnly, /HS256 tokens are not accepted/)
    // Even with both kinds of key configured, HS256 is checked with the secret only.
    rejects(hs256(payload, keys.rsa.publicPem), { ...secretOnly, ...rsaOnly }, /signature/)
  })

  it('rejects an algorithm that does not match the public key', () => {
    const payload = claims({}, now)
    rejects(asymmetric('RS256', payload, keys.rsa.privateKey), ecOnly, /RS256 tokens are not accepted/)
    rejects(asymmetric('ES256', payload, keys.ec.privateKey), rsaOnly, /ES256 tokens are not accepted/)
    rejects(asymmetric('RS256', payload, keys.rsa.privateKey), secretOnly, /RS256 tokens are not accepted/)
  })

  it('rejects a DER-encoded ES256 signature', () => {
    const token = asymmetric('ES256', claims({}, now), keys.ec.privateKey)
    const [header, payload] = token.split('.')
    const der = Buffer.alloc(72, 1).toString('base64url')
    rejects(`${header}.${payload}.${der}`, ecOnly, /signature/)
  })

  it('honours exp and nbf with the leeway', () => {
    rejects(hs256({ exp: nowSeconds - 11 }), secretOnly, /expired/)
    expect(() => verifyJwt(hs256({ exp: nowSeconds - 9 }), secretOnly, options)).not.toThrow()
    rejects(hs256({ exp: nowSeconds }), secretOnly, /expired/, { now, leewaySeconds: 0 })
    rejects(hs256({ nbf: nowSeconds + 11 }), secretOnly, /not valid yet/)
    expect(() => verifyJwt(hs256({ nbf: nowSeconds + 9 }), secretOnly, options)).not.toThrow()
    rejects(hs256({ exp: String(nowSeconds + 100) }), secretOnly, /exp claim is not a number/)
    rejects(hs256({ nbf: null }), secretOnly, /nbf claim is not a number/)
  })

  it('checks audience and issuer when configured', () => {
    const strict = { ...options, audience: 'kvsync', issuer: 'https://auth.example' }
    expect(() => verifyJwt(hs256({ aud: ['other', 'kvsync'], iss: 'https://auth.example' }), secretOnly, strict)).not.toThrow()
    rejects(hs256({ aud: 'other', iss: 'https://auth.example' }), secretOnly, /audience/, strict)
    rejects(hs256({ iss: 'https://auth.example' }), secretOnly, /audience/, strict)
    rejects(hs256({ aud: 'kvsync', iss: 'https://evil.example' }), secretOnly, /issuer/, strict)
  })

  it.each([
    ['an empty string', ''],
    ['two parts', 'a.b'],
    ['four parts', 'a.b.c.d'],
    ['padding', `${hs256({})}=`],
    ['non-base64url characters', 'a+b.c/d.e'],
    ['a header that is not JSON', `${Buffer.from('nope').toString('base64url')}.e30.`],
    ['a header that is an array', `${Buffer.from('["HS256"]').toString('base64url')}.e30.`],
    ['a header without alg', `${Buffer.from('{"typ":"JWT"}').toString('base64url')}.e30.`],
    ['a non-string alg', `${Buffer.from('{"alg":["HS256"]}').toString('base64url')}.e30.`],
    ['a payload that is not an object', hs256Raw('"string"')],
    ['a payload that is not JSON', hs256Raw('{')],
    ['a critical header extension', hs256({}, SECRET, { crit: ['exp'] })],
    ['a huge token', 'a'.repeat(MAX_TOKEN_LENGTH + 1)],
  ])('rejects a malformed token: %s', (_name, token) => {
    expect(() => verifyJwt(token, secretOnly, options)).toThrow(expect.objectContaining({ code: 'UNAUTHORIZED' }))
  })
})

describe('public keys', () => {
  it('refuses private keys, short RSA keys and other curves', () => {
    const pkcs8 = keys.rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
    expect(() => parsePublicKey(pkcs8)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }))
    expect(() => parsePublicKey('not a key')).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }))
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey
    expect(() => publicKeyAlgorithm(small)).toThrow(/2048/)
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey
    expect(() => publicKeyAlgorithm(p384)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }))
    expect(publicKeyAlgorithm(createPublicKey(keys.ec.publicPem))).toBe('ES256')
  })
})

/** An HS256 token over a raw payload text. */
function hs256Raw(payloadText: string): string {
  const parts = hs256({}).split('.')
  return `${parts[0]}.${Buffer.from(payloadText).toString('base64url')}.${parts[2]}`
}
