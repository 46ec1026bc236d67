/** Default `--data` directory, relative to the working directory. */
export const DEFAULT_DATA_DIR = '.kvsync-data'

/** How a setting's text (flag or environment) is read. */
export type SettingType = 'string' | 'integer' | 'number' | 'boolean' | 'level' | 'format'

/**
 * One configurable setting: its config-file key, flag and environment variable. This table is
 * the single source of `--help`, the parser and the tables in docs/server.md.
 */
export interface Setting {
  /** Key in the JSON config file and in {@link CliConfig}. */
  readonly key: keyof Omit<CliConfig, 'help' | 'config'>
  readonly flag: string
  readonly env: string
  readonly type: SettingType
  readonly valueName: string
  readonly help: string
  readonly min?: number
  readonly max?: number
}

/** Everything the command line, environment and config file decide, merged. */
export interface CliConfig {
  readonly help: boolean
  /** The config file that was read, if any. */
  readonly config: string | undefined
  readonly host: string
  readonly port: number
  readonly data: string
  readonly static: string | undefined
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error'
  readonly logFormat: 'text' | 'json'
  readonly authSecret: string | undefined
  readonly authPublicKey: string | undefined
  readonly authLeewaySeconds: number
  readonly authAudience: string | undefined
  readonly authIssuer: string | undefined
  readonly insecure: boolean
  readonly idleUnloadMs: number
  readonly hibernateAfterMs: number
  readonly compactAfter: number
  readonly maxMessageBytes: number
  readonly maxConnections: number
  readonly messageRate: number
  readonly messageBurst: number
  readonly maxBufferedBytes: number
  readonly maxAwarenessBytes: number
  readonly pingIntervalMs: number
  readonly shutdownTimeoutMs: number
  readonly tombstoneRetentionDays: number
  readonly keepFreedMemory: boolean
}

const MiB = 1024 * 1024

/** Defaults, applied below the config file. */
export const DEFAULTS: Omit<CliConfig, 'help' | 'config'> = {
  host: '127.0.0.1',
  port: 1234,
  data: DEFAULT_DATA_DIR,
  static: undefined,
  logLevel: 'info',
  logFormat: 'text',
  authSecret: undefined,
  authPublicKey: undefined,
  authLeewaySeconds: 10,
  authAudience: undefined,
  authIssuer: undefined,
  insecure: false,
  idleUnloadMs: 30_000,
  hibernateAfterMs: 10_000,
  compactAfter: 500,
  maxMessageBytes: 16 * MiB,
  maxConnections: 10_000,
  messageRate: 500,
  messageBurst: 2_000,
  maxBufferedBytes: 16 * MiB,
  maxAwarenessBytes: 64 * 1024,
  pingIntervalMs: 30_000,
  shutdownTimeoutMs: 2_000,
  tombstoneRetentionDays: 30,
  keepFreedMemory: false,
}

export const SETTINGS: ReadonlyArray<Setting> = [
  { key: 'host', flag: 'host', env: 'KVSYNC_HOST', type: 'string', valueName: 'HOST', help: 'interface to listen on; a non-loopback host needs auth or --insecure' },
  { key: 'port', flag: 'port', env: 'KVSYNC_PORT', type: 'integer', valueName: 'PORT', min: 0, max: 65535, help: 'port for WebSocket and HTTP, 0 for a free one' },
  { key: 'data', flag: 'data', env: 'KVSYNC_DATA', type: 'string', valueName: 'DIR', help: 'directory of the SQLite store kvsync.db, created if missing' },
  { key: 'static', flag: 'static', env: 'KVSYNC_STATIC', type: 'string', valueName: 'DIR', help: 'also serve the files in DIR over HTTP' },
  { key: 'logLevel', flag: 'log-level', env: 'KVSYNC_LOG_LEVEL', type: 'level', valueName: 'LEVEL', help: 'debug, info, warn or error' },
  { key: 'logFormat', flag: 'log-format', env: 'KVSYNC_LOG_FORMAT', type: 'format', valueName: 'FORMAT', help: 'text or json (one JSON object per line)' },
  { key: 'authSecret', flag: 'auth-secret', env: 'KVSYNC_AUTH_SECRET', type: 'string', valueName: 'SECRET', help: 'verify HS256 tokens with this secret (≥ 32 bytes); prefer the environment' },
  { key: 'authPublicKey', flag: 'auth-public-key', env: 'KVSYNC_AUTH_PUBLIC_KEY', type: 'string', valueName: 'FILE', help: 'verify RS256 / ES256 tokens with the PEM public key in FILE' },
  { key: 'authLeewaySeconds', flag: 'auth-leeway', env: 'KVSYNC_AUTH_LEEWAY', type: 'integer', valueName: 'SECONDS', min: 0, max: 3600, help: 'clock skew tolerated for exp / nbf' },
  { key: 'authAudience', flag: 'auth-audience', env: 'KVSYNC_AUTH_AUDIENCE', type: 'string', valueName: 'AUD', help: 'require this value in the token aud claim' },
  { key: 'authIssuer', flag: 'auth-issuer', env: 'KVSYNC_AUTH_ISSUER', type: 'string', valueName: 'ISS', help: 'require this token iss claim' },
  { key: 'insecure', flag: 'insecure', env: 'KVSYNC_INSECURE', type: 'boolean', valueName: '', help: 'allow open mode (no auth) on a non-loopback host' },
  { key: 'idleUnloadMs', flag: 'idle-unload-ms', env: 'KVSYNC_IDLE_UNLOAD_MS', type: 'integer', valueName: 'MS', min: 0, help: 'unload a store this long after its last client left' },
  { key: 'hibernateAfterMs', flag: 'hibernate-after-ms', env: 'KVSYNC_HIBERNATE_AFTER_MS', type: 'integer', valueName: 'MS', min: 0, help: 'keep only the encoded state of a loaded store unchanged this long (longer above 64 KiB); 0: never' },
  { key: 'compactAfter', flag: 'compact-after', env: 'KVSYNC_COMPACT_AFTER', type: 'integer', valueName: 'N', min: 1, help: "merge a store's stored updates into one snapshot after N" },
  { key: 'maxMessageBytes', flag: 'max-message-bytes', env: 'KVSYNC_MAX_MESSAGE_BYTES', type: 'integer', valueName: 'BYTES', min: 1024, help: 'largest message accepted (close 4413 above)' },
  { key: 'maxConnections', flag: 'max-connections', env: 'KVSYNC_MAX_CONNECTIONS', type: 'integer', valueName: 'N', min: 1, help: 'most WebSocket connections (close 4004 above)' },
  { key: 'messageRate', flag: 'message-rate', env: 'KVSYNC_MESSAGE_RATE', type: 'integer', valueName: 'N', min: 1, help: 'messages per second per connection (close 4002 above)' },
  { key: 'messageBurst', flag: 'message-burst', env: 'KVSYNC_MESSAGE_BURST', type: 'integer', valueName: 'N', min: 1, help: 'burst of messages allowed above the rate' },
  { key: 'maxBufferedBytes', flag: 'max-buffered-bytes', env: 'KVSYNC_MAX_BUFFERED_BYTES', type: 'integer', valueName: 'BYTES', min: 1024, help: 'send buffer of a slow reader before it is closed (4003)' },
  { key: 'maxAwarenessBytes', flag: 'max-awareness-bytes', env: 'KVSYNC_MAX_AWARENESS_BYTES', type: 'integer', valueName: 'BYTES', min: 256, help: 'largest awareness update' },
  { key: 'pingIntervalMs', flag: 'ping-interval-ms', env: 'KVSYNC_PING_INTERVAL_MS', type: 'integer', valueName: 'MS', min: 100, help: 'ping clients this often; drop those that miss one' },
  { key: 'shutdownTimeoutMs', flag: 'shutdown-timeout-ms', env: 'KVSYNC_SHUTDOWN_TIMEOUT_MS', type: 'integer', valueName: 'MS', min: 0, help: 'on SIGTERM, wait this long for clients to close' },
  { key: 'tombstoneRetentionDays', flag: 'tombstone-retention-days', env: 'KVSYNC_TOMBSTONE_RETENTION_DAYS', type: 'number', valueName: 'DAYS', min: 0.001, help: 'keep delete tombstones this long (docs/semantics.md)' },
  { key: 'keepFreedMemory', flag: 'keep-freed-memory', env: 'KVSYNC_KEEP_FREED_MEMORY', type: 'boolean', valueName: '', help: 'do not give memory freed by unloaded or hibernated stores back to the system (malloc_trim)' },
]
