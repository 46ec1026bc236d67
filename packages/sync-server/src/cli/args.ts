import { parseArgs } from 'node:util'

/** What the command line asks for. */
export interface CliConfig {
  readonly help: boolean
  readonly host: string
  readonly port: number
  readonly dataDir: string
  readonly staticDir: string | undefined
  readonly verbose: boolean
}

/** Parsed flags, or a one-line problem to print before exiting with code 2. */
export type CliArgsResult = { readonly ok: true; readonly config: CliConfig } | { readonly ok: false; readonly problem: string }

/** Default `--data` directory, relative to the working directory. */
export const DEFAULT_DATA_DIR = '.kvsync-data'

export const USAGE = `Usage: kvsync-server [options]

Runs the kvsync sync server: WebSocket sync (y-websocket protocol) and HTTP on one port.

Options:
  --host HOST    interface to listen on (default 127.0.0.1; 0.0.0.0 for all)
  --port PORT    port to listen on, 0 for a free one (default 1234)
  --data DIR     directory of the SQLite store kvsync.db, created if missing
                 (default ${DEFAULT_DATA_DIR})
  --static DIR   also serve the files in DIR over HTTP
  --verbose      log debug lines
  --help         show this help

Prints "listening on ws://HOST:PORT" on stdout once ready. SIGTERM or SIGINT stop it
gracefully: clients are disconnected, pending writes stored, and it exits with code 0.
Exit code 2 means bad arguments, 1 a failure while running.`

/** Parses `argv` (without `node` and the script). Later repetitions of a flag win. */
export function parseCliArgs(argv: ReadonlyArray<string>): CliArgsResult {
  let values
  try {
    ;({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        help: { type: 'boolean', short: 'h' },
        host: { type: 'string' },
        port: { type: 'string' },
        data: { type: 'string' },
        static: { type: 'string' },
        verbose: { type: 'boolean' },
      },
    }))
  } catch (error) {
    // parseArgs explains unknown flags, missing values and stray arguments well; pass it on.
    return { ok: false, problem: error instanceof Error ? error.message : String(error) }
  }
  const portText = values.port ?? '1234'
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : Number.NaN
  if (!(port >= 0 && port <= 65535)) return { ok: false, problem: `--port must be a number from 0 to 65535, got "${portText}"` }
  const host = values.host ?? '127.0.0.1'
  if (host === '') return { ok: false, problem: '--host must not be empty' }
  if (values.data === '') return { ok: false, problem: '--data must not be empty' }
  if (values.static === '') return { ok: false, problem: '--static must not be empty' }
  return {
    ok: true,
    config: {
      help: values.help === true,
      host,
      port,
      dataDir: values.data ?? DEFAULT_DATA_DIR,
      staticDir: values.static,
      verbose: values.verbose === true,
    },
  }
}
