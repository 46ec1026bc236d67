import { describe, expect, it } from 'vitest'
import { storeFromUrl } from './store-url.js'

describe('storeFromUrl', () => {
  it('takes the path without the leading slash and the query', () => {
    expect(storeFromUrl('/prefs/user-42?token=abc')).toEqual({ store: 'prefs/user-42' })
    expect(storeFromUrl('/config')).toEqual({ store: 'config' })
  })

  it('percent-decodes the path', () => {
    expect(storeFromUrl('/prefs%2Fuser-42')).toEqual({ store: 'prefs/user-42' })
  })

  it('rejects dot segments instead of resolving them', () => {
    expect(storeFromUrl('/a/../b')).toHaveProperty('problem')
    expect(storeFromUrl('/a/%2E%2E/b')).toHaveProperty('problem')
  })

  it('rejects empty, malformed and invalid names', () => {
    expect(storeFromUrl('/')).toHaveProperty('problem')
    expect(storeFromUrl(undefined)).toHaveProperty('problem')
    expect(storeFromUrl('/bad%E0%A4%A')).toHaveProperty('problem')
    expect(storeFromUrl('/has space')).toHaveProperty('problem')
    expect(storeFromUrl(`/${'x'.repeat(257)}`)).toHaveProperty('problem')
  })
})
