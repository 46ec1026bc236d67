/** Structured fields attached to a log line, e.g. `{ doc, code }`. */
export type LogFields = Readonly<Record<string, unknown>>

/**
 * Where the server reports what happens. Any object with these methods works (pino, winston,
 * console wrappers). Lines that concern one store carry `doc`; failures carry `code`.
 */
export interface Logger {
  debug(message: string, fields?: LogFields): void
  info(message: string, fields?: LogFields): void
  warn(message: string, fields?: LogFields): void
  error(message: string, fields?: LogFields): void
}

/** A logger that drops everything; useful in tests. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
}

function formatFields(fields: LogFields | undefined): string {
  if (fields === undefined) return ''
  const parts: string[] = []
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue
    const text = value instanceof Error ? `${value.name}: ${value.message}` : typeof value === 'string' ? value : JSON.stringify(value)
    parts.push(`${key}=${text}`)
  }
  return parts.length === 0 ? '' : ` ${parts.join(' ')}`
}

/**
 * A logger writing one line per event to `write` (stderr by default), skipping `debug` unless
 * `verbose` is set.
 */
export function createLineLogger(options: { write?: (line: string) => void; verbose?: boolean } = {}): Logger {
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`))
  const emit = (level: string) => (message: string, fields?: LogFields) => write(`[kvsync-server] ${level} ${message}${formatFields(fields)}`)
  return {
    debug: options.verbose === true ? emit('debug') : () => {},
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
  }
}

/** The `code` of a KvsyncError or Node system error, for log lines. */
export function errorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code
    if (typeof code === 'string') return code
  }
  return undefined
}
