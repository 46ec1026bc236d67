import { CloseCodes, isPermanentCloseCode } from '@kvsync/shared'
import type { KvsyncErrorCode } from '@kvsync/shared'
import type { CloseCode } from './connection-options.js'

/** The close code a connection gets when it fails with `code`; one table for every path. */
export function closeCodeFor(code: KvsyncErrorCode): CloseCode {
  switch (code) {
    case 'UNAUTHORIZED':
      return CloseCodes.unauthorized
    case 'FORBIDDEN':
      return CloseCodes.forbidden
    case 'INVALID_STORE_NAME':
      return CloseCodes.invalidStoreName
    case 'MESSAGE_TOO_LARGE':
      return CloseCodes.messageTooLarge
    case 'PROTOCOL_VERSION_MISMATCH':
      return CloseCodes.versionMismatch
    case 'RATE_LIMITED':
      return CloseCodes.rateLimited
    case 'SLOW_CONSUMER':
      return CloseCodes.slowConsumer
    case 'TOO_MANY_CONNECTIONS':
      return CloseCodes.tooManyConnections
    case 'STORAGE_FAILED':
    case 'CORRUPT_DATA':
      return CloseCodes.storageUnavailable
    case 'STORE_CLOSED':
      return CloseCodes.goingAway
    case 'SERVER_ERROR':
      return CloseCodes.serverError
    default:
      return CloseCodes.protocolError
  }
}

/** Whether a kvsync client gets a coded error before this close: only before permanent ones. */
export function explainsClose(closeCode: CloseCode): boolean {
  return isPermanentCloseCode(closeCode.code)
}
