import { describe, expect, it } from 'vitest'
import { accessFromClaims, compileStorePattern } from './access.js'

describe('compileStorePattern', () => {
  it.each([
    ['prefs/user-42', 'prefs/user-42', true],
    ['prefs/user-42', 'prefs/user-420', false],
    ['prefs/user-42', 'prefs/user-42/x', false],
    ['config/*', 'config/prod', true],
    ['config/*', 'config/prod/eu', false],
    ['config/*', 'config', false],
    ['prefs/user-*', 'prefs/user-42', true],
    ['prefs/user-*', 'prefs/admin', false],
    ['team-7/**', 'team-7/a', true],
    ['team-7/**', 'team-7/a/b/c', true],
    ['team-7/**', 'team-7', false],
    ['team-7/**', 'team-70/a', false],
    ['**', 'anything/at/all', true],
    ['a.b', 'aXb', false],
    ['*', 'top', true],
    ['*', 'top/level', false],
  ])('%s matches %s: %s', (pattern, store, expected) => {
    expect(compileStorePattern(pattern)(store)).toBe(expected)
  })

  it.each(['', 'a//b', '/a', 'a/', 'a/**/b', 'a**', '**b', 'a b', 'a/(.*)', 'x'.repeat(513), 42, null])('rejects the malformed pattern %j', (pattern) => {
    expect(() => compileStorePattern(pattern)).toThrow(expect.objectContaining({ code: 'UNAUTHORIZED' }))
  })
})

describe('accessFromClaims', () => {
  it('grants nothing without a kvsync claim', () => {
    const access = accessFromClaims({ sub: 'u' }, 0)
    expect(access.canRead('a')).toBe(false)
    expect(access.canWrite('a')).toBe(false)
    expect(access.metrics).toBe(false)
  })

  it('lets write patterns imply read', () => {
    const access = accessFromClaims({ kvsync: { read: ['config/*'], write: ['prefs/user-42'] } }, 0)
    expect(access.canRead('config/prod')).toBe(true)
    expect(access.canWrite('config/prod')).toBe(false)
    expect(access.canRead('prefs/user-42')).toBe(true)
    expect(access.canWrite('prefs/user-42')).toBe(true)
    expect(access.canRead('prefs/user-43')).toBe(false)
  })

  it('adds the leeway to the expiry', () => {
    expect(accessFromClaims({ exp: 100 }, 10).expiresAt).toBe(110_000)
    expect(accessFromClaims({}, 10).expiresAt).toBeUndefined()
  })

  it.each([{ kvsync: 'all' }, { kvsync: [] }, { kvsync: { read: 'a' } }, { kvsync: { write: [1] } }, { kvsync: { metrics: 'yes' } }, { kvsync: { read: Array(300).fill('a') } }])(
    'rejects malformed claims %j',
    (payload) => {
      expect(() => accessFromClaims(payload, 0)).toThrow(expect.objectContaining({ code: 'UNAUTHORIZED' }))
    },
  )
})
