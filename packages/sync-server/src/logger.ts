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

/** Log levels, least severe first. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

/** `text`: one human-readable line per event. `json`: one JSON object per line. */
export type LogFormat = 'text' | 'json'

const levels: ReadonlyArray<LogLevel> = ['debug', 'info', 'warn', 'error']

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Lines below this level are dropped. Default `'info'`. */
  readonly level?: LogLevel
  /** Default `'text'`. */
  readonly format?: LogFormat
  /** Where lines go (without the newline). Default: stderr. */
  readonly write?: (line: string) => void
  /** Clock for the `time` field of JSON lines. Default `Date.now`. */
  readonly now?: () => number
}

function fieldText(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`
  return typeof value === 'string' ? value : JSON.stringify(value)
}

function formatFields(fields: LogFields | undefined): string {
  if (fields === undefined) return ''
  const parts: string[] = []
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue
    parts.push(`${key}=${fieldText(value)}`)
  }
  return parts.length === 0 ? '' : ` ${parts.join(' ')}`
}

/** Errors as plain objects: JSON.stringify would print `{}` for them. */
function jsonValue(value: unknown): unknown {
  if (!(value instanceof Error)) return value
  const code = errorCode(value)
  return { name: value.name, message: value.message, ...(code !== undefined ? { code } : {}), ...(value.cause !== undefined ? { cause: jsonValue(value.cause) } : {}) }
}

/**
 * A structured logger writing one line per event (stderr by default), as text
 * (`[kvsync-server] info message key=value`) or JSON
 * (`{"time":"…","level":"info","msg":"message","key":"value"}`), dropping lines below `level`.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`))
  const now = options.now ?? Date.now
  const threshold = levels.indexOf(options.level ?? 'info')
  const emit = (level: LogLevel) => {
    if (levels.indexOf(level) < threshold) return () => {}
    if (options.format === 'json') {
      return (message: string, fields?: LogFields) => {
        const record: Record<string, unknown> = { time: new Date(now()).toISOString(), level, msg: message }
        for (const [key, value] of Object.entries(fields ?? {})) if (value !== undefined && !(key in record)) record[key] = jsonValue(value)
        let line: string
        try {
          line = JSON.stringify(record)
        } catch {
          line = JSON.stringify({ time: record['time'], level, msg: message, note: 'fields not serializable' })
        }
        write(line)
      }
    }
    return (message: string, fields?: LogFields) => write(`[kvsync-server] ${level} ${message}${formatFields(fields)}`)
  }
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') }
}

/**
 * A text logger writing one line per event to `write` (stderr by default), skipping `debug`
 * unless `verbose` is set. Same as `createLogger({ format: 'text' })`.
 */
export function createLineLogger(options: { write?: (line: string) => void; verbose?: boolean } = {}): Logger {
  return createLogger({ level: options.verbose === true ? 'debug' : 'info', format: 'text', ...(options.write !== undefined ? { write: options.write } : {}) })
}

/** The `code` of a KvsyncError or Node system error, for log lines. */
export function errorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code
    if (typeof code === 'string') return code
  }
  return undefined
}
