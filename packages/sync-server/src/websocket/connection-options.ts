import type { Access } from '../auth/access.js'
import type { DocumentLease } from '../documents/registry.js'
import type { Logger } from '../logger.js'
import type { ServerMetrics } from '../metrics/server-metrics.js'
import type { AwarenessLimits } from '../protocol/write-check.js'
import type { Connection } from './connection.js'
import type { PeerSocket } from './peer-socket.js'

// The configuration a Connection is made with, apart from its behaviour (connection.ts).

/** A close code and reason from the `CloseCodes` table. */
export interface CloseCode {
  readonly code: number
  readonly reason: string
}

/**
 * Per-connection bounds; see `SyncServerOptions` for their meaning and defaults. One object
 * shared by every connection of an endpoint.
 */
export interface ConnectionLimits {
  /** Bytes of frames a connection may queue while its document loads. */
  readonly maxPendingBytes: number
  readonly maxMessageBytes: number
  readonly messageRate: number
  readonly messageBurst: number
  readonly maxBufferedBytes: number
  readonly awareness: AwarenessLimits
}

/** Options of {@link Connection}. */
export interface ConnectionOptions {
  readonly socket: PeerSocket
  readonly lease: DocumentLease
  readonly logger: Logger
  readonly access: Access
  readonly limits: ConnectionLimits
  readonly metrics: ServerMetrics
  /** Clock in ms since the epoch, for token expiry. Shared by every connection. */
  readonly now: () => number
  /** Called once the connection is closed and detached from its document. Shared by every connection. */
  readonly onClosed: (connection: Connection) => void
}
