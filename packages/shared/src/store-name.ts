import { KvsyncError } from './errors.js'

/** Longest store name accepted. */
export const MAX_STORE_NAME_LENGTH = 256

const storeNamePattern = /^[A-Za-z0-9._~/-]+$/

/**
 * Why `name` is not a valid store name, or `undefined` when it is one.
 * A store name is 1–256 characters of `[A-Za-z0-9._~/-]`, without a `..` segment, a leading
 * `/`, a trailing `/` or an empty segment (`a//b`), so it maps safely onto paths and URLs.
 */
export function storeNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return 'a store name must be a string'
  if (name.length === 0) return 'a store name must not be empty'
  if (name.length > MAX_STORE_NAME_LENGTH) return `a store name must be at most ${MAX_STORE_NAME_LENGTH} characters`
  if (!storeNamePattern.test(name)) return 'a store name may only contain A-Z a-z 0-9 . _ ~ / -'
  if (name.startsWith('/')) return 'a store name must not start with /'
  if (name.endsWith('/')) return 'a store name must not end with /'
  const segments = name.split('/')
  if (segments.some((segment) => segment === '')) return 'a store name must not contain an empty segment (//)'
  if (segments.some((segment) => segment === '..' || segment === '.')) return 'a store name must not contain . or .. segments'
  return undefined
}

/** Throws a `KvsyncError` with code `INVALID_STORE_NAME` unless `name` is a valid store name. */
export function assertStoreName(name: unknown): asserts name is string {
  const problem = storeNameProblem(name)
  if (problem !== undefined) throw new KvsyncError('INVALID_STORE_NAME', `${problem}: ${JSON.stringify(name)}`)
}
