import { KvsyncError } from '@kvsync/shared'

/**
 * What one client may do, decided once when it connects (or per HTTP request). Write implies
 * read: a client must sync a store to write to it.
 */
export interface Access {
  /** `sub` of the token, for logs; `undefined` in open mode. */
  readonly subject: string | undefined
  /** When the token expires (ms since the epoch, leeway included); `undefined` = never. */
  readonly expiresAt: number | undefined
  /** Whether `/metrics` may be read with this token. */
  readonly metrics: boolean
  canRead(store: string): boolean
  canWrite(store: string): boolean
}

/** Open mode: everyone may do everything. */
export const openAccess: Access = {
  subject: undefined,
  expiresAt: undefined,
  metrics: true,
  canRead: () => true,
  canWrite: () => true,
}

/** Most patterns a token may carry per list; keeps matching cost bounded. */
export const MAX_PATTERNS = 256

const patternCharacters = /^[A-Za-z0-9._~/*-]+$/

/**
 * Compiles a store-name pattern from a token's claims. Patterns are store names with wildcards:
 *
 * - `prefs/user-42` matches exactly that store;
 * - `*` matches any characters within one segment, never `/`: `config/*` matches `config/prod`
 *   but not `config/prod/eu` nor `config`; `prefs/user-*` matches `prefs/user-42`;
 * - `**` as the last segment matches one or more whole segments: `team-7/**` matches
 *   `team-7/a` and `team-7/a/b` but not `team-7` itself; a lone `**` matches every store.
 *
 * Anything else is malformed (`**` elsewhere, empty segments, characters a store name cannot
 * have) and throws `UNAUTHORIZED`: a token we cannot read grants nothing.
 */
export function compileStorePattern(pattern: unknown): (store: string) => boolean {
  if (typeof pattern !== 'string' || pattern.length === 0 || pattern.length > 512 || !patternCharacters.test(pattern)) {
    throw new KvsyncError('UNAUTHORIZED', `malformed store pattern ${JSON.stringify(pattern)?.slice(0, 80)}`)
  }
  const segments = pattern.split('/')
  const parts: string[] = []
  segments.forEach((segment, index) => {
    const last = index === segments.length - 1
    if (segment === '' || (segment.includes('**') && !(segment === '**' && last))) {
      throw new KvsyncError('UNAUTHORIZED', `malformed store pattern ${JSON.stringify(pattern)}`)
    }
    if (segment === '**') parts.push('[^/]+(?:/[^/]+)*')
    else parts.push(segment.split('*').map(escapeRegExp).join('[^/]*'))
  })
  const regExp = new RegExp(`^${parts.join('/')}$`)
  return (store) => regExp.test(store)
}

/**
 * Builds an {@link Access} from a verified JWT payload. The claim is
 * `kvsync: { read?: string[], write?: string[], metrics?: boolean }`; a token without it grants
 * nothing. Throws `UNAUTHORIZED` when the claim is malformed.
 */
export function accessFromClaims(payload: Readonly<Record<string, unknown>>, leewaySeconds: number): Access {
  const claim = payload['kvsync'] ?? {}
  if (typeof claim !== 'object' || claim === null || Array.isArray(claim)) throw new KvsyncError('UNAUTHORIZED', 'the kvsync claim is not an object')
  const { read, write, metrics } = claim as Record<string, unknown>
  const readers = compileList(read, 'read')
  const writers = compileList(write, 'write')
  if (metrics !== undefined && typeof metrics !== 'boolean') throw new KvsyncError('UNAUTHORIZED', 'kvsync.metrics must be a boolean')
  const exp = payload['exp']
  const sub = payload['sub']
  return {
    subject: typeof sub === 'string' ? sub.slice(0, 200) : undefined,
    expiresAt: typeof exp === 'number' ? (exp + leewaySeconds) * 1000 : undefined,
    metrics: metrics === true,
    canWrite: (store) => writers.some((matches) => matches(store)),
    canRead: (store) => writers.some((matches) => matches(store)) || readers.some((matches) => matches(store)),
  }
}

function compileList(list: unknown, name: string): Array<(store: string) => boolean> {
  if (list === undefined) return []
  if (!Array.isArray(list)) throw new KvsyncError('UNAUTHORIZED', `kvsync.${name} must be an array of store patterns`)
  if (list.length > MAX_PATTERNS) throw new KvsyncError('UNAUTHORIZED', `kvsync.${name} lists more than ${MAX_PATTERNS} patterns`)
  return list.map(compileStorePattern)
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
