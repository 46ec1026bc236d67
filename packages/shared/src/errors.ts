/**
 * Every error kvsync raises on purpose is a {@link KvsyncError} with a `code` from this closed
 * union, so callers branch on codes, never on message text.
 */
export type KvsyncErrorCode =
  | 'INVALID_KEY'
  | 'INVALID_VALUE'
  | 'INVALID_OPTION'
  | 'INVALID_STORE_NAME'
  | 'VALUE_TOO_LARGE'
  | 'STORE_CLOSED'
  | 'QUOTA_EXCEEDED'
  | 'PERSISTENCE_FAILED'
  | 'STORE_LOCKED'
  | 'UNSUPPORTED_FORMAT'
  | 'CORRUPT_DATA'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'PROTOCOL_ERROR'
  | 'PROTOCOL_VERSION_MISMATCH'
  | 'MESSAGE_TOO_LARGE'
  | 'RATE_LIMITED'
  | 'SERVER_ERROR'
  | 'CONFIG_INVALID'
  | 'STORAGE_FAILED'
  | 'SLOW_CONSUMER'
  | 'TOO_MANY_CONNECTIONS'

const errorCodes: ReadonlySet<string> = new Set<KvsyncErrorCode>([
  'INVALID_KEY',
  'INVALID_VALUE',
  'INVALID_OPTION',
  'INVALID_STORE_NAME',
  'VALUE_TOO_LARGE',
  'STORE_CLOSED',
  'QUOTA_EXCEEDED',
  'PERSISTENCE_FAILED',
  'STORE_LOCKED',
  'UNSUPPORTED_FORMAT',
  'CORRUPT_DATA',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'PROTOCOL_ERROR',
  'PROTOCOL_VERSION_MISMATCH',
  'MESSAGE_TOO_LARGE',
  'RATE_LIMITED',
  'SERVER_ERROR',
  'CONFIG_INVALID',
  'STORAGE_FAILED',
  'SLOW_CONSUMER',
  'TOO_MANY_CONNECTIONS',
])

/** The one error class of kvsync. `code` says what went wrong; `cause` keeps the original error. */
export class KvsyncError extends Error {
  override readonly name = 'KvsyncError'
  readonly code: KvsyncErrorCode

  constructor(code: KvsyncErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
  }
}

/**
 * True for a {@link KvsyncError}, also one thrown by another copy of this package (checks `name`
 * and `code`, not `instanceof`).
 */
export function isKvsyncError(error: unknown, code?: KvsyncErrorCode): error is KvsyncError {
  if (typeof error !== 'object' || error === null) return false
  const candidate = error as { name?: unknown; code?: unknown }
  if (candidate.name !== 'KvsyncError' || typeof candidate.code !== 'string') return false
  if (!errorCodes.has(candidate.code)) return false
  return code === undefined || candidate.code === code
}
